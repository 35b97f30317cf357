import type { DeepgramClient } from '@deepgram/sdk'
import { linkSignals } from '../../streams/link-signals.js'
import { retry } from '../retry.js'
import type { AudioFormat, TTSConfig, TTSProvider, TTSResult } from '../types.js'
import { DEEPGRAM, isAborted, ttsFailure, ttsTimeout } from './deepgram-errors.js'
import { lazyDeepgramClient, resolveDeepgramOptions, sdkTimeoutSeconds, type DeepgramOptions, type ResolvedDeepgramOptions } from './options.js'
import { loadDeepgramSDK } from './sdk.js'

type SpeakRequest = Parameters<DeepgramClient['speak']['v1']['audio']['generate']>[0]
type BinaryResponse = Awaited<ReturnType<DeepgramClient['speak']['v1']['audio']['generate']>>

/**
 * Deepgram Aura text-to-speech over REST `POST /v1/speak`, whose body streams the audio as it is
 * synthesised. Chosen over Aura's WebSocket because llmrtc speaks one sentence per call: a request per
 * sentence is stateless, cancels by aborting it, retries cleanly before the first byte, and reuses the
 * pooled keep-alive connection; the WebSocket would need a connection per session plus Flush/Clear
 * bookkeeping for the same first-byte latency.
 *
 * `speakStream` yields raw PCM s16le mono at `pcmSampleRate` (`encoding=linear16&container=none`:
 * Aura's REST default container for linear16 is WAV, whose header would play as a click).
 */
export class DeepgramTTS implements TTSProvider {
  readonly name = DEEPGRAM
  /** Sample rate of `speakStream`'s PCM, in Hz. */
  readonly pcmSampleRate: number
  readonly #o: ResolvedDeepgramOptions
  /** The client, made on first use (the SDK loads then). */
  readonly #client: () => Promise<DeepgramClient>

  /** Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET without `apiKey`, LLMRTC_ERR_OPTIONS_INVALID on a bad option. */
  constructor (options: DeepgramOptions) {
    this.#o = resolveDeepgramOptions(options)
    this.#client = lazyDeepgramClient(this.#o)
    this.pcmSampleRate = this.#o.ttsSampleRateHz
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadDeepgramSDK()
  }

  /** The whole sentence as one file: WAV unless `config.format` asks for pcm, mp3 or ogg (Opus). */
  async speak (text: string, config: TTSConfig = {}): Promise<TTSResult> {
    const format = config.format ?? 'wav'
    const response = await this.#request(text, config, format)
    try {
      const audio = Buffer.from(await response.arrayBuffer())
      return { audio, format, ...(format === 'pcm' || format === 'wav' ? { sampleRate: this.pcmSampleRate } : {}) }
    } catch (error) {
      if (isAborted(config.signal)) throw config.signal?.reason
      throw ttsFailure(error)
    }
  }

  /** PCM s16le mono chunks as they arrive, cut on whole samples. An abort ends the stream quietly. */
  async * speakStream (text: string, config: TTSConfig = {}): AsyncIterable<Buffer> {
    const signal = config.signal
    if (isAborted(signal)) return
    let body: ReadableStream<Uint8Array> | null
    try {
      body = (await this.#request(text, config, 'pcm')).stream()
    } catch (error) {
      if (isAborted(signal)) return
      throw error
    }
    if (body === null) return
    let odd: Buffer | undefined
    try {
      for await (const chunk of body) {
        if (isAborted(signal)) return
        let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        if (odd !== undefined) bytes = Buffer.concat([odd, bytes])
        // The network may split a sample: hold its first byte until the next chunk.
        odd = bytes.length % 2 === 1 ? Buffer.from(bytes.subarray(bytes.length - 1)) : undefined
        if (odd !== undefined) bytes = bytes.subarray(0, bytes.length - 1)
        if (bytes.length > 0) yield bytes
      }
    } catch (error) {
      if (isAborted(signal)) return
      throw ttsFailure(error)
    }
  }

  /**
   * POST /v1/speak until the response headers: retried on retryable failures, under `requestTimeoutMs`.
   * The deadline stops at the first byte; the audio then streams for as long as the sentence lasts.
   */
  async #request (text: string, config: TTSConfig, format: AudioFormat): Promise<BinaryResponse> {
    const signal = config.signal
    signal?.throwIfAborted()
    const client = await this.#client()
    const deadline = new AbortController()
    const timer = setTimeout(() => { deadline.abort() }, this.#o.requestTimeoutMs).unref()
    // Also aborts the body's download later (barge-in): not disposed here.
    const joined = signal !== undefined ? linkSignals(signal, deadline.signal).signal : deadline.signal
    const request: SpeakRequest = {
      text,
      model: config.voice ?? config.model ?? this.#o.ttsModel,
      ...encodingOf(format, this.pcmSampleRate),
      ...(config.speed !== undefined ? { speed: config.speed } : {})
    }
    try {
      return await retry(async () => await client.speak.v1.audio.generate(request, { abortSignal: joined, maxRetries: 0, timeoutInSeconds: sdkTimeoutSeconds(this.#o.requestTimeoutMs) }), {
        retries: this.#o.maxRetries,
        baseDelayMs: this.#o.retryBaseDelayMs,
        signal: joined
      })
    } catch (error) {
      if (isAborted(signal)) throw signal?.reason
      if (deadline.signal.aborted) throw ttsTimeout(this.#o.requestTimeoutMs, error)
      throw ttsFailure(error)
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Aura's query parameters for each llmrtc audio format. */
function encodingOf (format: AudioFormat, sampleRateHz: number): Pick<SpeakRequest, 'encoding' | 'container' | 'sample_rate'> {
  switch (format) {
    case 'pcm': return { encoding: 'linear16', container: 'none', sample_rate: sampleRateHz }
    case 'wav': return { encoding: 'linear16', container: 'wav', sample_rate: sampleRateHz }
    case 'mp3': return { encoding: 'mp3' }
    case 'ogg': return { encoding: 'opus', container: 'ogg' }
  }
}
