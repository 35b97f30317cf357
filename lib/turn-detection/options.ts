import { invalidOption } from '../config/invalid-option.js'
import { HeuristicTurnDetector } from './heuristic-turn-detector.js'
import type { ResolvedTurnDetectionOptions, TurnDetectionOptions, TurnDetector } from './types.js'

/**
 * Defaults of adaptive end of turn, without the detector (a new `HeuristicTurnDetector` each time).
 * 200 ms after a clearly finished turn is about the gap between turns in conversation; 1600 ms
 * after a clearly unfinished one covers a speaker's mid-sentence search for a word or a digit, and
 * stays short enough not to feel dead if the user really has finished.
 */
export const DEFAULT_TURN_DETECTION_OPTIONS = Object.freeze({
  minEndpointMs: 200,
  maxEndpointMs: 1600,
  dynamic: true,
  language: 'en'
})

/** Longest wait either bound may ask for, in ms. */
const MAX_ENDPOINT_MS = 10_000
const KEYS = new Set(['detector', 'minEndpointMs', 'maxEndpointMs', 'dynamic', 'language'])
const LANGUAGE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/

/**
 * Validates turn-detection options and applies the defaults; `false` (adaptive end of turn off) stays
 * false and `undefined` means all defaults. Throws LLMRTC_ERR_OPTIONS_INVALID naming the option as
 * `${prefix}${key}` (default prefix 'turnDetection.'); unknown keys are refused.
 */
export function resolveTurnDetectionOptions (
  options: TurnDetectionOptions | false | undefined,
  prefix = 'turnDetection.'
): ResolvedTurnDetectionOptions | false {
  if (options === false) return false
  const name = prefix === '' ? 'turnDetection' : prefix.slice(0, -1)
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    invalidOption(name, 'an object or false', options)
  }
  const given = options ?? {}
  for (const key of Object.keys(given)) {
    if (!KEYS.has(key)) invalidOption(prefix + key, `one of the options ${[...KEYS].join(', ')}`, 'an unknown option')
  }
  const { minEndpointMs, maxEndpointMs, dynamic, language } = { ...DEFAULT_TURN_DETECTION_OPTIONS, ...definedOf(given) }
  if (typeof minEndpointMs !== 'number' || !Number.isInteger(minEndpointMs) || minEndpointMs < 0 || minEndpointMs > MAX_ENDPOINT_MS) {
    invalidOption(prefix + 'minEndpointMs', `an integer number of milliseconds from 0 to ${MAX_ENDPOINT_MS}`, minEndpointMs)
  }
  if (typeof maxEndpointMs !== 'number' || !Number.isInteger(maxEndpointMs) || maxEndpointMs < minEndpointMs || maxEndpointMs > MAX_ENDPOINT_MS) {
    invalidOption(prefix + 'maxEndpointMs', `an integer number of milliseconds from minEndpointMs (${minEndpointMs}) to ${MAX_ENDPOINT_MS}`, maxEndpointMs)
  }
  if (typeof dynamic !== 'boolean') invalidOption(prefix + 'dynamic', 'a boolean', dynamic)
  if (typeof language !== 'string' || !LANGUAGE.test(language)) {
    invalidOption(prefix + 'language', "a BCP 47 language tag such as 'en' or 'fr-CA'", language)
  }
  const detector = given.detector ?? new HeuristicTurnDetector()
  if (!isTurnDetector(detector)) {
    invalidOption(prefix + 'detector', 'a turn detector: { name: string, predict (input): number | Promise<number>, close?() }', detector)
  }
  return { detector, minEndpointMs, maxEndpointMs, dynamic, language }
}

function definedOf (options: TurnDetectionOptions): TurnDetectionOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
}

function isTurnDetector (value: unknown): value is TurnDetector {
  if (value === null || typeof value !== 'object') return false
  const detector = value as Partial<TurnDetector>
  return typeof detector.name === 'string' && typeof detector.predict === 'function' &&
    (detector.close === undefined || typeof detector.close === 'function')
}
