import { MORE, isDigit, runLength, type More } from './scan.js'

/**
 * Markdown's line-start constructs, each looked at after the line's indentation. Every function takes
 * the window `s` (starting at the construct) and `complete`, and returns how many code units the marker
 * takes, `MORE`, or `undefined` when the line does not start with it.
 */

/** An open code fence: the fence character, its length, and how much of its line was consumed. */
export interface FenceOpening {
  readonly char: '`' | '~'
  readonly length: number
  readonly consume: number
  /** The whole opening line, newline included, was consumed. */
  readonly lineDone: boolean
}

/** "```lang" or "~~~" (three or more); a backtick fence's info string has no backtick ("```x```" is inline code). */
export function fenceOpening (s: string, complete: boolean): FenceOpening | More | undefined {
  const char = s[0]
  if (char !== '`' && char !== '~') return undefined
  const length = runLength(s, char)
  if (length === s.length && !complete) return MORE
  if (length < 3) return undefined
  const newline = s.indexOf('\n', length)
  const info = s.slice(length, newline === -1 ? s.length : newline)
  if (char === '`' && info.includes('`')) return undefined
  if (newline === -1 && !complete) return MORE
  return { char, length, consume: newline === -1 ? s.length : newline + 1, lineDone: newline !== -1 }
}

/** The closing fence of `fence`: its character at least as many times, then only spaces to the line end. */
export function fenceClosing (s: string, complete: boolean, fence: { char: string, length: number }): number | More | undefined {
  const length = runLength(s, fence.char)
  if (length === s.length) return complete ? (length >= fence.length ? length : undefined) : MORE
  if (length < fence.length) return undefined
  let i = length
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++
  if (i === s.length) return complete ? i : MORE
  return s[i] === '\n' ? i + 1 : undefined
}

const RULE_CHARS = new Set(['-', '*', '_', '=', '|', ':', ' ', '\t'])
const HORIZONTAL_RULE = /^([-*_=])(?:[ \t]*\1){2,}[ \t]*$/

/**
 * A line that says nothing: a horizontal rule ("---", "* * *", "___"), a setext underline ("===") or a
 * table's separator row ("|---|:--:|"). The whole line is consumed, its newline included.
 */
export function silentLine (s: string, complete: boolean): number | More | undefined {
  let i = 0
  while (i < s.length && s[i] !== '\n') {
    if (!RULE_CHARS.has(s[i] as string)) return undefined
    i++
  }
  if (i === s.length && !complete) return MORE
  const line = s.slice(0, i)
  const silent = HORIZONTAL_RULE.test(line) || (line.includes('|') && line.includes('-'))
  if (!silent) return undefined
  return i < s.length ? i + 1 : i
}

/** "# " to "###### " (or the hashes alone on their line). */
export function headingMarker (s: string, complete: boolean): number | More | undefined {
  const hashes = runLength(s, '#')
  if (hashes === 0 || hashes > 6) return undefined
  if (hashes === s.length) return complete ? hashes : MORE
  const next = s[hashes]
  if (next === ' ' || next === '\t') return hashes + 1
  return next === '\n' ? hashes : undefined
}

const BULLETS = new Set(['-', '*', '+', '•'])

/** "- ", "* ", "+ " or "• " (or the bullet alone on its line). */
export function bulletMarker (s: string, complete: boolean): number | More | undefined {
  if (!BULLETS.has(s[0] as string)) return undefined
  if (s.length === 1) return complete ? undefined : MORE
  const next = s[1]
  if (next === ' ' || next === '\t') return 2
  return next === '\n' ? 1 : undefined
}

/** "1. " or "12) " (up to three digits, so "2024. " stays a year). */
export function orderedMarker (s: string, complete: boolean): number | More | undefined {
  let digits = 0
  while (digits < s.length && digits <= 3 && isDigit(s[digits])) digits++
  if (digits === 0 || digits > 3) return undefined
  if (digits === s.length) return complete ? undefined : MORE
  if (s[digits] !== '.' && s[digits] !== ')') return undefined
  if (digits + 1 === s.length) return complete ? undefined : MORE
  const next = s[digits + 1]
  if (next === ' ' || next === '\t') return digits + 2
  return next === '\n' ? digits + 1 : undefined
}
