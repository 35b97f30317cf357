import { encodeWav } from '../../audio/wav.js'
import { retryBeforeOutput } from '../retry.js'
import type { TTSConfig, TTSProvider, TTSResult, TTSStreamEvent } from '../types.js'
import { ElevenLabsError } from './errors.js'
import { resolveOptions, wireVoiceSettings, type ElevenLabsSampleRate, type ElevenLabsTTSOptions, type ResolvedOptions } from './options.js'
import { ElevenLabsREST } from './tts-rest.js'
import { speakSentence } from './tts-sentence.js'
import { multiStreamURL, SocketPool, type ElevenLabsSocket } from './tts-websocket.js'
import { UtteranceTable, newServerId, openUtterance } from './utterances.js'
import { loadElevenLabsSDK } from './sdk.js'

/**
 * ElevenLabs text to speech. `speakStream` runs over the multi-context input-streaming WebSocket
 * (`multi-stream-input`), one ElevenLabs context per utterance: the sentences of a turn, given the turn
 * id as `contextId`, continue one generation so prosody flows between them. Sockets are opened on first
 * use (one per voice, model and format, up to five contexts each) and closed by `close()`. It yields
 * raw PCM s16le at `pcmSampleRate` and word timings (ms from the sentence's audio start) built from
 * ElevenLabs' character alignment. When the WebSocket cannot be opened (anything but a refused key),
 * the sentence is spoken over REST `/stream` instead, without word timings. `speak` uses REST.
 *
 * The WebSocket is spoken with `ws` directly: the official SDK (`@elevenlabs/elevenlabs-js` 2.x) has
 * REST text to speech and a realtime speech-to-text socket, but no text-to-speech input streaming.
 */
export class ElevenLabsTTS implements TTSProvider {
  readonly name = 'elevenlabs'
  readonly pcmSampleRate: ElevenLabsSampleRate
  readonly #o: ResolvedOptions
  readonly #pool: SocketPool
  readonly #utterances: UtteranceTable
  readonly #rest: ElevenLabsREST
  #closed = false

  constructor (options: ElevenLabsTTSOptions) {
    this.#o = resolveOptions(options)
    this.pcmSampleRate = this.#o.sampleRateHz
    this.#pool = new SocketPool(this.#o)
    this.#utterances = new UtteranceTable(this.#o.contextIdleMs)
    this.#rest = new ElevenLabsREST(this.#o)
  }

