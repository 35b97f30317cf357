import type { LanguageCues } from './languages/language-cues.js'
import { digitsOf, isDay } from './number-words.js'

/**
 * How a transcript that ends in a date is unfinished:
 * - 'no-day': a bare month after a word that wants a day ("on March", "le mars");
 * - 'no-year': a day and a month, no year ("March 5th", "5 mars", "5 de marzo");
 * - 'partial-year': the year has begun ("March 5th nineteen", "5 de marzo de").
 */
export type DateEnding = 'no-day' | 'no-year' | 'partial-year'

/** Words a date may end with after its month, at most: "5th of 1990" is 3, "nineteen ninety" is 2 more. */
const MAX_WORDS_AFTER_MONTH = 4

/** How `words` end in an unfinished date, or undefined (no date, or a full date with its year). */
export function dateEndingOf (words: readonly string[], cues: LanguageCues): DateEnding | undefined {
  if (cues.months.size === 0) return undefined
  const n = words.length
  let month = -1
  for (let i = n - 1; i >= 0 && i >= n - 1 - MAX_WORDS_AFTER_MONTH; i--) {
    if (cues.months.has(words[i] as string)) { month = i; break }
  }
  if (month === -1) return undefined
  const before = words[month - 1]
  const dayBefore = isDay(before, cues) || (before !== undefined && cues.dateLinks.has(before) && isDay(words[month - 2], cues))
  let after = words.slice(month + 1)
  if (!dayBefore) {
    if (after.length === 0) return before !== undefined && cues.dayPrepositions.has(before) ? 'no-day' : undefined
    if (!isDay(after[0], cues)) return undefined
    after = after.slice(1)
  }
  if (after.length > 0 && cues.dateLinks.has(after.at(-1) as string)) return 'partial-year'
  const year = after.filter(word => !cues.dateLinks.has(word))
  if (year.length === 0) return 'no-year'
  let digits = 0
  for (const word of year) {
    const worth = digitsOf(word, cues)
    if (worth === 0) return undefined // "March 5th at noon": not a date ending
    digits += worth
  }
  const shortYear = year.length === 1 && /^\d{2}$/.test(year[0] as string)
  return digits >= 4 || shortYear ? undefined : 'partial-year'
}
