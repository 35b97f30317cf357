import { LLMRTC_ERR_OPTIONS_UNKNOWN } from '../errors.js'

/** Options Fastify's `register` takes for itself and also hands to the plugin: never an llmrtc option. */
export const FASTIFY_REGISTER_OPTION_KEYS = ['prefix', 'logLevel', 'logSerializers'] as const

/**
 * Throws LLMRTC_ERR_OPTIONS_UNKNOWN for the first own key of `value` not in `known`, named with its path
 * (`webrtc.gatherTimoutMs`). Does nothing for a non-object: its type is the caller's to check.
 */
export function refuseUnknownKeys (value: unknown, known: readonly string[], path = ''): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new LLMRTC_ERR_OPTIONS_UNKNOWN(`${path}${key}`, expectation(key, known, path))
  }
}

/** A short list is given whole; a long one (the top level) only through its nearest name and the docs. */
function expectation (key: string, known: readonly string[], path: string): string {
  const nearest = closest(key, known)
  const hint = nearest === undefined ? '' : `did you mean "${path}${nearest}"? `
  if (known.length <= 12) return `${hint}expected one of ${known.join(', ')}`
  return `${hint}docs/configuration.md lists the options`
}

/** The known name nearest to `key` (case-insensitive edit distance at most a third of its length), if any. */
function closest (key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase())
    if (distance < bestDistance) {
      best = name
      bestDistance = distance
    }
  }
  return best
}

function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
