import { MORE, drop, isAlnum, isSpaceOrEdge, plain, runLength, type RuleResult } from './scan.js'

/**
 * Markdown inside a line: emphasis and strikethrough markers, inline code, links, images, backslash
 * escapes, autolinks and a few HTML tags. `filterText` filters a link's text with all the rules.
 */
export function inlineMarkdown (s: string, complete: boolean, prev: string, filterText: (text: string) => string): RuleResult {
  switch (s[0]) {
    case '*': case '_': case '~': return emphasis(s, complete, prev)
    case '`': return inlineCode(s, complete)
    case '[': return link(s, 0, complete, filterText)
    case '!':
      if (s.length === 1) return complete ? undefined : MORE
      return s[1] === '[' ? link(s, 1, complete, filterText) : undefined
    case '\\': return escape(s, complete)
    case '<': return angle(s, complete, filterText)
    default: return undefined
  }
}

/**
 * A run of `*`, `_` or `~~` is dropped unless it stands between spaces ("2 * 3") or inside a word
 * ("snake_case", "2*3"). Runs are not paired: a stray marker ("5* rating") is dropped too.
 */
function emphasis (s: string, complete: boolean, prev: string): RuleResult {
  const length = runLength(s, s[0] as string)
  if (length === s.length && !complete) return MORE
  if (s[0] === '~' && length < 2) return plain(s, length)
  const next = s[length]
  if (isSpaceOrEdge(prev) && isSpaceOrEdge(next)) return plain(s, length)
  if (isAlnum(prev) && next !== undefined && isAlnum(next)) return plain(s, length)
  return drop(length)
}

/** `code` → code; a backtick that is never closed on its line is dropped. */
function inlineCode (s: string, complete: boolean): RuleResult {
  const ticks = runLength(s, '`')
  if (ticks === s.length && !complete) return MORE
  let from = ticks
  for (;;) {
    const close = s.indexOf('`', from)
    const newline = s.indexOf('\n', from)
    if (close === -1 || (newline !== -1 && newline < close)) return newline === -1 && !complete ? MORE : drop(ticks)
    const closeTicks = runLength(s, '`', close)
    if (close + closeTicks === s.length && !complete) return MORE
    if (closeTicks === ticks) return { consume: close + closeTicks, emit: s.slice(ticks, close).trim() }
    from = close + closeTicks
  }
}

/** [text](url) → text; ![alt](url) → nothing. `start` is 1 for an image (after its "!"). */
function link (s: string, start: number, complete: boolean, filterText: (text: string) => string): RuleResult {
  const notLink = plain(s, start + 1)
  let close = start + 1
  for (; close < s.length && s[close] !== ']'; close++) {
    if (s[close] === '\n' || s[close] === '[') return notLink
    if (s[close] === '\\') close++
  }
  if (close + 1 >= s.length) return complete ? notLink : MORE
  if (s[close + 1] !== '(') return notLink
  let depth = 0
  for (let i = close + 2; i < s.length; i++) {
    const ch = s[i]
    if (ch === '\n') return notLink
    if (ch === '(') depth++
    else if (ch === ')' && depth-- === 0) return { consume: i + 1, emit: start === 1 ? '' : filterText(s.slice(1, close)) }
  }
  return complete ? notLink : MORE
}

const ESCAPABLE = /[!-/:-@[-`{-~]/

/** A backslash before ASCII punctuation says the punctuation as itself, never as markup. */
function escape (s: string, complete: boolean): RuleResult {
  if (s.length === 1) return complete ? undefined : MORE
  return ESCAPABLE.test(s[1] as string) ? { consume: 2, emit: s[1] as string } : undefined
}

const AUTOLINK = /^<((?:https?:\/\/|www\.)[^\s<>]*|[^\s<>@]+@[^\s<>@]+)>/i
const OPEN_AUTOLINK = /^<[^\s<>]*$/
const TAGS = 'b|i|u|s|em|strong|sup|sub|del|ins|mark|small|span|code|kbd|br|hr|p|div'
const TAG = new RegExp(`^</?(${TAGS})(?:[\\s/][^<>\\n]*)?>`, 'i')
const OPEN_TAG = new RegExp(`^</?(?:[a-z]{0,6}|(?:${TAGS})[\\s/][^<>\\n]*)$`, 'i')
const BREAKING_TAGS = new Set(['br', 'hr', 'p', 'div'])

/** <https://x.com> → the link read like any URL; <b>, </span>… dropped; <br>, <p> → a space. */
function angle (s: string, complete: boolean, filterText: (text: string) => string): RuleResult {
  const autolink = AUTOLINK.exec(s)
  if (autolink !== null) return { consume: autolink[0].length, emit: filterText(autolink[1] as string) }
  const tag = TAG.exec(s)
  if (tag !== null) return { consume: tag[0].length, emit: BREAKING_TAGS.has((tag[1] as string).toLowerCase()) ? ' ' : '' }
  if (!complete && (OPEN_AUTOLINK.test(s) || OPEN_TAG.test(s))) return MORE
  return undefined
}
