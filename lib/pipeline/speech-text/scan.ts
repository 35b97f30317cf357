/**
 * What the speech-text rules share. A rule looks at a window of the held text, starting where the
 * tokenizer stands, and either consumes some of it (with what to say instead), says it does not apply,
 * or asks for more text. Streaming equals one-shot filtering because every rule is prefix-stable: it
 * answers `MORE` whenever more text could change its answer, and otherwise answers what it would answer
 * for any continuation (`complete` says that none can follow the window).
 */

/** The most characters any rule holds back (one window); a construct still open after it is plain text. */
export const MAX_HOLD_CHARS = 200

/** Consume `consume` UTF-16 code units of the window and say `emit` in their place. */
export interface Step {
  readonly consume: number
  readonly emit: string
}

/** More text is needed before the rule can answer. */
export const MORE = 'more'
export type More = typeof MORE

/** A step, `MORE`, or `undefined` when the rule does not apply here. */
export type RuleResult = Step | More | undefined

/** The text the window starts with, said as is. */
export function plain (s: string, length: number): Step {
  return { consume: length, emit: s.slice(0, length) }
}

/** Drops the first `length` code units of the window. */
export function drop (length: number): Step {
  return { consume: length, emit: '' }
}

const ALNUM = /[\p{L}\p{N}]/u
const WORD = /[\p{L}\p{M}\p{N}_]/u

/** A letter or digit of any script ('' is none). */
export function isAlnum (ch: string): boolean {
  return ch !== '' && ALNUM.test(ch)
}

/** A character that continues a word: a rule that starts at a word start checks `!isWordChar(prev)`. */
export function isWordChar (ch: string): boolean {
  return ch !== '' && WORD.test(ch)
}

/** Whitespace, or '' (the start or end of the text). */
export function isSpaceOrEdge (ch: string | undefined): boolean {
  return ch === undefined || ch === '' || ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r'
}

export function isDigit (ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9'
}

export function isHighSurrogate (code: number): boolean {
  return code >= 0xD800 && code <= 0xDBFF
}

/** The last code point of `text` before `end`. */
export function codePointBefore (text: string, end: number): string {
  if (end <= 0) return ''
  const low = text.charCodeAt(end - 1)
  const start = end >= 2 && low >= 0xDC00 && low <= 0xDFFF && isHighSurrogate(text.charCodeAt(end - 2)) ? end - 2 : end - 1
  return text.slice(start, end)
}

/** Length of the run of `ch` at the start of `s`. */
export function runLength (s: string, ch: string, from = 0): number {
  let i = from
  while (i < s.length && s[i] === ch) i++
  return i - from
}
