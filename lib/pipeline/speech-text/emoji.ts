import { MORE, drop, type RuleResult } from './scan.js'

// Pictographs, skin tones, flag letters, variation selectors, the keycap mark and tag characters
// (subdivision flags). A zero-width joiner is dropped only inside such a run: alone it shapes Indic
// scripts and must stay.
const EMOJI = '\\p{Extended_Pictographic}\\p{Emoji_Modifier}\\p{Regional_Indicator}\\u{FE0E}\\u{FE0F}\\u{20E3}\\u{E0020}-\\u{E007F}'
const EMOJI_RUN = new RegExp(`[${EMOJI}](?:[${EMOJI}]|\\u{200D})*`, 'uy')
const KEYCAP_BASE = /[0-9#*]/

/** Emoji sequences (ZWJ families, flags, skin tones) and keycaps ("1️⃣") → nothing. */
export function emoji (s: string, complete: boolean): RuleResult {
  if (KEYCAP_BASE.test(s[0] as string)) return keycap(s, complete)
  EMOJI_RUN.lastIndex = 0
  const run = EMOJI_RUN.exec(s)
  if (run === null) return undefined
  return run[0].length === s.length && !complete ? MORE : drop(run[0].length)
}

function keycap (s: string, complete: boolean): RuleResult {
  let i = 1
  if (s[i] === '\uFE0F') i++
  if (i === s.length) return complete ? undefined : MORE
  return s[i] === '\u20E3' ? drop(i + 1) : undefined
}
