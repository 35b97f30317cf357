import { MORE, isDigit, isWordChar, type More, type RuleResult } from './scan.js'

/**
 * Numbers as TTS engines read them well. Digits stay digits; what changes is what engines read badly:
 * thousands separators, currency signs, "%", and ranges with a hyphen. Anything else made of digits and
 * separators (times "3:30", dates "2024-01-15" or "1/2/2024", versions "1.2.3", phone numbers
 * "555-1234", fractions "1/2") is left as written.
 */

// Digits joined by single separators: the run is looked at as a whole, so "2024-01-15" never becomes a range.
const NUMERIC_RUN = /\d+(?:[,.:/\-–]\d+)*/y
const SEPARATORS = new Set([',', '.', ':', '/', '-', '–'])
const NUMBER = /^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/
const LEADING_ZERO = /^0\d/
// 555-1234 (a phone number) and 12345-6789 (a ZIP+4 code) are not ranges.
const NOT_A_HYPHEN_RANGE = /^(?:\d{3}-\d{4}|\d{5}-\d{4})$/

interface Reading { readonly text: string, readonly kind: 'number' | 'range' }

/** A number at a word start: "1,234" → "1234", "10-20" → "10 to 20", "50%" → "50 percent". */
export function number (s: string, complete: boolean, prev: string): RuleResult {
  if (CURRENCIES[s[0] as string] !== undefined) return currency(s, complete)
  if (!isDigit(s[0]) || isWordChar(prev)) return undefined
  const end = numericRun(s, 0, complete)
  if (end === MORE) return end
  const reading = read(s.slice(0, end))
  if (reading === undefined) return { consume: end, emit: s.slice(0, end) }
  if (s[end] === '%') return { consume: end + 1, emit: `${reading.text} percent` }
  return { consume: end, emit: reading.text }
}

/** Where the numeric run starting at `from` ends, or `MORE` while it may go on. */
function numericRun (s: string, from: number, complete: boolean): number | More {
  NUMERIC_RUN.lastIndex = from
  const end = from + (NUMERIC_RUN.exec(s)?.[0].length ?? 0)
  if (!complete && (end === s.length || (end + 1 === s.length && SEPARATORS.has(s[end] as string)))) return MORE
  return end
}

function read (run: string): Reading | undefined {
  if (NUMBER.test(run)) return { text: run.replaceAll(',', ''), kind: 'number' }
  const dash = run.search(/[-–]/)
  const from = run.slice(0, dash)
  const to = run.slice(dash + 1)
  if (dash === -1 || !NUMBER.test(from) || !NUMBER.test(to)) return undefined
  if (run[dash] === '-' && (LEADING_ZERO.test(from) || LEADING_ZERO.test(to) || NOT_A_HYPHEN_RANGE.test(run))) return undefined
  return { text: `${from.replaceAll(',', '')} to ${to.replaceAll(',', '')}`, kind: 'range' }
}

interface Currency { readonly one: string, readonly many: string, readonly minorOne?: string, readonly minorMany?: string }
const CURRENCIES: Record<string, Currency | undefined> = {
  $: { one: 'dollar', many: 'dollars', minorOne: 'cent', minorMany: 'cents' },
  '€': { one: 'euro', many: 'euros', minorOne: 'cent', minorMany: 'cents' },
  '£': { one: 'pound', many: 'pounds', minorOne: 'penny', minorMany: 'pence' },
  '¥': { one: 'yen', many: 'yen' }
}
const MAGNITUDES: ReadonlyArray<readonly [string, string]> = [
  [' thousand', 'thousand'], [' million', 'million'], [' billion', 'billion'], [' trillion', 'trillion'],
  ['k', 'thousand'], ['K', 'thousand'], ['m', 'million'], ['M', 'million'], ['bn', 'billion'], ['B', 'billion']
]

/**
 * "$5" → "5 dollars", "$1" → "1 dollar", "$5.50" → "5 dollars and 50 cents", "$0.99" → "99 cents",
 * "$1.5M" / "$1.5 million" → "1.5 million dollars", "$10-20" / "$10-$20" → "10 to 20 dollars"; also €, £, ¥.
 */
function currency (s: string, complete: boolean): RuleResult {
  const unit = CURRENCIES[s[0] as string] as Currency
  if (s.length === 1) return complete ? undefined : MORE
  if (!isDigit(s[1])) return undefined
  let end = numericRun(s, 1, complete)
  if (end === MORE) return end
  let reading = read(s.slice(1, end))
  if (reading === undefined) return undefined
  if (reading.kind === 'number' && (s[end] === '-' || s[end] === '–') && s[end + 1] === s[0]) {
    if (end + 2 === s.length && !complete) return MORE
    const secondEnd = isDigit(s[end + 2]) ? numericRun(s, end + 2, complete) : undefined
    if (secondEnd === MORE) return secondEnd
    const second = secondEnd === undefined ? undefined : read(s.slice(end + 2, secondEnd))
    if (secondEnd !== undefined && second?.kind === 'number') {
      reading = { text: `${reading.text} to ${second.text}`, kind: 'range' }
      end = secondEnd
    }
  }
  const magnitude = magnitudeAt(s, end, complete)
  if (magnitude === MORE) return magnitude
  if (magnitude !== undefined) return { consume: end + magnitude[0].length, emit: `${reading.text} ${magnitude[1]} ${unit.many}` }
  return { consume: end, emit: amount(reading, unit) }
}

function magnitudeAt (s: string, at: number, complete: boolean): readonly [string, string] | More | undefined {
  const rest = s.slice(at, at + 10)
  let more = false
  for (const magnitude of MAGNITUDES) {
    const form = magnitude[0]
    if (rest.length > form.length) {
      if (rest.startsWith(form) && !isWordChar(rest[form.length] as string)) return magnitude
    } else if (form.startsWith(rest)) {
      if (complete && rest === form) return magnitude
      more ||= !complete
    }
  }
  return more ? MORE : undefined
}

function amount (reading: Reading, unit: Currency): string {
  if (reading.kind === 'range') return `${reading.text} ${unit.many}`
  const [major, minor] = reading.text.split('.') as [string, string | undefined]
  const majorWords = `${major} ${major === '1' ? unit.one : unit.many}`
  if (minor?.length !== 2 || unit.minorMany === undefined) return minor === undefined ? majorWords : `${reading.text} ${unit.many}`
  const cents = Number(minor)
  const minorWords = `${cents} ${cents === 1 ? unit.minorOne as string : unit.minorMany}`
  if (cents === 0) return majorWords
  return Number(major) === 0 ? minorWords : `${majorWords} and ${minorWords}`
}