  /** The whole text over REST: WAV by default, raw PCM for `format: 'pcm'`, MP3 for `format: 'mp3'`. */
  async speak (text: string, config: TTSConfig = {}): Promise<TTSResult> {
    config.signal?.throwIfAborted()
    const mp3 = config.format === 'mp3'
    const parts: Buffer[] = []
    try {
      for await (const part of await this.#rest.stream({ text, voiceId: config.voice ?? this.#o.voiceId, model: config.model ?? this.#o.model, speed: config.speed, mp3 }, config.signal)) {
        parts.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength))
      }
    } catch (error) {
      if (config.signal?.aborted === true) throw config.signal.reason
      throw error instanceof ElevenLabsError ? error : new ElevenLabsError('the ElevenLabs response was cut', { code: 'ECONNRESET', cause: error })
    }
    const audio = Buffer.concat(parts)
    if (mp3) return { audio, format: 'mp3' }
    if (config.format === 'pcm') return { audio, format: 'pcm', sampleRate: this.pcmSampleRate }
    return { audio: encodeWav(audio, this.pcmSampleRate), format: 'wav', sampleRate: this.pcmSampleRate }
  }

  /**
   * Streams `text`'s speech. With `contextId`, continues that utterance's context; `continuation: false`
   * ends it (an empty text only ends it). Retries retryable failures before the first audio. An aborted
   * call closes its context at ElevenLabs and ends quietly.
   */
  async * speakStream (text: string, config: TTSConfig = {}): AsyncIterable<TTSStreamEvent> {
    if (config.signal?.aborted === true) return
    yield * retryBeforeOutput(() => this.#speakOnce(text, config), { retries: this.#o.retries, baseDelayMs: this.#o.retryDelayMs, signal: config.signal })
  }

  /** Closes open contexts and every socket. Idempotent. */
  /** Loads the SDK (for the REST fallback) when the provider is chosen, not in the first turn. */
  async init (): Promise<void> {
    await loadElevenLabsSDK()
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#utterances.clear()
    await this.#pool.close()
  }

  async * #speakOnce (text: string, config: TTSConfig): AsyncIterable<TTSStreamEvent> {
    const key = config.contextId
    const last = key === undefined || config.continuation === false
    const unlock = key === undefined ? undefined : await this.#utterances.lock(key)
    try {
      if (this.#closed) throw new ElevenLabsError('the ElevenLabs provider is closed', { code: 'ELEVENLABS_CLOSED' })
      if (text.trim() === '') {
        if (key !== undefined && last) this.#utterances.finish(key)
        return
      }
      const voiceId = config.voice ?? this.#o.voiceId
      const model = config.model ?? this.#o.model
      const url = multiStreamURL({ ...this.#o, voiceId, model })
      let utterance = this.#utterances.current(key, url)
      if (utterance === undefined) {
        const serverId = newServerId(key)
        let socket: ElevenLabsSocket
        try {
          socket = await this.#pool.acquire(url, serverId, config.signal)
        } catch (error) {
          if (config.signal?.aborted === true || !worthFallingBack(error)) throw error
          yield * this.#speakOverRest(text, voiceId, model, config, last)
          return
        }
        utterance = openUtterance(key, serverId, socket)
        this.#utterances.set(utterance)
      }
      try {
        const voiceSettings = wireVoiceSettings(this.#o.voiceSettings, config.speed)
        yield * speakSentence(utterance, text, last, { sampleRateHz: this.pcmSampleRate, voiceSettings, quietMs: this.#o.sentenceQuietMs }, config.signal)
        this.#utterances.said(key, text)
        if (key !== undefined && last) this.#utterances.finish(key)
      } finally {
        this.#utterances.release(utterance)
      }
    } catch (error) {
      if (config.signal?.aborted === true) return
      throw error
    } finally {
      unlock?.()
    }
  }

  /** One sentence over REST `/stream`: PCM as it arrives, cut on whole samples; no word timings. */
  async * #speakOverRest (text: string, voiceId: string, model: string, config: TTSConfig, last: boolean): AsyncIterable<TTSStreamEvent> {
    const body = await this.#rest.stream({ text, voiceId, model, speed: config.speed, previousText: this.#utterances.spoken(config.contextId) }, config.signal)
    let odd: Buffer | undefined
    try {
      for await (const chunk of body) {
        if (config.signal?.aborted === true) return
        let audio = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        if (odd !== undefined) audio = Buffer.concat([odd, audio])
        odd = audio.length % 2 === 1 ? Buffer.from(audio.subarray(audio.length - 1)) : undefined
        if (odd !== undefined) audio = audio.subarray(0, audio.length - 1)
        if (audio.length > 0) yield { type: 'audio', audio }
      }
    } catch (error) {
      if (config.signal?.aborted === true) return
      throw new ElevenLabsError('the ElevenLabs response was cut', { code: 'ECONNRESET', cause: error })
    }
    this.#utterances.said(config.contextId, text)
    if (config.contextId !== undefined && last) this.#utterances.finish(config.contextId)
  }
}

/** Whether a WebSocket that failed to open is worth replacing by REST: not when the key or the request was refused. */
function worthFallingBack (error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status
  if (status === 401 || status === 403 || status === 400 || status === 422) return false
  return (error as { code?: unknown } | null)?.code !== 'ELEVENLABS_CLOSED'
}
