import { encodeWav } from '../../audio/wav.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'
import { retryBeforeOutput } from '../retry.js'
import type { TTSConfig, TTSProvider, TTSResult, TTSStreamEvent } from '../types.js'
import { CartesiaConnection } from './cartesia-connection.js'
import { ContextTable, type UtteranceContext } from './cartesia-contexts.js'
import { CARTESIA_SAMPLE_RATES, webSocketURL, type CartesiaSampleRate, type GenerationFields } from './cartesia-protocol.js'
import { CartesiaREST } from './cartesia-rest.js'
import { speakOnContext } from './cartesia-stream.js'
import { loadCartesiaSDK } from './sdk.js'

export const CARTESIA_DEFAULT_BASE_URL = 'https://api.cartesia.ai'
export const CARTESIA_DEFAULT_MODEL = 'sonic-2'
/** "Katie", the voice Cartesia's own voice-agent quickstart uses. */
export const CARTESIA_DEFAULT_VOICE_ID = 'f786b574-daa5-4673-aa0c-cbe3e8534c02'

export interface CartesiaTTSOptions {
  /** Cartesia API key (the plugin reads `CARTESIA_API_KEY`). Sent in a header, never logged. */
  apiKey: string
  /** REST base URL (default https://api.cartesia.ai). The WebSocket is `wss://` on the same host (`ws://` for an `http://` URL). */
  baseURL?: string
  /** Model id (default `sonic-2`). */
  model?: string
  /** Voice id (default `CARTESIA_DEFAULT_VOICE_ID`). */
  voiceId?: string
  /** Language of the text (default `en`). */
  language?: string
  /** Output sample rate in Hz: 8000, 16000, 22050, 24000, 44100 or 48000 (default 24000). */
  sampleRateHz?: number
  /** An utterance's context left open with no call for this long is closed, in ms (default 5000). */
  contextIdleMs?: number
  /** Longest wait for the WebSocket handshake, in ms (default 10000). */
  connectTimeoutMs?: number
  /** Further attempts after a retryable failure before any audio (default 2). */
  retries?: number
  /** First retry backoff in ms, doubled each time (default 200). */
  retryDelayMs?: number
}

/**
 * Cartesia text to speech. `speakStream` runs over one persistent WebSocket (opened on first use,
 * opened again after a drop, closed by `close()`), one Cartesia context per utterance: the sentences
 * of a turn, given the turn id as `contextId`, continue one generation so prosody flows between them.
 * It yields raw PCM s16le at `pcmSampleRate` and word timings (ms from the sentence's audio start).
 * `speak` synthesizes a whole text over REST `/tts/bytes`.
 *
 * The WebSocket protocol is spoken with `ws` directly rather than through the SDK's `tts.websocket()`
 * (4.2, its CommonJS build, checked against the mock): `context.receive()` waits forever when the
 * connection drops mid-stream (the SDK never watches `close`); after a drop, the SDK's silent reconnect
 * inside `send()` discards the new context's queue, so `receive()` ends with no audio and no error; and
 * a server error reaches `receive()` as a bare message, its status and error code only on a
 * connection-wide event. Its ESM build cannot load `ws` on Node 20 at all.
 */
export class CartesiaTTS implements TTSProvider {
  readonly name = 'cartesia'
  readonly pcmSampleRate: CartesiaSampleRate
  readonly #connection: CartesiaConnection
  readonly #contexts: ContextTable
  readonly #rest: CartesiaREST
  readonly #model: string
  readonly #voiceId: string
  readonly #language: string
  readonly #retries: number
  readonly #retryDelayMs: number
  #closed = false

