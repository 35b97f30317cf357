import { de } from './de.js'
import { en } from './en.js'
import { es } from './es.js'
import { fr } from './fr.js'
import { it } from './it.js'
import { compileCues, UNIVERSAL_CUES, type LanguageCues } from './language-cues.js'
import { nl } from './nl.js'
import { pt } from './pt.js'

const byLanguage: ReadonlyMap<string, LanguageCues> = new Map(
  Object.entries({ en, fr, de, es, it, pt, nl }).map(([code, list]) => [code, compileCues(list)])
)

/** Languages with their own cues (primary subtags of BCP 47). */
export const HEURISTIC_LANGUAGES: readonly string[] = [...byLanguage.keys()]

/**
 * Cues for a BCP 47 tag: its primary subtag decides ('en-US' → en, 'pt_BR' → pt); an empty tag is English;
 * any other language gets the universal cues (punctuation, digits, universal fillers).
 */
export function cuesFor (language: string): LanguageCues {
  const dash = language.search(/[-_]/)
  const primary = (dash === -1 ? language : language.slice(0, dash)).toLowerCase()
  if (primary === '') return byLanguage.get('en') as LanguageCues
  return byLanguage.get(primary) ?? UNIVERSAL_CUES
}
