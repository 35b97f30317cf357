import type { DeepgramClient } from '@deepgram/sdk'
import type { LLMRTCEnv } from '../../config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'
import { once } from '../lazy-module.js'
import { loadDeepgramSDK } from './sdk.js'

/** Options of `DeepgramSTT` and `DeepgramTTS`. Only `apiKey` is required. */
export interface DeepgramOptions {
  /** Deepgram API key, sent as `Authorization: Token <key>` (secret: never logged). */
  apiKey: string
  /**
   * Base URL of the API (default https://api.deepgram.com). The live WebSocket uses the same host with
   * `ws:`/`wss:` (http → ws, https → wss), so a local mock or a self-hosted Deepgram works for both.
   */
  baseUrl?: string
  /** STT model (default nova-3). */
  model?: string
  /** STT language, BCP-47 (default en). */
  language?: string
  /** Aura voice model for TTS (default aura-2-thalia-en). */
  ttsModel?: string
  /** Sample rate of the TTS PCM, in Hz (default 24000, Aura's native rate). */
  ttsSampleRateHz?: number
  /** Apply Deepgram's smart formatting and punctuation to transcripts (default true). */
  smartFormat?: boolean
  /**
   * Live STT keepalive period in ms (default 3000): a KeepAlive goes out at each tick that saw no audio, so
   * the socket is never silent for more than twice this (Deepgram closes after 10 s without data).
   */
  keepAliveIntervalMs?: number
  /** Deadline to open the live WebSocket, in ms (default 5000). */
  connectTimeoutMs?: number
  /** After the end of input (Finalize + CloseStream): deadline for the last results and the close, in ms (default 5000). */
  finalizeTimeoutMs?: number
  /** Deadline of a REST call (a prerecorded transcription; a TTS request until its audio starts), in ms (default 15000). */
  requestTimeoutMs?: number
  /** Further attempts after a retryable failure (connection error, 408, 429, 5xx) before any output (default 2). */
  maxRetries?: number
  /** First retry backoff in ms, doubled each time (default 200). */
  retryBaseDelayMs?: number
}

export type ResolvedDeepgramOptions = Required<DeepgramOptions>

export const DEEPGRAM_DEFAULTS = {
  baseUrl: 'https://api.deepgram.com',
  model: 'nova-3',
  language: 'en',
  ttsModel: 'aura-2-thalia-en',
  ttsSampleRateHz: 24000,
  smartFormat: true,
  keepAliveIntervalMs: 3000,
  connectTimeoutMs: 5000,
  finalizeTimeoutMs: 5000,
  requestTimeoutMs: 15000,
  maxRetries: 2,
  retryBaseDelayMs: 200
} as const

/** Applies defaults and validates. Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET or LLMRTC_ERR_OPTIONS_INVALID. */
export function resolveDeepgramOptions (options: DeepgramOptions): ResolvedDeepgramOptions {
  if (typeof options?.apiKey !== 'string' || options.apiKey === '') {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Deepgram API key', 'apiKey', 'DEEPGRAM_API_KEY')
  }
  const o: ResolvedDeepgramOptions = { ...DEEPGRAM_DEFAULTS, ...withoutUndefined(options), apiKey: options.apiKey }
  if (!/^https?:\/\/[^/]/.test(o.baseUrl)) invalid('baseUrl', 'an http(s) URL', o.baseUrl)
  for (const name of ['model', 'language', 'ttsModel'] as const) {
    if (typeof o[name] !== 'string' || o[name] === '') invalid(name, 'a non-empty string', o[name])
  }
  if (typeof o.smartFormat !== 'boolean') invalid('smartFormat', 'a boolean', o.smartFormat)
  for (const name of ['ttsSampleRateHz', 'keepAliveIntervalMs', 'connectTimeoutMs', 'finalizeTimeoutMs', 'requestTimeoutMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) invalid(name, 'a positive integer', o[name])
  }
  for (const name of ['maxRetries', 'retryBaseDelayMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 0) invalid(name, 'an integer >= 0', o[name])
  }
  return o
}

/** Options from the environment (DEEPGRAM_API_KEY, DEEPGRAM_BASE_URL, DEEPGRAM_MODEL, DEEPGRAM_LANGUAGE, DEEPGRAM_TTS_MODEL). */
export function deepgramOptionsFromEnv (env: LLMRTCEnv): DeepgramOptions {
  return {
    apiKey: env.DEEPGRAM_API_KEY ?? '',
    baseUrl: env.DEEPGRAM_BASE_URL,
    model: env.DEEPGRAM_MODEL,
    language: env.DEEPGRAM_LANGUAGE,
    ttsModel: env.DEEPGRAM_TTS_MODEL
  }
}

/**
 * The SDK client. `environment` (not `baseUrl`, which the SDK would use for the WebSocket too) gives the
 * REST base and the live WebSocket's ws(s) origin. The SDK's own retries are off (`maxRetries: 0`):
 * their backoff ignores abort signals, so llmrtc's retry (lib/providers/retry.ts) is the only layer.
 * Made on the first call, once the SDK loaded; later calls share it.
 */
export function lazyDeepgramClient (o: ResolvedDeepgramOptions): () => Promise<DeepgramClient> {
  const base = o.baseUrl.replace(/\/+$/, '')
  const ws = base.replace(/^http/, 'ws')
  return once(async () => {
    const { DeepgramClient } = await loadDeepgramSDK()
    return new DeepgramClient({
      apiKey: o.apiKey,
      environment: { base, production: ws, agent: ws, agentRest: base },
      maxRetries: 0
    })
  })
}

/**
 * The SDK's own per-request timeout, set just past llmrtc's deadline so llmrtc's fires first (and is
 * reported as a timeout). It must be short: the SDK arms a ref'd timer per request and clears it only
 * when the response arrives, so after an abort (barge-in) it keeps the event loop alive until it fires.
 */
export function sdkTimeoutSeconds (requestTimeoutMs: number): number {
  return requestTimeoutMs / 1000 + 1
}

function withoutUndefined<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid (name: string, expected: string, got: unknown): never {
  throw new LLMRTC_ERR_OPTIONS_INVALID(`deepgram.${name}`, expected, typeof got === 'string' ? JSON.stringify(got) : String(got))
}
