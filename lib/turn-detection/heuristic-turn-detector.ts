import { assistantRequestOf, type AssistantRequest } from './assistant-request.js'
import { dateEndingOf } from './date-ending.js'
import { cuesFor } from './languages/index.js'
import type { LanguageCues, NumberKind } from './languages/language-cues.js'
import { isSpelled, trailingNumberRun } from './number-words.js'
import { shapeOf } from './text-shape.js'
import type { TurnDetectionInput, TurnDetector } from './types.js'

/**
 * What each rule of the heuristic answers, from unfinished (0) to finished (1). docs/turn-detection.md
 * explains each with examples.
 */
export const HEURISTIC_PROBABILITIES = Object.freeze({
  /** Nothing transcribed yet. */
  empty: 0.5,
  /** Ends in a hesitation: "so I was, um". */
  filler: 0.05,
  /** Ends in a conjunction, article, possessive or subject: "I'd like a coffee and". */
  connective: 0.1,
  /** The same with a full stop, which STT engines add to finals: "I went to the." */
  connectivePunctuated: 0.2,
  /** Ends in , ; : or a dash: "eggs, milk,". */
  continuation: 0.15,
  /** A phone number, postal code, card or identifier with too few digits yet; a house number. */
  unfinishedNumber: 0.15,
  /** A date without its year after the assistant asked for one, or with its year begun. */
  unfinishedDate: 0.15,
  /** A date without a year, nobody asked for one: "let's meet on March 5th" (a year may follow). */
  dateWithoutYear: 0.35,
  /** Letters or digits while the assistant asked for a spelling. */
  spelling: 0.25,
  /** Ends in a preposition or an auxiliary: "can you help me with", "my name is". */
  openWord: 0.2,
  /** The same with a full stop: "that's what it's for." is often complete. */
  openWordPunctuated: 0.5,
  /** Trails off: "I don't know...". */
  trailingOff: 0.3,
  /** No punctuation and no other sign after the assistant asked for a list. */
  listRequested: 0.35,
  /** No punctuation and no other sign. */
  unpunctuated: 0.5,
  /** No punctuation, starts like a question: "what's the weather in paris". */
  unpunctuatedQuestion: 0.7,
  /** No punctuation, three words or fewer, answering the assistant's question: "in the kitchen". */
  shortReply: 0.7,
  /** A phone number, postal code, card or identifier with enough digits. */
  completeNumber: 0.8,
  /** Just a number, answering the assistant's question: "42". */
  numberAnswer: 0.9,
  /** Ends with . or !. */
  statement: 0.9,
  /** Ends with ?. */
  question: 0.95,
  /** A complete short answer: "yes", "thanks", "that's all", "d'accord", "genau". */
  shortAnswer: 0.95
})

const P = HEURISTIC_PROBABILITIES
/** Most words a short reply has. */
const SHORT_REPLY_WORDS = 3
/** Most words of a complete short answer ("thank you very much"). */
const SHORT_ANSWER_WORDS = 4
/** Words before a number searched for what it is ("my phone number is" + number). */
const CUE_WINDOW_WORDS = 6

/**
 * A deterministic text heuristic: reads how the transcript ends (punctuation, last words, numbers, dates)
 * and what the assistant last asked, in the conversation's language (en, fr, de, es, it, pt, nl; other
 * languages use punctuation, digits and universal fillers only). Pure string work on the transcript's last
 * 240 characters and the assistant's last sentence: a few µs per call. The first rule that applies
 * answers; docs/turn-detection.md lists them in order.
 */
export class HeuristicTurnDetector implements TurnDetector {
  readonly name = 'heuristic'

