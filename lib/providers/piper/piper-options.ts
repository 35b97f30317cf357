import type { LLMRTCEnv } from '../../config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'

/**
 * Which Piper HTTP server `url` points at:
 * - `piper1`: `python3 -m piper.http_server` of OHF-Voice/piper1-gpl (pip `piper-tts[http]`): JSON
 *   `{ text, voice?, speaker?, speaker_id?, length_scale?, noise_scale?, noise_w_scale? }` posted to `/`
 *   (release 1.3) or `/synthesize` (later versions, where `GET /` is a web page): `/` is tried first and
 *   a 404/405 switches to `/synthesize` for the provider's lifetime.
 * - `rhasspy`: the older rhasspy/piper `http_server`: the text itself is the body of `POST /`; voice,
 *   speaker and scales are the server's own command-line settings.
 */
export type PiperApi = 'piper1' | 'rhasspy'

/** Options of `PiperTTS`. Only `url` is required. */
export interface PiperTTSOptions {
  /** Base URL of the Piper HTTP server, e.g. http://127.0.0.1:5000. */
  url: string
  /** Which server speaks at `url` (default piper1). */
  api?: PiperApi
  /** Voice name (a downloaded model, e.g. en_US-lessac-medium); default: the server's `-m` voice. */
  voice?: string
  /** Speaker name of a multi-speaker voice. */
  speaker?: string
  /** Speaker id of a multi-speaker voice (wins over `speaker`). */
  speakerId?: number
  /** Phoneme length: above 1 speaks slower (default: the voice's). */
  lengthScale?: number
  /** Generator noise (default: the voice's). */
  noiseScale?: number
  /** Phoneme width noise (default: the voice's). */
  noiseWScale?: number
  /**
   * Sample rate of `speakStream`'s PCM, in Hz (default 22050, the rate of Piper's medium and high voices).
   * WAV at another rate (low voices: 16000) is resampled to it.
   */
  sampleRateHz?: number
  /** Deadline of one request (a sentence), in ms (default 15000: Piper synthesises on the server's CPU). */
  requestTimeoutMs?: number
  /** Further attempts after a retryable failure (connection refused, 5xx) before any audio (default 2). */
  maxRetries?: number
  /** First retry backoff in ms, doubled each time (default 200). */
  retryBaseDelayMs?: number
}

type Optional = 'voice' | 'speaker' | 'speakerId' | 'lengthScale' | 'noiseScale' | 'noiseWScale'
export type ResolvedPiperOptions = Required<Omit<PiperTTSOptions, Optional>> & Pick<PiperTTSOptions, Optional>

export const PIPER_DEFAULTS = {
  api: 'piper1',
  sampleRateHz: 22050,
  requestTimeoutMs: 15000,
  maxRetries: 2,
  retryBaseDelayMs: 200
} as const

/** Applies defaults and validates. Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET (no url) or LLMRTC_ERR_OPTIONS_INVALID. */
export function resolvePiperOptions (options: PiperTTSOptions): ResolvedPiperOptions {
  if (typeof options?.url !== 'string' || options.url === '') {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Piper server URL', 'url', 'PIPER_URL')
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<PiperTTSOptions>
  const o: ResolvedPiperOptions = { ...PIPER_DEFAULTS, ...defined, url: options.url.replace(/\/+$/, '') }
  if (!/^https?:\/\/[^/]/.test(o.url)) invalid('url', 'an http(s) URL', o.url)
  if (o.api !== 'piper1' && o.api !== 'rhasspy') invalid('api', 'piper1 or rhasspy', o.api)
  for (const name of ['voice', 'speaker'] as const) {
    if (o[name] !== undefined && (typeof o[name] !== 'string' || o[name] === '')) invalid(name, 'a non-empty string', o[name])
  }
  if (o.speakerId !== undefined && (!Number.isInteger(o.speakerId) || o.speakerId < 0)) invalid('speakerId', 'an integer >= 0', o.speakerId)
  for (const name of ['lengthScale', 'noiseScale', 'noiseWScale'] as const) {
    const value = o[name]
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) invalid(name, 'a positive number', value)
  }
  for (const name of ['sampleRateHz', 'requestTimeoutMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) invalid(name, 'a positive integer', o[name])
  }
  for (const name of ['maxRetries', 'retryBaseDelayMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 0) invalid(name, 'an integer >= 0', o[name])
  }
  return o
}

/** Options from the environment (PIPER_URL, PIPER_VOICE). */
export function piperOptionsFromEnv (env: LLMRTCEnv): PiperTTSOptions {
  return { url: env.PIPER_URL ?? '', voice: env.PIPER_VOICE }
}

function invalid (name: string, expected: string, got: unknown): never {
  throw new LLMRTC_ERR_OPTIONS_INVALID(`piper.${name}`, expected, typeof got === 'string' ? JSON.stringify(got) : String(got))
}
