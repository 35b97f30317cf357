/**
 * Cuts streamed LLM text into sentences for TTS, so speech starts after the first sentence instead of
 * after the whole answer. A boundary is `.`, `!`, `?` or `…` (optionally followed by closing quotes or
 * brackets) then whitespace; decimals ("3.5"), common abbreviations ("Dr.", "e.g.") and initials do not
 * end a sentence. Very short fragments are joined to the next sentence; newlines also cut.
 */
export interface SentenceChunkerOptions {
  /** Sentences shorter than this many characters are held and joined to the next (default 12). */
  minChars?: number
}

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'no', 'fig', 'inc', 'ltd', 'co'])
const BOUNDARY = /[.!?…]+["'”’)\]]*(?=\s)|\n+/g

export class SentenceChunker {
  readonly #minChars: number
  #buffer = ''

  constructor (options: SentenceChunkerOptions = {}) {
    this.#minChars = options.minChars ?? 12
  }

  /** Adds streamed text; returns the sentences it completed (trimmed, possibly none). */
  push (text: string): string[] {
    this.#buffer += text
    const sentences: string[] = []
    let start = 0
    BOUNDARY.lastIndex = 0
    for (let match = BOUNDARY.exec(this.#buffer); match !== null; match = BOUNDARY.exec(this.#buffer)) {
      const end = match.index + match[0].length
      if (match[0][0] === '.' && isAbbreviationOrInitial(this.#buffer.slice(start, match.index))) continue
      const sentence = this.#buffer.slice(start, end).trim()
      if (sentence.length < this.#minChars && match[0][0] !== '\n') continue
      if (sentence !== '') sentences.push(sentence)
      start = end
    }
    this.#buffer = this.#buffer.slice(start)
    return sentences
  }

  /** The rest of the text, at the end of the stream. */
  flush (): string[] {
    const rest = this.#buffer.trim()
    this.#buffer = ''
    return rest === '' ? [] : [rest]
  }
}

function isAbbreviationOrInitial (before: string): boolean {
  const word = /([\p{L}.]+)$/u.exec(before)?.[1]
  if (word === undefined) return false
  if (/^\p{Lu}$/u.test(word)) return true
  return ABBREVIATIONS.has(word.toLowerCase())
}
