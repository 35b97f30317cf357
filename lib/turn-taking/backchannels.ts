/**
 * Backchannels: what a listener says to show they are following ("mm-hmm", "yeah", "I see"), which is
 * not a request for the floor. Speech during the assistant's answer whose transcript is only
 * backchannels does not interrupt it.
 */

/** Built-in backchannel phrases per language (lower case, words separated by single spaces). */
export const BACKCHANNELS: Readonly<Record<string, readonly string[]>> = {
  en: ['mm', 'mhm', 'mm hmm', 'mmhmm', 'hmm', 'hm', 'uh huh', 'uh-huh', 'yeah', 'yes', 'yep', 'yup', 'ya', 'right', 'okay', 'ok', 'sure', 'i see', 'got it', 'gotcha', 'oh', 'ah', 'aha', 'ah ha', 'cool', 'great', 'nice', 'alright', 'all right', 'exactly', 'true', 'indeed', 'totally', 'wow', 'oh wow', 'oh okay', 'oh i see', 'makes sense', 'that makes sense', 'sounds good', 'uh', 'um'],
  fr: ['mm', 'mhm', 'hmm', 'oui', 'ouais', 'ok', 'okay', "d'accord", 'daccord', 'ah', 'oh', 'je vois', 'bien sûr', 'exactement', 'voilà', 'ah bon', 'super', 'euh'],
  de: ['mm', 'mhm', 'hmm', 'ja', 'jaja', 'genau', 'ok', 'okay', 'alles klar', 'aha', 'ah', 'oh', 'stimmt', 'richtig', 'verstehe', 'ich verstehe', 'klar', 'super', 'äh', 'ähm'],
  es: ['mm', 'mhm', 'hmm', 'sí', 'si', 'vale', 'claro', 'ok', 'okay', 'ajá', 'aja', 'ah', 'oh', 'ya', 'ya veo', 'entiendo', 'exacto', 'bueno', 'eh'],
  it: ['mm', 'mhm', 'hmm', 'sì', 'si', 'certo', 'ok', 'okay', 'ah', 'oh', 'capisco', 'esatto', 'va bene', 'giusto', 'ecco', 'eh'],
  pt: ['mm', 'mhm', 'hmm', 'sim', 'claro', 'ok', 'okay', 'ah', 'oh', 'entendi', 'exato', 'certo', 'tá', 'ta', 'uhum', 'é'],
  nl: ['mm', 'mhm', 'hmm', 'ja', 'jaja', 'oké', 'oke', 'ok', 'okay', 'precies', 'klopt', 'ah', 'oh', 'aha', 'juist', 'inderdaad', 'ik snap het', 'eh', 'uh']
}

/** Lower case, punctuation dropped (hyphens and apostrophes inside words kept as in the lists), single spaces. */
export function normalizeWords (text: string): string[] {
  const cleaned = text.toLowerCase().replace(/[-‐]/gu, ' ').replace(/[^\p{L}\p{N}'’\s]/gu, ' ').replace(/’/g, "'")
  return cleaned.split(/\s+/).filter(word => word !== '')
}

/** A set of backchannel phrases for a language (base language of a BCP 47 tag), plus your own. */
export class BackchannelMatcher {
  readonly #phrases: Set<string>
  /** Longest phrase, in words. */
  readonly #maxWords: number

  constructor (language = 'en', extra: readonly string[] = []) {
    const base = language.toLowerCase().split(/[-_]/)[0] ?? 'en'
    const builtIn = BACKCHANNELS[base] ?? BACKCHANNELS.en ?? []
    this.#phrases = new Set([...builtIn, ...extra].map(phrase => normalizeWords(phrase).join(' ')).filter(p => p !== ''))
    this.#maxWords = Math.max(1, ...[...this.#phrases].map(phrase => phrase.split(' ').length))
  }

  /**
   * True when the whole transcript is made of backchannel phrases ("mm-hmm, yeah", "oh I see"), false
   * when any word is outside them, and false for an empty transcript (nothing was recognized: the caller
   * decides what silence means).
   */
  isBackchannel (text: string): boolean {
    const words = normalizeWords(text)
    if (words.length === 0) return false
    // Greedy longest match from the left, with backtracking through the reachable positions.
    const reachable = new Uint8Array(words.length + 1)
    reachable[0] = 1
    for (let start = 0; start < words.length; start++) {
      if (reachable[start] !== 1) continue
      for (let length = 1; length <= this.#maxWords && start + length <= words.length; length++) {
        if (this.#phrases.has(words.slice(start, start + length).join(' '))) reachable[start + length] = 1
      }
    }
    return reachable[words.length] === 1
  }
}

/** Number of words in a transcript. */
export function countWords (text: string): number {
  return normalizeWords(text).length
}
