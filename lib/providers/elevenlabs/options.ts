import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'

export const ELEVENLABS_DEFAULT_BASE_URL = 'https://api.elevenlabs.io'
export const ELEVENLABS_DEFAULT_MODEL = 'eleven_flash_v2_5'
/** "Sarah", a premade voice every ElevenLabs account has. */
export const ELEVENLABS_DEFAULT_VOICE_ID = 'EXAVITQu4vr4xnSDxMaL'

/** The raw PCM rates ElevenLabs produces (`output_format=pcm_<rate>`), in Hz. */
export const ELEVENLABS_SAMPLE_RATES = [16000, 22050, 24000, 44100] as const
export type ElevenLabsSampleRate = typeof ELEVENLABS_SAMPLE_RATES[number]

/** Voice settings sent when a context opens (and with every REST request). Omitted fields keep the voice's stored settings. */
export interface ElevenLabsVoiceSettings {
  /** 0..1. */
  stability?: number
  /** 0..1. */
  similarityBoost?: number
  /** 0..1. */
  style?: number
  useSpeakerBoost?: boolean
  /** 0.7..1.2 (1 is normal). `TTSConfig.speed` wins. */
  speed?: number
}

export interface ElevenLabsTTSOptions {
  /** ElevenLabs API key (the plugin reads `ELEVENLABS_API_KEY`). Sent in the `xi-api-key` header, never logged. */
  apiKey: string
  /** REST base URL (default https://api.elevenlabs.io). The WebSocket is `wss://` on the same host (`ws://` for an `http://` URL). */
  baseURL?: string
  /** Model id (default `eleven_flash_v2_5`). */
  model?: string
  /** Voice id (default `ELEVENLABS_DEFAULT_VOICE_ID`). */
  voiceId?: string
  /** ISO 639-1 language code (`language_code`), for the models that take one; unset lets the model decide. */
  language?: string
  /** Output sample rate in Hz: 16000, 22050, 24000 or 44100 (default 24000). */
  sampleRateHz?: number
  voiceSettings?: ElevenLabsVoiceSettings
  /** An utterance's context left open with no call for this long is closed, in ms (default 5000). */
  contextIdleMs?: number
  /** Contexts one WebSocket carries at once before another is opened (default 5, ElevenLabs' limit). */
  maxContextsPerSocket?: number
  /** Longest wait for the WebSocket handshake, in ms (default 10000); then the sentence goes over REST. */
  connectTimeoutMs?: number
  /** Longest wait for the REST response headers, in ms (default 15000). */
  requestTimeoutMs?: number
  /**
   * A sentence whose alignment never covers all its characters (text ElevenLabs does not speak) ends
   * this long after its last message, in ms (default 1500).
   */
  sentenceQuietMs?: number
  /** Further attempts after a retryable failure before any audio (default 2). */
  retries?: number
  /** First retry backoff in ms, doubled each time (default 200). */
  retryDelayMs?: number
}

/** The options with their defaults, checked. */
export interface ResolvedOptions extends Required<Omit<ElevenLabsTTSOptions, 'language' | 'voiceSettings' | 'sampleRateHz'>> {
  language: string | undefined
  voiceSettings: ElevenLabsVoiceSettings
  sampleRateHz: ElevenLabsSampleRate
}

/** Checks `options` (throws LLMRTC_ERR_OPTIONS_*) and fills in the defaults. */
export function resolveOptions (options: ElevenLabsTTSOptions): ResolvedOptions {
  if (typeof options?.apiKey !== 'string' || options.apiKey === '') {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('ElevenLabs API key', 'apiKey', 'ELEVENLABS_API_KEY')
  }
  const baseURL = options.baseURL ?? ELEVENLABS_DEFAULT_BASE_URL
  if (!/^https?:\/\/[^/]/.test(baseURL)) throw new LLMRTC_ERR_OPTIONS_INVALID('baseURL', 'an http(s) URL', JSON.stringify(baseURL))
  const rate = options.sampleRateHz ?? 24000
  if (!(ELEVENLABS_SAMPLE_RATES as readonly number[]).includes(rate)) {
    throw new LLMRTC_ERR_OPTIONS_INVALID('sampleRateHz', `one of ${ELEVENLABS_SAMPLE_RATES.join(', ')}`, String(rate))
  }
  const voiceSettings = options.voiceSettings ?? {}
  if (voiceSettings === null || typeof voiceSettings !== 'object') throw new LLMRTC_ERR_OPTIONS_INVALID('voiceSettings', 'an object', String(voiceSettings))
  return {
    apiKey: options.apiKey,
    baseURL,
    model: text(options.model, 'model') ?? ELEVENLABS_DEFAULT_MODEL,
    voiceId: text(options.voiceId, 'voiceId') ?? ELEVENLABS_DEFAULT_VOICE_ID,
    language: text(options.language, 'language'),
    sampleRateHz: rate as ElevenLabsSampleRate,
    voiceSettings,
    contextIdleMs: count(options.contextIdleMs, 'contextIdleMs', 5000),
    maxContextsPerSocket: count(options.maxContextsPerSocket, 'maxContextsPerSocket', 5, 1),
    connectTimeoutMs: count(options.connectTimeoutMs, 'connectTimeoutMs', 10_000, 1),
    requestTimeoutMs: count(options.requestTimeoutMs, 'requestTimeoutMs', 15_000, 1),
    sentenceQuietMs: count(options.sentenceQuietMs, 'sentenceQuietMs', 1500, 1),
    retries: count(options.retries, 'retries', 2),
    retryDelayMs: count(options.retryDelayMs, 'retryDelayMs', 200)
  }
}

/** ElevenLabs' snake_case `voice_settings`, or undefined when nothing is set. */
export function wireVoiceSettings (settings: ElevenLabsVoiceSettings, speed: number | undefined): Record<string, number | boolean> | undefined {
  const wire: Record<string, number | boolean> = {}
  if (settings.stability !== undefined) wire.stability = settings.stability
  if (settings.similarityBoost !== undefined) wire.similarity_boost = settings.similarityBoost
  if (settings.style !== undefined) wire.style = settings.style
  if (settings.useSpeakerBoost !== undefined) wire.use_speaker_boost = settings.useSpeakerBoost
  const chosenSpeed = speed ?? settings.speed
  if (chosenSpeed !== undefined) wire.speed = chosenSpeed
  return Object.keys(wire).length > 0 ? wire : undefined
}

function text (value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new LLMRTC_ERR_OPTIONS_INVALID(name, 'a non-empty string', JSON.stringify(value))
  return value
}

function count (value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new LLMRTC_ERR_OPTIONS_INVALID(name, min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`, String(value))
  }
  return value
}
