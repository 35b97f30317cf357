import type { LanguageCues } from './languages/language-cues.js'

/** A written number with separators: "555", "555-1234", "+33", "(555)", "06.12". */
const DIGITS = /^[+(]?\d[\d.)/-]*$/
const DAY = /^(\d{1,2})(st|nd|rd|th|er|re|e|º|ª|°)?$/

/**
 * How many digits `word` stands for: the digits of a written number ("555-12" → 5), or what a spoken
 * number word is worth in the language ("five" 1, "twenty" 2, "hundred" 2, "thousand" 3; a hyphenated
 * compound of number words such as "twenty-one" or "soixante-dix-huit" 2). 0 if it is not a number.
 * Spoken numbers are an estimate: "two thousand five" counts 5 digits.
 */
export function digitsOf (word: string, cues: LanguageCues): number {
  if (DIGITS.test(word)) {
    let digits = 0
    for (let i = 0; i < word.length; i++) {
      const code = word.charCodeAt(i)
      if (code >= 48 && code <= 57) digits++
    }
    return digits
  }
  const spoken = cues.numberWords.get(word)
  if (spoken !== undefined) return spoken
  if (word.includes('-') && word.split('-').every(part => cues.numberWords.has(part))) return 2
  return cues.compoundNumber?.test(word) === true ? 2 : 0
}

/** The number a transcript ends with: its spoken or written words, back from the end. */
export interface NumberRun {
  /** Index in `words` of the run's first word (words.length when the transcript does not end in a number). */
  readonly start: number
  /** Digits the run stands for (see `digitsOf`). */
  readonly digits: number
  /** The run starts with "+" or "00": a phone number with its country code. */
  readonly international: boolean
}

/** The run of number words at the end of `words` (at most 32 words). */
export function trailingNumberRun (words: readonly string[], cues: LanguageCues): NumberRun {
  let start = words.length
  let digits = 0
  while (start > 0 && words.length - start < 32) {
    const worth = digitsOf(words[start - 1] as string, cues)
    if (worth === 0) break
    digits += worth
    start--
  }
  const first = words[start] ?? ''
  return { start, digits, international: start < words.length && (first.startsWith('+') || first.startsWith('00')) }
}

/** A day of the month: 1-31 written ("5", "5th", "1er"), an ordinal word ("fifth", "premier"), or a spoken 1-2 digit number. */
export function isDay (word: string | undefined, cues: LanguageCues): boolean {
  if (word === undefined) return false
  const written = DAY.exec(word)
  if (written !== null) {
    const day = Number(written[1])
    return day >= 1 && day <= 31
  }
  if (cues.dayWords.has(word)) return true
  const dash = word.lastIndexOf('-')
  if (dash > 0 && cues.dayWords.has(word.slice(dash + 1)) && cues.numberWords.has(word.slice(0, dash))) return true
  const spoken = digitsOf(word, cues)
  return spoken > 0 && spoken <= 2 && !DIGITS.test(word)
}

/** A spelled unit: one letter or digit ("j", "5"), or letters joined by hyphens ("j-o-h-n"). */
export function isSpelled (word: string | undefined): boolean {
  return word !== undefined && /^[\p{L}\p{N}](-[\p{L}\p{N}])*$/u.test(word)
}
