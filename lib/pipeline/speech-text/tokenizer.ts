import { bulletMarker, fenceClosing, fenceOpening, headingMarker, orderedMarker, silentLine } from './block-rules.js'
import { emoji } from './emoji.js'
import { inlineMarkdown } from './inline-markdown.js'
import { number } from './numbers.js'
import { MAX_HOLD_CHARS, MORE, codePointBefore, isHighSurrogate, isWordChar, type More, type RuleResult, type Step } from './scan.js'
import { emailAt, url, urlTail } from './urls.js'

/** Which built-in rules run (see SpeechTextFilterOptions). */
export interface TokenizerRules {
  readonly markdown: boolean
  readonly codeBlocks: boolean
  readonly codeBlockReplacement: string
  readonly emoji: boolean
  readonly urls: boolean
  readonly numbers: boolean
}

type Phase = 'line-start' | 'inline' | 'fence-line-start' | 'fence-body'
/** In a table row: a cell separator is due before the next word, once a cell had words. */
interface TableRow { hasWords: boolean, separatorDue: boolean }

const LETTERS = /[\p{L}\p{M}]+/uy
const LETTER = /[\p{L}\p{M}]/u
const SPACES = /[ \t]+/y
const URL_INITIALS = new Set(['h', 'H', 'w', 'W'])

/**
 * The built-in rules as one streaming pass over LLM text: line-start markdown (headings, bullets,
 * quotes, rules, tables, code fences), then inline rules, each given a window of at most
 * MAX_HOLD_CHARS from where the pass stands. Text a rule may still change is held back; everything
 * before it is returned at once.
 */
export class SpeechTokenizer {
  readonly #rules: TokenizerRules
  #held = ''
  #phase: Phase
  #prev = ''
  #fence: { char: string, length: number } | undefined
  #row: TableRow | undefined
  #inUrlTail = false
  /** A link's text, filtered with the same rules. */
  readonly #filterText = (text: string): string => new SpeechTokenizer(this.#rules, 'inline').run(text, true)

  constructor (rules: TokenizerRules, phase: 'line-start' | 'inline' = 'line-start') {
    this.#rules = rules
    this.#phase = phase
  }

  /** Adds text; returns what is filtered for good. `final` ends the stream: nothing is held. */
  run (chunk: string, final: boolean): string {
    const text = this.#held + chunk
    // A split surrogate pair waits for its second half.
    const length = !final && text.length > 0 && isHighSurrogate(text.charCodeAt(text.length - 1)) ? text.length - 1 : text.length
    let out = ''
    let at = 0
    while (at < length) {
      const truncated = at + MAX_HOLD_CHARS <= length
      let end = truncated ? at + MAX_HOLD_CHARS : length
      if (truncated && isHighSurrogate(text.charCodeAt(end - 1))) end--
      const step = this.#step(text, at, end, final || truncated, truncated)
      if (step === MORE) break
      out += this.#row === undefined ? step.emit : this.#cellText(step.emit)
      at += step.consume
      this.#prev = codePointBefore(text, at)
    }
    this.#held = text.slice(at)
    return out
  }

