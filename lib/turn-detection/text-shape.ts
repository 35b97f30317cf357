/** How a transcript ends: its last punctuation mark, as the heuristic reads it. */
export type Ending = '?' | '.' | '!' | '…' | ',' | ''

/** A transcript reduced to what the heuristic reads: its last words and its final mark. */
export interface TextShape {
  /** Lowercased words of the last `TAIL_CHARS` characters, without punctuation (see `wordsOf`). */
  readonly words: readonly string[]
  /** '…' for a trailing-off "..." or "…"; ',' for a trailing , ; : or dash (more is coming); '' for none. */
  readonly ending: Ending
}

/** Characters read from the end of a transcript: enough for any rule, and keeps a call O(1) in its length. */
const TAIL_CHARS = 240
const CLOSERS = new Set(['"', '\'', ')', ']', '}', '»', '”', '’', ' ', '\t', '\n', '\r'])
const ENDINGS: Readonly<Record<string, Ending>> = {
  '?': '?',
  '？': '?',
  '.': '.',
  '。': '.',
  '!': '!',
  '！': '!',
  '…': '…',
  ',': ',',
  '，': ',',
  '、': ',',
  ';': ',',
  '；': ',',
  ':': ',',
  '：': ',',
  '-': ',',
  '–': ',',
  '—': ','
}
const SEPARATORS = /[^\p{L}\p{M}\p{N}'+.-]+/u
const TRIMMED = /^[.'+-]+|[.'+-]+$/g
const TRIMMED_KEEP_PLUS = /^[.'-]+|[.'+-]+$/g

/**
 * Lowercased words of `text`: split on anything but letters, digits, apostrophes, dots, hyphens and '+'
 * (so "555-1234", "qu'est-ce", "+33" and "5." stay one word), then trimmed of outer dots, apostrophes and
 * hyphens ("5." → "5", "'cause" → "cause"). Typographic apostrophes count as "'".
 */
export function wordsOf (text: string): string[] {
  const words: string[] = []
  for (const raw of text.toLowerCase().replace(/[’‘ʼ`´]/g, '\'').split(SEPARATORS)) {
    const word = raw.replace(/^\+(?=\d)/.test(raw) ? TRIMMED_KEEP_PLUS : TRIMMED, '')
    if (word !== '') words.push(word)
  }
  return words
}

/** The shape of `transcript`; reads at most its last 240 characters. */
export function shapeOf (transcript: string): TextShape {
  let tail = transcript.length > TAIL_CHARS ? transcript.slice(-TAIL_CHARS) : transcript
  // A cut tail starts inside a word: drop that fragment.
  if (tail.length < transcript.length) tail = tail.slice(tail.search(/\s/) + 1)
  let end = tail.length
  while (end > 0 && CLOSERS.has(tail[end - 1] as string)) end--
  const last = tail[end - 1]
  let ending: Ending = last === undefined ? '' : (ENDINGS[last] ?? '')
  if (ending === '.' && tail.slice(Math.max(0, end - 3), end) === '...') ending = '…'
  return { words: wordsOf(tail.slice(0, end)), ending }
}
