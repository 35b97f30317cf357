import type { WordTimestamp } from '../types.js'

/** ElevenLabs' character alignment of one audio chunk (durations as `charsDurationsMs` on the wire): times in ms from the start of that chunk's audio. */
export interface CharAlignment {
  chars: string[]
  charStartTimesMs: number[]
  charDurationsMs: number[]
}

/**
 * Turns the character alignments of one sentence's audio chunks into words with their times in ms
 * from the start of the sentence's audio. A word may span chunks (it is held until a space or the end);
 * `offsetMs` is where the chunk's audio starts within the sentence (the audio received before it).
 * Also counts the non-space characters spoken, which tells when the sentence's audio is complete.
 */
export class WordAligner {
  #word = ''
  #startMs = 0
  #endMs = 0
  #spoken = 0
  #lastEndMs = 0

  /** Non-space characters aligned so far. */
  get spokenChars (): number { return this.#spoken }
  /** Where the last non-space character aligned so far ends, in ms from the sentence's start. */
  get lastCharEndMs (): number { return this.#lastEndMs }

  /** Adds one chunk's alignment; returns the words it completed. */
  add (alignment: CharAlignment, offsetMs: number): WordTimestamp[] {
    const words: WordTimestamp[] = []
    for (let i = 0; i < alignment.chars.length; i++) {
      const char = alignment.chars[i] as string
      if (/^\s*$/.test(char)) {
        const word = this.#take()
        if (word !== undefined) words.push(word)
        continue
      }
      const startMs = offsetMs + (alignment.charStartTimesMs[i] ?? 0)
      if (this.#word === '') this.#startMs = startMs
      this.#word += char
      this.#endMs = startMs + (alignment.charDurationsMs[i] ?? 0)
      this.#lastEndMs = this.#endMs
      this.#spoken += char.replace(/\s+/g, '').length
    }
    return words
  }

  /** The word still held at the end of the sentence, if any. */
  flush (): WordTimestamp[] {
    const word = this.#take()
    return word === undefined ? [] : [word]
  }

  #take (): WordTimestamp | undefined {
    if (this.#word === '') return undefined
    const word = { word: this.#word, startMs: Math.round(this.#startMs), endMs: Math.round(Math.max(this.#startMs, this.#endMs)) }
    this.#word = ''
    return word
  }
}

/** The non-space characters of `text`: what the alignment must cover before the sentence is complete. */
export function spokenLength (text: string): number {
  return text.replace(/\s+/g, '').length
}

/**
 * A received alignment as a CharAlignment, or undefined when it has not the shape. ElevenLabs' schema
 * names the durations `charsDurationsMs`; some clients and proxies spell it `charDurationsMs` (and the
 * starts `charsStartTimesMs`): all are taken.
 */
export function parseAlignment (value: unknown): CharAlignment | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const a = value as Record<string, unknown>
  const starts = a.charStartTimesMs ?? a.charsStartTimesMs
  const durations = a.charsDurationsMs ?? a.charDurationsMs
  if (!Array.isArray(a.chars) || !Array.isArray(starts)) return undefined
  return { chars: a.chars.map(String), charStartTimesMs: starts.map(Number), charDurationsMs: Array.isArray(durations) ? durations.map(Number) : [] }
}
