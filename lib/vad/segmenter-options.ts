import { assertProbability, invalidOption } from '../config/invalid-option.js'

/** How speech is cut into utterances. Every field is optional; see `DEFAULT_SEGMENTER_OPTIONS`. */
export interface SpeechSegmenterOptions {
  /** Speech probability (0-1) at or above which a window starts speech (default 0.5). */
  activationThreshold?: number
  /** Once in speech, a window below this probability (0-1) counts as silence (default 0.35). */
  deactivationThreshold?: number
  /** Speech shorter than this, in ms, is a blip: it ends as `speech-cancelled`, not `speech-end` (default 250). */
  minSpeechMs?: number
  /** Silence that ends an utterance, in ms (default 550). */
  endOfSpeechSilenceMs?: number
  /** Audio kept before the first speech window and sent as pre-roll, in ms (default 300). */
  preSpeechPadMs?: number
  /** An utterance is ended after this long even if speech goes on, in ms, to bound memory (default 60000). */
  maxSpeechMs?: number
}

export type ResolvedSegmenterOptions = Required<SpeechSegmenterOptions>

/**
 * Defaults for conversation. 550 ms of silence ends a turn (Silero's upstream examples wait much longer,
 * which feels sluggish in a dialogue; 500-600 ms is what voice agents use). 250 ms of speech separates
 * words from coughs, clicks and "mm". 300 ms of pre-roll keeps the soft onset of the first word, which the
 * VAD only notices a window or two late. Thresholds are Silero's recommended 0.5 with 0.15 hysteresis.
 */
export const DEFAULT_SEGMENTER_OPTIONS: Readonly<ResolvedSegmenterOptions> = Object.freeze({
  activationThreshold: 0.5,
  deactivationThreshold: 0.35,
  minSpeechMs: 250,
  endOfSpeechSilenceMs: 550,
  preSpeechPadMs: 300,
  maxSpeechMs: 60_000
})

const KEYS = Object.keys(DEFAULT_SEGMENTER_OPTIONS) as Array<keyof ResolvedSegmenterOptions>

/**
 * Applies `options` over `base` (the defaults, or server-level options) and validates.
 * Throws LLMRTC_ERR_OPTIONS_INVALID naming the option as `${prefix}${name}`.
 */
export function resolveSegmenterOptions (
  options: SpeechSegmenterOptions | undefined,
  base: Readonly<ResolvedSegmenterOptions> = DEFAULT_SEGMENTER_OPTIONS,
  prefix = ''
): ResolvedSegmenterOptions {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    invalidOption(prefix === '' ? 'options' : prefix.slice(0, -1), 'an object', options)
  }
  const resolved = { ...base }
  for (const key of KEYS) {
    const value = options?.[key]
    if (value !== undefined) resolved[key] = value
  }
  for (const key of ['activationThreshold', 'deactivationThreshold'] as const) assertProbability(prefix + key, resolved[key])
  if (resolved.deactivationThreshold > resolved.activationThreshold) {
    invalidOption(prefix + 'deactivationThreshold', `a number <= activationThreshold (${resolved.activationThreshold})`, resolved.deactivationThreshold)
  }
  const ranges = { minSpeechMs: [0, 10_000], endOfSpeechSilenceMs: [32, 10_000], preSpeechPadMs: [0, 5_000], maxSpeechMs: [1_000, 600_000] } as const
  for (const [key, [min, max]] of Object.entries(ranges) as Array<[keyof typeof ranges, readonly [number, number]]>) {
    const value = resolved[key]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      invalidOption(prefix + key, `an integer number of milliseconds from ${min} to ${max}`, value)
    }
  }
  return resolved
}
