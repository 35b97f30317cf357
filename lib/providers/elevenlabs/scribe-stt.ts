import type { ElevenLabsClient } from '@elevenlabs/elevenlabs-js'
import type { LLMRTCEnv } from '../../config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'
import type { STTConfig, STTProvider, STTResult } from '../types.js'
import { transcribeBatch } from './scribe-batch.js'
import { ELEVENLABS } from './scribe-errors.js'
import { isScribePcmRate, transcribeRealtime } from './scribe-realtime.js'
import { lazyElevenLabsClient, loadElevenLabsSDK } from './sdk.js'

/** Options of `ElevenLabsSTT` (Scribe). Only `apiKey` is required. */
export interface ElevenLabsSTTOptions {
  /** ElevenLabs API key, sent as `xi-api-key` (secret: never logged). */
  apiKey: string
  /** Base URL of the API (default https://api.elevenlabs.io); the realtime socket uses its ws(s) form. */
  baseURL?: string
  /** Batch model of `transcribe` (default scribe_v1). */
  model?: string
  /** Realtime model of `transcribeStream` (default scribe_v2_realtime). */
  realtimeModel?: string
  /** ISO-639-1/3 language code (default: none, Scribe detects the language). */
  language?: string
  /** Deadline to open the realtime socket and start the session, in ms (default 5000). */
  connectTimeoutMs?: number
  /** After the end of input: deadline for the committed transcript, in ms (default 5000). */
  commitTimeoutMs?: number
  /** Deadline of a batch transcription, in ms (default 15000). */
  requestTimeoutMs?: number
  /** Further attempts after a retryable failure (connection error, 408, 429, 5xx) before any output (default 2). */
  maxRetries?: number
  /** First retry backoff in ms, doubled each time (default 200). */
  retryBaseDelayMs?: number
}

type ResolvedScribeOptions = Required<Omit<ElevenLabsSTTOptions, 'language'>> & { language: string | undefined }

export const ELEVENLABS_STT_DEFAULTS = {
  baseURL: 'https://api.elevenlabs.io',
  model: 'scribe_v1',
  realtimeModel: 'scribe_v2_realtime',
  connectTimeoutMs: 5000,
  commitTimeoutMs: 5000,
  requestTimeoutMs: 15000,
  maxRetries: 2,
  retryBaseDelayMs: 200
} as const

/** Sample rate of the streamed input, in Hz: the pipeline's speech rate, sent as-is (`pcm_16000`). */
const INPUT_SAMPLE_RATE_HZ = 16000

/**
 * ElevenLabs Scribe speech-to-text. `transcribeStream` streams 16 kHz s16le mono over Scribe's
 * realtime WebSocket with manual commits: llmrtc's VAD decides when the utterance ends, then the input
 * ends and one commit asks for the final transcript. `transcribe` posts a whole utterance (WAV) to the
 * batch endpoint: the fallback when streaming STT is off.
 */
export class ElevenLabsSTT implements STTProvider {
  readonly name = ELEVENLABS
  readonly streamingInputSampleRate = INPUT_SAMPLE_RATE_HZ
  readonly #o: ResolvedScribeOptions
  readonly #client: () => Promise<ElevenLabsClient>

  /** Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET without `apiKey`, LLMRTC_ERR_OPTIONS_INVALID on a bad option. */
  constructor (options: ElevenLabsSTTOptions) {
    this.#o = resolveElevenLabsSTTOptions(options)
    // The SDK's retries are off: their backoff ignores abort signals; llmrtc's retry is the only layer.
    this.#client = lazyElevenLabsClient(this.#o.apiKey, this.#o.baseURL)
  }

  /** Loads the SDK when the provider is chosen, not in the first turn. */
  async init (): Promise<void> {
    await loadElevenLabsSDK()
  }

  async transcribe (audio: Buffer, config: STTConfig = {}): Promise<STTResult> {
    const o = this.#o
    return await transcribeBatch(await this.#client(), audio, {
      model: config.model ?? o.model,
      language: config.language ?? o.language,
      requestTimeoutMs: o.requestTimeoutMs,
      maxRetries: o.maxRetries,
      retryBaseDelayMs: o.retryBaseDelayMs
    }, config.signal)
  }

  transcribeStream (audio: AsyncIterable<Buffer>, config: STTConfig = {}): AsyncIterable<STTResult> {
    const o = this.#o
    const sampleRateHz = config.sampleRateHz ?? INPUT_SAMPLE_RATE_HZ
    if (!isScribePcmRate(sampleRateHz)) invalid('sampleRateHz', 'one of 8000, 16000, 22050, 24000, 44100, 48000', sampleRateHz)
    return transcribeRealtime(this.#client, audio, {
      model: config.model ?? o.realtimeModel,
      language: config.language ?? o.language,
      sampleRateHz,
      interimResults: config.interimResults !== false,
      connectTimeoutMs: o.connectTimeoutMs,
      commitTimeoutMs: o.commitTimeoutMs,
      maxRetries: o.maxRetries,
      retryBaseDelayMs: o.retryBaseDelayMs
    }, config.signal)
  }
}

/** Applies defaults and validates. Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET or LLMRTC_ERR_OPTIONS_INVALID. */
export function resolveElevenLabsSTTOptions (options: ElevenLabsSTTOptions): ResolvedScribeOptions {
  if (typeof options?.apiKey !== 'string' || options.apiKey === '') {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('ElevenLabs API key', 'apiKey', 'ELEVENLABS_API_KEY')
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<ElevenLabsSTTOptions>
  const o: ResolvedScribeOptions = { ...ELEVENLABS_STT_DEFAULTS, language: undefined, ...defined, apiKey: options.apiKey }
  if (!/^https?:\/\/[^/]/.test(o.baseURL)) invalid('baseURL', 'an http(s) URL', o.baseURL)
  for (const name of ['model', 'realtimeModel'] as const) {
    if (typeof o[name] !== 'string' || o[name] === '') invalid(name, 'a non-empty string', o[name])
  }
  if (o.language !== undefined && (typeof o.language !== 'string' || o.language === '')) invalid('language', 'a non-empty string', o.language)
  for (const name of ['connectTimeoutMs', 'commitTimeoutMs', 'requestTimeoutMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) invalid(name, 'a positive integer', o[name])
  }
  for (const name of ['maxRetries', 'retryBaseDelayMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 0) invalid(name, 'an integer >= 0', o[name])
  }
  return o
}

/** Options from the environment (ELEVENLABS_API_KEY, ELEVENLABS_BASE_URL, ELEVENLABS_STT_MODEL, ELEVENLABS_LANGUAGE). */
export function elevenLabsSTTOptionsFromEnv (env: LLMRTCEnv): ElevenLabsSTTOptions {
  return {
    apiKey: env.ELEVENLABS_API_KEY ?? '',
    baseURL: env.ELEVENLABS_BASE_URL,
    model: env.ELEVENLABS_STT_MODEL,
    language: env.ELEVENLABS_LANGUAGE
  }
}

function invalid (name: string, expected: string, got: unknown): never {
  throw new LLMRTC_ERR_OPTIONS_INVALID(`elevenlabs.stt.${name}`, expected, typeof got === 'string' ? JSON.stringify(got) : String(got))
}
