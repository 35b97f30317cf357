/** What a number at the end of a transcript is, judged from the words before it. */
export type NumberKind = 'phone' | 'zip' | 'card' | 'identifier' | 'address'

/** What the assistant's last message asked for. */
export type RequestKind = Exclude<NumberKind, 'address'> | 'spelling' | 'date' | 'list'

/**
 * The words of one language the heuristic looks for, as written in `languages/<code>.ts`. All lowercase;
 * phrases are matched as whole words. See docs/turn-detection.md for how each list is used.
 */
export interface LanguageCueList {
  /** Hesitations: a transcript ending in one is unfinished ("um", "euh", "ähm"). */
  fillers: string[]
  /** Words that cannot end a sentence: conjunctions, articles, possessives, subject clitics, "I'm". */
  connectives: string[]
  /** A connective preceded by one of these words is complete after all ("I think so": `{ so: ['think'] }`). */
  completeAfter?: Record<string, string[]>
  /** Prepositions and similar words that rarely end a sentence unless it is a question ("to", "for", "with"). */
  prepositions: string[]
  /** Copulas and auxiliaries: unfinished after a noun ("my name is"), complete after a pronoun ("yes it is"). */
  auxiliaries: string[]
  /** Subjects after which an auxiliary ends a sentence (verb-phrase ellipsis). */
  pronouns: string[]
  /** Whole utterances that are complete answers ("yes", "thanks", "that's all"). */
  shortAnswers: string[]
  /** First word (or first two words) of a question, for transcripts without punctuation. */
  questionStarts: string[]
  /** Spoken numbers and how many digits each stands for ("five" 1, "twenty" 2, "hundred" 2). */
  numberWords: Record<string, number>
  /** Compound number words counted as 2 digits ("einundzwanzig", "ventitré"). */
  compoundNumber?: RegExp
  /** Month names. */
  months: string[]
  /** Ordinal words that can be the day of a date ("first", "premier"). */
  dayWords?: string[]
  /** Words between a day and its month ("5 de marzo", "the 5th of March"). */
  dateLinks?: string[]
  /** Words before a bare month that expect a day next ("on March"). */
  dayPrepositions?: string[]
  /** Words in the transcript saying a full date is being given ("born", "date of birth"). */
  dateCues?: string[]
  /** Phrases before a number saying what it is, in priority order (first found wins). */
  numberCues: Array<[phrase: string, kind: NumberKind]>
  /** Phrases in the assistant's last message saying what it asked for, in priority order. */
  requestCues: Array<[phrase: string, kind: RequestKind]>
  /** Digits of a national phone number (default 10). */
  phoneDigits?: number
  /** Digits of a postal code (default 5). */
  zipDigits?: number
}

/** A `LanguageCueList` as sets, compiled once per language. */
export interface LanguageCues {
  readonly fillers: ReadonlySet<string>
  readonly connectives: ReadonlySet<string>
  readonly completeAfter: ReadonlyMap<string, ReadonlySet<string>>
  readonly prepositions: ReadonlySet<string>
  readonly auxiliaries: ReadonlySet<string>
  readonly pronouns: ReadonlySet<string>
  readonly shortAnswers: ReadonlySet<string>
  readonly questionStarts: ReadonlySet<string>
  readonly numberWords: ReadonlyMap<string, number>
  readonly compoundNumber: RegExp | undefined
  readonly months: ReadonlySet<string>
  readonly dayWords: ReadonlySet<string>
  readonly dateLinks: ReadonlySet<string>
  readonly dayPrepositions: ReadonlySet<string>
  readonly dateCues: readonly string[]
  readonly numberCues: ReadonlyArray<readonly [string, NumberKind]>
  readonly requestCues: ReadonlyArray<readonly [string, RequestKind]>
  readonly phoneDigits: number
  readonly zipDigits: number
}

/** Hesitations recognised in every language, including unknown ones. */
export const UNIVERSAL_FILLERS = ['uh', 'uhh', 'uhm', 'umm', 'hmm', 'hm', 'mm', 'mmm', 'erm', 'ehm'] as const

export function compileCues (list: LanguageCueList): LanguageCues {
  return {
    fillers: new Set([...UNIVERSAL_FILLERS, ...list.fillers]),
    connectives: new Set(list.connectives),
    completeAfter: new Map(Object.entries(list.completeAfter ?? {}).map(([word, before]) => [word, new Set(before)])),
    prepositions: new Set(list.prepositions),
    auxiliaries: new Set(list.auxiliaries),
    pronouns: new Set(list.pronouns),
    shortAnswers: new Set(list.shortAnswers),
    questionStarts: new Set(list.questionStarts),
    numberWords: new Map(Object.entries(list.numberWords)),
    compoundNumber: list.compoundNumber,
    months: new Set(list.months),
    dayWords: new Set(list.dayWords ?? []),
    dateLinks: new Set(list.dateLinks ?? []),
    dayPrepositions: new Set(list.dayPrepositions ?? []),
    dateCues: list.dateCues ?? [],
    numberCues: list.numberCues,
    requestCues: list.requestCues,
    phoneDigits: list.phoneDigits ?? 10,
    zipDigits: list.zipDigits ?? 5
  }
}

/** Cues for a language the heuristic does not know: only universal fillers, punctuation and digits. */
export const UNIVERSAL_CUES: LanguageCues = compileCues({
  fillers: [],
  connectives: [],
  prepositions: [],
  auxiliaries: [],
  pronouns: [],
  shortAnswers: ['ok', 'okay'],
  questionStarts: [],
  numberWords: {},
  months: [],
  numberCues: [],
  requestCues: []
})
