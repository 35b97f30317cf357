import { MAX_HOLD_CHARS, isHighSurrogate } from './scan.js'

/** A custom rule: takes one completed segment of filtered text, returns what to say instead. */
export type SpeechTextRule = (text: string) => string

const TERMINALS = new Set(['.', '!', '?', '…'])
const CLOSING = new Set(['"', '\'', '”', '’', ')', ']'])

/**
 * Runs custom rules on completed segments, so a rule sees whole sentences whatever the chunking: a
 * segment ends after ". ", "! ", "? " or "… " (closing quotes and brackets allowed before the space), at
 * a newline, or, past MAX_HOLD_CHARS without either, at the last space (the sentence chunker cuts at the
 * same places, so this adds no delay before speech). Segments keep their trailing space or newline.
 */
export class CustomRuleSegmenter {
  readonly #rules: readonly SpeechTextRule[]
  #pending = ''
  #afterTerminal = false
  #lastSpace = -1

  constructor (rules: readonly SpeechTextRule[]) {
    this.#rules = rules
  }

  push (text: string): string {
    let out = ''
    let start = 0
    const pending = this.#pending += text
    for (let i = pending.length - text.length; i < pending.length; i++) {
      const ch = pending[i] as string
      let cut = -1
      if (ch === '\n' || (this.#afterTerminal && (ch === ' ' || ch === '\t'))) cut = i + 1
      else if (i + 1 - start >= MAX_HOLD_CHARS) {
        cut = this.#lastSpace >= start ? this.#lastSpace + 1 : isHighSurrogate(pending.charCodeAt(i)) ? i : i + 1
      }
      if (TERMINALS.has(ch)) this.#afterTerminal = true
      else if (!CLOSING.has(ch)) this.#afterTerminal = false
      if (ch === ' ') this.#lastSpace = i
      if (cut !== -1) {
        out += this.#apply(pending.slice(start, cut))
        start = cut
      }
    }
    this.#pending = pending.slice(start)
    this.#lastSpace = this.#lastSpace >= start ? this.#lastSpace - start : -1
    return out
  }

  /** The end of the stream: the last segment. Resets. */
  flush (): string {
    const rest = this.#pending
    this.#pending = ''
    this.#afterTerminal = false
    this.#lastSpace = -1
    return rest === '' ? '' : this.#apply(rest)
  }

  #apply (segment: string): string {
    let text = segment
    for (const rule of this.#rules) text = rule(text)
    return text
  }
}
