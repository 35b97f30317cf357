import { LLMRTC_ERR_OPTIONS_INVALID } from '../../errors.js'

/**
 * A phrase as the recognizer's dictionary spells it: lower case, words separated by single spaces,
 * punctuation dropped (apostrophes inside words kept: "what's").
 */
export function normalizePhrase (phrase: string): string {
  return phrase
    .toLowerCase()
    .replace(/[^a-z0-9'\s]+/g, ' ')
    .replace(/(^|\s)'+|'+(?=\s|$)/g, ' ')
    .trim()
    .split(/\s+/)
    .filter(word => word !== '')
    .join(' ')
}

/**
 * A JSGF grammar accepting any one of `phrases`, or two of them in a row ("hello there. what time is
 * it?" is one utterance to the recognizer). Phrases are normalized; duplicates and empty ones dropped.
 * Throws LLMRTC_ERR_OPTIONS_INVALID when no phrase is left.
 */
export function phrasesToJsgf (phrases: readonly string[]): string {
  const unique = [...new Set(phrases.map(normalizePhrase).filter(p => p !== ''))]
  if (unique.length === 0) throw new LLMRTC_ERR_OPTIONS_INVALID('phrases', 'at least one phrase with words', JSON.stringify(phrases))
  return [
    '#JSGF V1.0;',
    'grammar llmrtc;',
    `<phrase> = ${unique.join(' | ')};`,
    'public <utterance> = <phrase> [<phrase>];',
    ''
  ].join('\n')
}
