import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../../errors.js'
import { OPENAI_DEFAULT_BASE_URL } from '../client.js'

/**
 * The transcription models OpenAI's realtime API accepts in a transcription session. Validated only
 * against api.openai.com: a compatible server (vLLM's /v1/realtime) names its own models.
 */
export const OPENAI_REALTIME_TRANSCRIPTION_MODELS = [
  'gpt-4o-mini-transcribe',
  'gpt-4o-mini-transcribe-2025-12-15',
  'gpt-4o-transcribe',
  'whisper-1',
  'gpt-realtime-whisper',
  'gpt-live-transcribe'
] as const

/** Options of `OpenAIRealtimeSTT`. Only `apiKey` is required. */
export interface OpenAIRealtimeSTTOptions {
  /** OpenAI API key, sent as `Authorization: Bearer <key>` on the WebSocket upgrade (secret: never logged). */
  apiKey: string
  /**
   * Base URL of the API including `/v1` (default https://api.openai.com/v1). The WebSocket goes to its
   * `/realtime?intent=transcription` with `ws:` for `http:` and `wss:` for `https:`.
   */
  baseURL?: string
  /** Transcription model (default gpt-4o-mini-transcribe); one of OPENAI_REALTIME_TRANSCRIPTION_MODELS on api.openai.com. */
  model?: string
  /** ISO-639-1 language of the speech (e.g. `en`). Default: detected. */
  language?: string
  /** Text that guides the model (keywords for whisper-1; not supported by gpt-realtime-whisper). */
  prompt?: string
  /** Deadline to open the WebSocket, in ms (default 5000). */
  connectTimeoutMs?: number
  /** After the commit at the end of speech: deadline for the final transcript, in ms (default 10000). */
  finalizeTimeoutMs?: number
  /** Further connection attempts after a retryable failure (429, 5xx, connection refused) (default 2). */
  maxRetries?: number
  /** First retry backoff in ms, doubled each time (default 200). */
  retryBaseDelayMs?: number
}

export interface ResolvedOpenAIRealtimeSTTOptions extends Required<Omit<OpenAIRealtimeSTTOptions, 'language' | 'prompt'>> {
  language: string | undefined
  prompt: string | undefined
}

export const OPENAI_REALTIME_STT_DEFAULTS = {
  baseURL: OPENAI_DEFAULT_BASE_URL,
  model: 'gpt-4o-mini-transcribe',
  connectTimeoutMs: 5000,
  finalizeTimeoutMs: 10_000,
  maxRetries: 2,
  retryBaseDelayMs: 200
} as const

/** Applies defaults and validates. Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET or LLMRTC_ERR_OPTIONS_INVALID. */
export function resolveOpenAIRealtimeSTTOptions (options: OpenAIRealtimeSTTOptions): ResolvedOpenAIRealtimeSTTOptions {
  if (typeof options?.apiKey !== 'string' || options.apiKey === '') {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('OpenAI API key for the realtime STT', 'apiKey', 'OPENAI_API_KEY')
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<OpenAIRealtimeSTTOptions>
  const o: ResolvedOpenAIRealtimeSTTOptions = { ...OPENAI_REALTIME_STT_DEFAULTS, language: undefined, prompt: undefined, ...defined, apiKey: options.apiKey }
  if (!/^https?:\/\/[^/]/.test(o.baseURL)) invalid('baseURL', 'an http(s) URL', o.baseURL)
  if (typeof o.model !== 'string' || o.model === '') invalid('model', 'a non-empty string', o.model)
  if (isOfficial(o.baseURL) && !(OPENAI_REALTIME_TRANSCRIPTION_MODELS as readonly string[]).includes(o.model)) {
    invalid('model', `one of ${OPENAI_REALTIME_TRANSCRIPTION_MODELS.join(', ')}`, o.model)
  }
  for (const name of ['language', 'prompt'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'string') invalid(name, 'a string', o[name])
  }
  if (o.prompt !== undefined && o.model === 'gpt-realtime-whisper') invalid('prompt', 'no prompt (gpt-realtime-whisper takes none)', o.prompt)
  for (const name of ['connectTimeoutMs', 'finalizeTimeoutMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) invalid(name, 'a positive integer', o[name])
  }
  for (const name of ['maxRetries', 'retryBaseDelayMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 0) invalid(name, 'an integer >= 0', o[name])
  }
  return o
}

/** The transcription WebSocket's URL for `baseURL`: `…/v1/realtime?intent=transcription` (no `model`). */
export function realtimeTranscriptionUrl (baseURL: string): URL {
  const url = new URL(`${baseURL.replace(/\/+$/, '')}/realtime`)
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:'
  url.searchParams.set('intent', 'transcription')
  return url
}

function isOfficial (baseURL: string): boolean {
  return baseURL.replace(/\/+$/, '') === OPENAI_DEFAULT_BASE_URL
}

function invalid (name: string, expected: string, got: unknown): never {
  throw new LLMRTC_ERR_OPTIONS_INVALID(`openai-realtime.${name}`, expected, typeof got === 'string' ? JSON.stringify(got) : String(got))
}