  constructor (options: CartesiaTTSOptions) {
    if (typeof options?.apiKey !== 'string' || options.apiKey === '') {
      throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Cartesia API key', 'apiKey', 'CARTESIA_API_KEY')
    }
    const baseURL = options.baseURL ?? CARTESIA_DEFAULT_BASE_URL
    if (!/^https?:\/\/[^/]/.test(baseURL)) throw new LLMRTC_ERR_OPTIONS_INVALID('baseURL', 'an http(s) URL', JSON.stringify(baseURL))
    const rate = options.sampleRateHz ?? 24000
    if (!(CARTESIA_SAMPLE_RATES as readonly number[]).includes(rate)) {
      throw new LLMRTC_ERR_OPTIONS_INVALID('sampleRateHz', `one of ${CARTESIA_SAMPLE_RATES.join(', ')}`, String(rate))
    }
    this.pcmSampleRate = rate as CartesiaSampleRate
    this.#model = text(options.model, 'model') ?? CARTESIA_DEFAULT_MODEL
    this.#voiceId = text(options.voiceId, 'voiceId') ?? CARTESIA_DEFAULT_VOICE_ID
    this.#language = text(options.language, 'language') ?? 'en'
    this.#retries = count(options.retries, 'retries', 2)
    this.#retryDelayMs = count(options.retryDelayMs, 'retryDelayMs', 200)
    this.#connection = new CartesiaConnection({ url: webSocketURL(baseURL), apiKey: options.apiKey, connectTimeoutMs: count(options.connectTimeoutMs, 'connectTimeoutMs', 10_000) })
    this.#contexts = new ContextTable(count(options.contextIdleMs, 'contextIdleMs', 5000), (context) => { this.#end(context) })
    this.#rest = new CartesiaREST({ apiKey: options.apiKey, baseURL, maxRetries: this.#retries })
  }

  /** Loads the SDK (for `speak` over REST) when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadCartesiaSDK()
  }

  /** The whole text over REST: WAV by default, raw PCM for `format: 'pcm'`, MP3 for `format: 'mp3'`. */
  async speak (text: string, config: TTSConfig = {}): Promise<TTSResult> {
    config.signal?.throwIfAborted()
    const mp3 = config.format === 'mp3'
    const audio = await this.#rest.bytes(this.#fields(config), text, mp3, config.signal)
    if (mp3) return { audio, format: 'mp3' }
    if (config.format === 'pcm') return { audio, format: 'pcm', sampleRate: this.pcmSampleRate }
    return { audio: encodeWav(audio, this.pcmSampleRate), format: 'wav', sampleRate: this.pcmSampleRate }
  }

  /**
   * Streams `text`'s speech. With `contextId`, continues that utterance's context; `continuation: false`
   * ends it (an empty text only ends it). Retries retryable failures before the first audio. An aborted
   * call cancels its context at Cartesia and ends quietly.
   */
  async * speakStream (text: string, config: TTSConfig = {}): AsyncIterable<TTSStreamEvent> {
    if (config.signal?.aborted === true) return
    yield * retryBeforeOutput(() => this.#speakOnce(text, config), { retries: this.#retries, baseDelayMs: this.#retryDelayMs, signal: config.signal })
  }

  /** Ends open contexts and closes the WebSocket. Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const context of this.#contexts.clear()) this.#end(context)
    await this.#connection.close()
  }

  async * #speakOnce (text: string, config: TTSConfig): AsyncIterable<TTSStreamEvent> {
    const key = config.contextId
    const last = key === undefined || config.continuation === false
    const unlock = key === undefined ? undefined : await this.#contexts.lock(key)
    try {
      if (text.trim() === '') {
        if (key !== undefined && last) this.#contexts.finish(key)
        return
      }
      await this.#connection.open(config.signal)
      const context = this.#contexts.acquire(key, this.#connection.generation, this.#fields(config))
      try {
        yield * speakOnContext(this.#connection, context, text, last, config.signal)
      } finally {
        this.#contexts.release(context)
      }
    } catch (error) {
      if (config.signal?.aborted === true) return
      throw error
    } finally {
      unlock?.()
    }
  }

  #fields (config: TTSConfig): GenerationFields {
    const fields: GenerationFields = {
      model_id: config.model ?? this.#model,
      voice: { mode: 'id', id: config.voice ?? this.#voiceId },
      output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: this.pcmSampleRate },
      language: this.#language,
      add_timestamps: true
    }
    if (config.speed !== undefined) fields.generation_config = { speed: config.speed }
    return fields
  }

  /** Tells Cartesia the context takes no more input (an empty transcript with `continue: false`). */
  #end (context: UtteranceContext): void {
    context.open = false
    if (!this.#connection.isOpen || this.#connection.generation !== context.generation) return
    try {
      this.#connection.send({ ...context.fields, context_id: context.serverId, transcript: '', continue: false })
    } catch {
      // Closed in between: the context went with the connection.
    }
  }
}

function text (value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new LLMRTC_ERR_OPTIONS_INVALID(name, 'a non-empty string', JSON.stringify(value))
  return value
}

function count (value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new LLMRTC_ERR_OPTIONS_INVALID(name, 'a non-negative integer', String(value))
  return value
}
