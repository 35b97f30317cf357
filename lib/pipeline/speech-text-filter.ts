import { invalidOption } from '../config/invalid-option.js'
import { CustomRuleSegmenter, type SpeechTextRule } from './speech-text/custom-rules.js'
import { SpacingNormalizer } from './speech-text/spacing.js'
import { SpeechTokenizer } from './speech-text/tokenizer.js'

export type { SpeechTextRule } from './speech-text/custom-rules.js'
export { MAX_HOLD_CHARS } from './speech-text/scan.js'

/**
 * What is rewritten in the LLM's answer before it is spoken (docs/text-filters.md). Every rule is on
 * by default; `speechFilters: false` turns the whole filter off.
 */
export interface SpeechTextFilterOptions {
  /**
   * Drop markdown syntax: headings, emphasis, bullets and numbered list markers, links [text](url) →
   * text, images, table pipes (cells → "a, b") and separator rows, blockquotes, horizontal rules,
   * inline code backticks, a few HTML tags (default true).
   */
  markdown?: boolean
  /** Drop fenced code blocks (``` … ```) entirely, saying `codeBlockReplacement` instead (default true). */
  codeBlocks?: boolean
  /** Said on its own line in place of a dropped code block, e.g. "I've put the code in the chat." (default '': nothing). */
  codeBlockReplacement?: string
  /** Remove emoji and pictographs, with their joiners, skin tones, flags and keycaps (default true). */
  emoji?: boolean
  /** Read URLs as their host ("https://www.example.com/a?x=1" → "example.com") and e-mail "@" as "at" (default true). */
  urls?: boolean
  /**
   * Read numbers sensibly (default true): "1,234" → "1234", "$5.50" → "5 dollars and 50 cents" (also €,
   * £, ¥), "50%" → "50 percent", "10-20" → "10 to 20". Times, dates, versions, fractions and phone
   * numbers stay as written.
   */
  numbers?: boolean
  /** Extra rules applied, in order, to each completed segment (about a sentence) after the built-in ones (default none). */
  custom?: SpeechTextRule[]
}

/** The options with every default applied. */
export interface ResolvedSpeechTextFilterOptions extends Readonly<Required<Omit<SpeechTextFilterOptions, 'custom'>>> {
  readonly custom: readonly SpeechTextRule[]
}

export const DEFAULT_SPEECH_TEXT_FILTER_OPTIONS: Readonly<Required<Omit<SpeechTextFilterOptions, 'custom'>>> = Object.freeze({
  markdown: true,
  codeBlocks: true,
  codeBlockReplacement: '',
  emoji: true,
  urls: true,
  numbers: true
})

const DEFAULTS: ResolvedSpeechTextFilterOptions = Object.freeze({ ...DEFAULT_SPEECH_TEXT_FILTER_OPTIONS, custom: Object.freeze([]) })
const SWITCHES = ['markdown', 'codeBlocks', 'emoji', 'urls', 'numbers'] as const
const KNOWN = new Set<string>([...SWITCHES, 'codeBlockReplacement', 'custom'])

/**
 * Validates the `speechFilters` option: `false` turns filtering off, `undefined` or `true` takes the
 * defaults. Throws LLMRTC_ERR_OPTIONS_INVALID naming `speechFilters.<key>`.
 */
export function resolveSpeechTextFilterOptions (options: SpeechTextFilterOptions | boolean | undefined): ResolvedSpeechTextFilterOptions | false {
  if (options === false) return false
  if (options === undefined || options === true) return DEFAULTS
  if (options === null || typeof options !== 'object' || Array.isArray(options)) invalidOption('speechFilters', 'an object of speech filter options, true or false', options)
  for (const [key, value] of Object.entries(options)) {
    if (!KNOWN.has(key)) invalidOption(`speechFilters.${key}`, `one of the options ${[...KNOWN].join(', ')}`, value)
  }
  for (const key of SWITCHES) {
    const value = options[key]
    if (value !== undefined && typeof value !== 'boolean') invalidOption(`speechFilters.${key}`, 'a boolean', value)
  }
  const replacement = options.codeBlockReplacement
  if (replacement !== undefined && typeof replacement !== 'string') invalidOption('speechFilters.codeBlockReplacement', 'a string', replacement)
  const custom = options.custom ?? []
  if (!Array.isArray(custom)) invalidOption('speechFilters.custom', 'an array of functions (text: string) => string', custom)
  custom.forEach((rule, index) => {
    if (typeof rule !== 'function') invalidOption(`speechFilters.custom[${index}]`, 'a function (text: string) => string', rule)
  })
  const resolved = { ...DEFAULT_SPEECH_TEXT_FILTER_OPTIONS, custom: Object.freeze([...custom]) }
  for (const key of SWITCHES) resolved[key] = options[key] ?? resolved[key]
  resolved.codeBlockReplacement = replacement ?? ''
  return Object.freeze(resolved)
}

/**
 * Streaming filter between the LLM and the sentence chunker: push the LLM's chunks as they come, feed
 * what comes back to the chunker. Plain prose comes back at once; only text a rule may still change is
 * held back (an unclosed "**", an open "[link", a number or URL still arriving, a line start that may be
 * a heading or a bullet), never more than MAX_HOLD_CHARS, except a code block, which is dropped until
 * it closes. Chunked or whole, the same text gives the same output.
 */
export class SpeechTextFilter {
  readonly #options: ResolvedSpeechTextFilterOptions
  #tokenizer: SpeechTokenizer
  readonly #spacing = new SpacingNormalizer()
  readonly #custom: CustomRuleSegmenter | undefined

  constructor (options: ResolvedSpeechTextFilterOptions = DEFAULTS) {
    this.#options = options
    this.#tokenizer = new SpeechTokenizer(options)
    this.#custom = options.custom.length > 0 ? new CustomRuleSegmenter(options.custom) : undefined
  }

  /** Adds a chunk of the LLM's text; returns the filtered text that is final (possibly ''). */
  push (chunk: string): string {
    const text = this.#spacing.push(this.#tokenizer.run(chunk, false))
    return this.#custom === undefined ? text : this.#custom.push(text)
  }

  /** The end of the stream: everything held back, filtered. The filter can then take a new stream. */
  flush (): string {
    const text = this.#spacing.push(this.#tokenizer.run('', true)) + this.#spacing.flush()
    this.#tokenizer = new SpeechTokenizer(this.#options)
    return this.#custom === undefined ? text : this.#custom.push(text) + this.#custom.flush()
  }
}

/** Filters a whole text at once (the same output as streaming it). */
export function filterSpeechText (text: string, options: ResolvedSpeechTextFilterOptions = DEFAULTS): string {
  const filter = new SpeechTextFilter(options)
  return filter.push(text) + filter.flush()
}
