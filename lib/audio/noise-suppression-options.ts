import { invalidOption } from '../config/invalid-option.js'

/** The `noiseSuppression` option as an object: RNNoise on, with these settings. */
export interface NoiseSuppressionOptions {
  /**
   * Also denoise microphone audio that arrives below 48 kHz (8 kHz phone calls, 16 kHz devices) by
   * upsampling it to 48 kHz for RNNoise (default false: such audio reaches the VAD as it is). RNNoise is
   * trained on 48 kHz audio; docs/noise-suppression.md has what it does to phone audio.
   */
  upsample?: boolean
}

/** Noise suppression is on, with these settings. */
export interface ResolvedNoiseSuppression {
  upsample: boolean
}

/** The keys of NoiseSuppressionOptions (unknown ones are refused). */
export const NOISE_SUPPRESSION_KEYS: Record<keyof NoiseSuppressionOptions, true> = { upsample: true }

/** Off unless asked for. */
export const DEFAULT_NOISE_SUPPRESSION = false

/**
 * The `noiseSuppression` option (a boolean or an object), else env NOISE_SUPPRESSION, else off.
 * Throws LLMRTC_ERR_OPTIONS_INVALID for anything else.
 */
export function resolveNoiseSuppression (option: unknown, env: boolean | undefined): ResolvedNoiseSuppression | false {
  const value = option ?? env ?? DEFAULT_NOISE_SUPPRESSION
  if (value === false) return false
  if (value === true) return { upsample: false }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidOption('noiseSuppression', 'a boolean, or { upsample?: boolean }', value)
  const { upsample = false } = value as NoiseSuppressionOptions
  if (typeof upsample !== 'boolean') invalidOption('noiseSuppression.upsample', 'a boolean', upsample)
  return { upsample }
}