  #step (text: string, at: number, end: number, complete: boolean, truncated: boolean): Step | More {
    switch (this.#phase) {
      case 'line-start': return this.#lineStart(text, at, end, complete) ?? this.#inline(text, at, end, complete, truncated)
      case 'inline': return this.#inline(text, at, end, complete, truncated)
      case 'fence-line-start': return this.#fenceLineStart(text, at, end, complete) ?? this.#fenceBody(text, at, end)
      case 'fence-body': return this.#fenceBody(text, at, end)
    }
  }

  /** Markers at a line start; `undefined` (and the inline phase) when the line starts with text. */
  #lineStart (text: string, at: number, end: number, complete: boolean): Step | More | undefined {
    const { markdown, codeBlocks } = this.#rules
    if (!markdown && !codeBlocks) {
      this.#phase = 'inline'
      return undefined
    }
    const c = text[at]
    if (c === ' ' || c === '\t') return { consume: spacesAt(text, at), emit: '' }
    const s = text.slice(at, end)
    const fence = fenceOpening(s, complete)
    if (fence === MORE) return fence
    if (fence !== undefined) {
      this.#fence = fence
      this.#phase = fence.lineDone ? 'fence-line-start' : 'fence-body'
      const said = codeBlocks && this.#rules.codeBlockReplacement !== '' ? `${this.#rules.codeBlockReplacement}\n` : ''
      return { consume: fence.consume, emit: said }
    }
    if (markdown) {
      if (c === '>') return { consume: s[1] === ' ' ? 2 : 1, emit: '' }
      const silent = silentLine(s, complete)
      if (silent !== undefined) return silent === MORE ? silent : { consume: silent, emit: '' }
      if (c === '|') {
        this.#phase = 'inline'
        this.#row = { hasWords: false, separatorDue: false }
        return { consume: 1, emit: '' }
      }
      const marker = headingMarker(s, complete) ?? bulletMarker(s, complete) ?? orderedMarker(s, complete)
      if (marker === MORE) return marker
      if (marker !== undefined) {
        this.#phase = 'inline'
        return { consume: marker, emit: '' }
      }
    }
    this.#phase = 'inline'
    return undefined
  }

  #inline (text: string, at: number, end: number, complete: boolean, truncated: boolean): Step | More {
    const rules = this.#rules
    const s = (): string => text.slice(at, end)
    if (this.#inUrlTail) {
      const tail = urlTail(s(), complete)
      if (tail === MORE) return tail
      if (tail > 0) return { consume: tail, emit: '' }
      this.#inUrlTail = false
    }
    const c = text[at] as string
    if (c === '\n') {
      this.#phase = 'line-start'
      this.#row = undefined
      return { consume: 1, emit: '\n' }
    }
    if (LETTER.test(c)) {
      if (rules.urls && URL_INITIALS.has(c) && !isWordChar(this.#prev)) {
        const link = url(s(), complete)
        if (link === MORE) return link
        if (link !== undefined) {
          this.#inUrlTail = truncated && link.open
          return link
        }
      }
      // Runs of letters and spaces may go past the window: nothing in them waits for what follows.
      LETTERS.lastIndex = at
      const length = LETTERS.exec(text)?.[0].length ?? 1
      return { consume: length, emit: text.slice(at, at + length) }
    }
    if (c === ' ' || c === '\t') {
      const length = spacesAt(text, at)
      return { consume: length, emit: text.slice(at, at + length) }
    }
    if (c === '\r') return { consume: 1, emit: '' }
    return this.#special(s(), complete)
  }

  /** Emoji, table pipes, inline markdown, e-mail "@" and numbers, in that order; else the character as is. */
  #special (s: string, complete: boolean): Step | More {
    const rules = this.#rules
    const prev = this.#prev
    const step = (rules.emoji ? emoji(s, complete) : undefined) ??
      (this.#row !== undefined && s[0] === '|' ? cellBorder(s, complete, this.#row) : undefined) ??
      (rules.markdown ? inlineMarkdown(s, complete, prev, this.#filterText) : undefined) ??
      (rules.urls && s[0] === '@' && isWordChar(prev) ? emailAt(s, complete) : undefined) ??
      (rules.numbers ? number(s, complete, prev) : undefined)
    if (step !== undefined) return step
    const first = String.fromCodePoint(s.codePointAt(0) as number)
    return { consume: first.length, emit: first }
  }

  /** Inside a table row, a word after a cell border gets ", " before it. */
  #cellText (emit: string): string {
    const row = this.#row as TableRow
    if (emit.trim() === '') return emit
    const said = row.separatorDue ? `, ${emit}` : emit
    row.separatorDue = false
    row.hasWords = true
    return said
  }

  /** A line inside a code fence: the closing fence ends it; anything else is dropped (or said as is). */
  #fenceLineStart (text: string, at: number, end: number, complete: boolean): Step | More | undefined {
    const c = text[at]
    if (c === ' ' || c === '\t') return { consume: spacesAt(text, at), emit: '' }
    const closing = fenceClosing(text.slice(at, end), complete, this.#fence as { char: string, length: number })
    if (closing === MORE) return closing
    if (closing === undefined) {
      this.#phase = 'fence-body'
      return undefined
    }
    this.#fence = undefined
    this.#phase = text[at + closing - 1] === '\n' ? 'line-start' : 'inline'
    return { consume: closing, emit: '' }
  }

  #fenceBody (text: string, at: number, end: number): Step {
    const newline = text.slice(at, end).indexOf('\n')
    const lineEnds = newline !== -1
    const stop = lineEnds ? at + newline + 1 : end
    if (lineEnds) this.#phase = 'fence-line-start'
    return { consume: stop - at, emit: this.#rules.codeBlocks ? '' : text.slice(at, stop) }
  }
}

/** A "|" in a table row: the row's last one is dropped, the others separate cells. */
function cellBorder (s: string, complete: boolean, row: TableRow): RuleResult {
  let i = 1
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++
  if (i === s.length && !complete) return MORE
  if (i < s.length && s[i] !== '\n') row.separatorDue ||= row.hasWords
  return { consume: 1, emit: '' }
}

function spacesAt (text: string, at: number): number {
  SPACES.lastIndex = at
  return SPACES.exec(text)?.[0].length ?? 1
}