  predict (input: TurnDetectionInput): number {
    const cues = cuesFor(input.language ?? 'en')
    const { words, ending } = shapeOf(typeof input.transcript === 'string' ? input.transcript : '')
    const last = words.at(-1)
    if (last === undefined) return P.empty
    if (cues.fillers.has(last)) return P.filler
    if (ending === ',') return P.continuation
    if (ending === '?') return P.question
    if (ending !== '…' && words.length <= SHORT_ANSWER_WORDS && cues.shortAnswers.has(words.join(' '))) return P.shortAnswer

    const request = assistantRequestOf(input.history ?? [], cues)
    const number = numberProbability(words, cues, request)
    if (number !== undefined) return number
    const date = dateEndingOf(words, cues)
    if (date !== undefined) return date === 'no-year' && request?.kind !== 'date' && !hasDateCue(words, cues) ? P.dateWithoutYear : P.unfinishedDate

    const punctuated = ending === '.' || ending === '!'
    const before = words.at(-2)
    if (cues.connectives.has(last) && !(before !== undefined && cues.completeAfter.get(last)?.has(before) === true)) {
      return punctuated ? P.connectivePunctuated : P.connective
    }
    const question = ending === '' && startsLikeQuestion(words, cues)
    if (cues.prepositions.has(last) && !endsWithParticle(words)) return punctuated ? P.openWordPunctuated : P.openWord
    // A verb ends many questions ("che ore sono", "do you know what my name is").
    if (cues.auxiliaries.has(last) && !(before !== undefined && cues.pronouns.has(before)) && !(question && words.length >= 3)) {
      return punctuated ? P.openWordPunctuated : P.openWord
    }
    if (ending === '…') return P.trailingOff
    if (punctuated) return P.statement
    if (request?.kind === 'list') return P.listRequested
    if (question) return P.unpunctuatedQuestion
    if (request?.asked === true && words.length <= SHORT_REPLY_WORDS) return P.shortReply
    return P.unpunctuated
  }
}

/** The answer of the number and spelling rules, or undefined if the transcript does not end in one. */
function numberProbability (words: readonly string[], cues: LanguageCues, request: AssistantRequest | undefined): number | undefined {
  if (request?.kind === 'spelling' && isSpelled(words.at(-1))) return P.spelling
  const run = trailingNumberRun(words, cues)
  if (run.start === words.length) return undefined
  const kind = numberKindBefore(words, run.start, cues) ?? (request?.kind === 'spelling' || request?.kind === 'date' || request?.kind === 'list' ? undefined : request?.kind)
  if (kind === undefined) return run.start === 0 && request?.asked === true ? P.numberAnswer : undefined
  return run.digits < digitsNeeded(kind, cues, run.international) ? P.unfinishedNumber : P.completeNumber
}

/** What the number starting at `start` is, from the cue phrases in the 6 words before it. */
function numberKindBefore (words: readonly string[], start: number, cues: LanguageCues): NumberKind | undefined {
  if (start === 0) return undefined
  const window = ` ${words.slice(Math.max(0, start - CUE_WINDOW_WORDS), start).join(' ')} `
  return cues.numberCues.find(([phrase]) => window.includes(` ${phrase} `))?.[1]
}

/**
 * Digits of a complete number of each kind: a phone number 10 (9 in Spanish and Portuguese; one more with a
 * country code), a postal code the language's (5; nl 4, pt 7), a card 15, an identifier 4, and an address
 * is unfinished while it ends in a house number (4 digits or fewer) rather than a postal code.
 */
function digitsNeeded (kind: NumberKind, cues: LanguageCues, international: boolean): number {
  switch (kind) {
    case 'phone': return cues.phoneDigits + (international ? 1 : 0)
    case 'zip': return cues.zipDigits
    case 'card': return 15
    case 'identifier': return 4
    case 'address': return 5
  }
}

/** Starts with a question word, or two ("o que", "por qué"). */
function startsLikeQuestion (words: readonly string[], cues: LanguageCues): boolean {
  const first = words[0] as string
  return cues.questionStarts.has(first) || (words.length > 1 && cues.questionStarts.has(`${first} ${words[1] as string}`))
}

function hasDateCue (words: readonly string[], cues: LanguageCues): boolean {
  const text = ` ${words.join(' ')} `
  return cues.dateCues.some(cue => text.includes(` ${cue} `))
}

/** English "on" and "in" that close a phrasal verb on its object ("turn it on", "turn the lights on", "let them in"). */
const PARTICLES = new Set(['on', 'in'])
const OBJECT_PRONOUNS = new Set(['it', 'them', 'him', 'her', 'me', 'us', 'this', 'that', 'everything', 'something'])
const DETERMINERS = new Set(['the', 'a', 'an', 'my', 'your', 'his', 'her', 'our', 'their', 'this', 'that', 'these', 'those'])

function endsWithParticle (words: readonly string[]): boolean {
  const last = words.at(-1)
  if (last === undefined || !PARTICLES.has(last)) return false
  const before = words.at(-2)
  const twoBefore = words.at(-3)
  return (before !== undefined && OBJECT_PRONOUNS.has(before)) || (twoBefore !== undefined && DETERMINERS.has(twoBefore) && words.length >= 4)
}
