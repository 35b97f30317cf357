import { MORE, type More, type Step } from './scan.js'

const URL_PREFIXES = ['http://', 'https://', 'www.']
const URL_START = /^(?:https?:\/\/|www\.)/i
// A URL runs to whitespace or a bracket/quote; one level of balanced parentheses is part of it
// (Wikipedia links).
const URL_BODY = /(?:[^\s<>"'`()[\]{}|\\^]|\([^\s<>"'`()[\]{}|\\^]*\))+/y
const OPEN_PARENTHESIS = /^\([^\s<>"'`()[\]{}|\\^]*$/
const TRAILING_PUNCTUATION = /[.,!?:;]+$/

/**
 * "https://www.example.com/path?x=1" or "www.example.com/path" → "example.com": the host, without
 * "www.", port or credentials. Called at a word start on "h" or "w". `open` says the URL may go on
 * after a full window (the tokenizer then drops the rest of it with `urlTail`).
 */
export function url (s: string, complete: boolean): (Step & { open: boolean }) | More | undefined {
  if (!URL_START.test(s)) {
    const start = s.slice(0, 8).toLowerCase()
    if (!complete && URL_PREFIXES.some(prefix => start.length < prefix.length && prefix.startsWith(start))) return MORE
    return undefined
  }
  const length = urlLength(s, complete)
  if (length === MORE) return length
  const body = s.slice(0, length)
  const host = /^[^/?#:]*/.exec(body.replace(/^https?:\/\//i, '').replace(/^[^/?#@]*@/, ''))?.[0] ?? ''
  return { consume: length, emit: host.replace(/^www\./i, ''), open: length === s.length }
}

/** The rest of a URL longer than a window, dropped: its length (0 where it ended). */
export function urlTail (s: string, complete: boolean): number | More {
  return urlLength(s, complete)
}

/** The URL's length from the start of `s`, without sentence punctuation after it. */
function urlLength (s: string, complete: boolean): number | More {
  URL_BODY.lastIndex = 0
  const length = URL_BODY.exec(s)?.[0].length ?? 0
  if (!complete && (length === s.length || OPEN_PARENTHESIS.test(s.slice(length)))) return MORE
  return length - (TRAILING_PUNCTUATION.exec(s.slice(0, length))?.[0].length ?? 0)
}

const EMAIL_DOMAIN = /^@[A-Za-z0-9-]+\.[A-Za-z]/
const OPEN_EMAIL_DOMAIN = /^@[A-Za-z0-9-]*\.?$/

/** "a.b@x.org" → "a.b at x.org": the "@" after a word, before a domain, is read "at". */
export function emailAt (s: string, complete: boolean): Step | More | undefined {
  if (EMAIL_DOMAIN.test(s)) return { consume: 1, emit: ' at ' }
  return !complete && OPEN_EMAIL_DOMAIN.test(s) ? MORE : undefined
}
