const PUNCTUATION = new Set([',', '.', '!', '?', ';', ':', '…'])
const CLOSERS = new Set([')', ']', '}'])
const OPENERS = new Set(['(', '['])
/** A space after these goes out at once: the sentence chunker cuts a sentence there, and must not wait a chunk for it. */
const SENTENCE_ENDS = new Set(['.', '!', '?', '…', '"', '”', '’', ')'])

/**
 * Tidies the spaces that removed markup and emoji leave behind, as a stream: runs of spaces and tabs
 * become one space; no space at a line's start or end, after "(" or before ")"; no space before
 * punctuation that ends a word ("Great 🎉!" → "Great!", but ".NET" keeps its space); at most one blank
 * line; no newline before the first word. Holds back at most a space and one punctuation mark.
 */
export class SpacingNormalizer {
  #space = false
  #heldPunctuation = ''
  #newlines = 2
  #last = ''

  push (text: string): string {
    let out = ''
    for (const ch of text) {
      if (this.#heldPunctuation !== '') {
        const endsWord = ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || PUNCTUATION.has(ch) || CLOSERS.has(ch)
        out += endsWord ? this.#heldPunctuation : ` ${this.#heldPunctuation}`
        this.#last = this.#heldPunctuation
        this.#heldPunctuation = ''
      }
      if (ch === '\r') continue
      if (ch === ' ' || ch === '\t') {
        if (this.#space) continue
        if (this.#newlines === 0 && SENTENCE_ENDS.has(this.#last)) {
          out += ' '
          this.#last = ' '
          continue
        }
        this.#space = this.#newlines === 0 && !OPENERS.has(this.#last) && this.#last !== ' '
        continue
      }
      if (ch === '\n') {
        this.#space = false
        if (this.#newlines < 2) out += '\n'
        this.#newlines++
        this.#last = '\n'
        continue
      }
      if (this.#space) {
        this.#space = false
        if (PUNCTUATION.has(ch)) {
          this.#heldPunctuation = ch
          continue
        }
        if (!CLOSERS.has(ch)) out += ' '
      }
      out += ch
      this.#newlines = 0
      this.#last = ch
    }
    return out
  }

  /** The end of the stream: a held punctuation mark goes out without its space. Resets. */
  flush (): string {
    const rest = this.#heldPunctuation
    this.#space = false
    this.#heldPunctuation = ''
    this.#newlines = 2
    this.#last = ''
    return rest
  }
}
