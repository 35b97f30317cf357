import type { DeepgramClient } from '@deepgram/sdk'
import { isWav } from '../../audio/wav.js'
import { linkSignals } from '../../streams/link-signals.js'
import { retry } from '../retry.js'
import type { STTConfig, STTProvider, STTResult } from '../types.js'
import { DEEPGRAM, isAborted, sttFailure, sttTimeout } from './deepgram-errors.js'
import type { LiveQuery } from './live-connection.js'
import { transcribeLive } from './live-transcription.js'
import { lazyDeepgramClient, resolveDeepgramOptions, sdkTimeoutSeconds, type DeepgramOptions, type ResolvedDeepgramOptions } from './options.js'
import { loadDeepgramSDK } from './sdk.js'
import { toSTTWords } from './words.js'

/** Sample rate of the streamed input, in Hz: the pipeline's speech rate, sent as-is (no resampling). */
const INPUT_SAMPLE_RATE_HZ = 16000

/**
 * Deepgram speech-to-text. `transcribeStream` streams 16 kHz s16le mono over the live WebSocket with
 * Deepgram's endpointing off (`endpointing=false`): llmrtc's VAD decides when speech ends and then ends
 * the input, which sends Finalize + CloseStream. `transcribe` posts a whole utterance (WAV) to the
 * prerecorded endpoint: the fallback when streaming STT is off. Both give the words' timings (`words`).
 */
export class DeepgramSTT implements STTProvider {
  readonly name = DEEPGRAM
  readonly streamingInputSampleRate = INPUT_SAMPLE_RATE_HZ
  readonly #o: ResolvedDeepgramOptions
  /** The client, made on first use (the SDK loads then). */
  readonly #client: () => Promise<DeepgramClient>

  /** Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET without `apiKey`, LLMRTC_ERR_OPTIONS_INVALID on a bad option. */
  constructor (options: DeepgramOptions) {
    this.#o = resolveDeepgramOptions(options)
    this.#client = lazyDeepgramClient(this.#o)
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadDeepgramSDK()
  }

  /** POST /v1/listen with the whole utterance; retried on retryable failures within `requestTimeoutMs`. */
  async transcribe (audio: Buffer, config: STTConfig = {}): Promise<STTResult> {
    const signal = config.signal
    signal?.throwIfAborted()
    const client = await this.#client()
    const deadline = AbortSignal.timeout(this.#o.requestTimeoutMs)
    const link = signal !== undefined ? linkSignals(signal, deadline) : undefined
    const joined = link?.signal ?? deadline
    const query = {
      model: config.model ?? this.#o.model,
      language: config.language ?? this.#o.language,
      smart_format: this.#o.smartFormat,
      punctuate: this.#o.smartFormat
    }
    const upload = { data: audio, contentType: isWav(audio) ? 'audio/wav' : 'application/octet-stream' }
    try {
      const data = await retry(async () => await client.listen.v1.media.transcribeFile(upload, query, { abortSignal: joined, maxRetries: 0, timeoutInSeconds: sdkTimeoutSeconds(this.#o.requestTimeoutMs) }), {
        retries: this.#o.maxRetries,
        baseDelayMs: this.#o.retryBaseDelayMs,
        signal: joined
      })
      const best = 'results' in data ? data.results.channels[0]?.alternatives?.[0] : undefined
      const words = toSTTWords(best?.words)
      return { text: best?.transcript ?? '', isFinal: true, ...(best?.confidence !== undefined ? { confidence: best.confidence } : {}), ...(words !== undefined ? { words } : {}), raw: data }
    } catch (error) {
      if (isAborted(signal)) throw signal?.reason
      if (deadline.aborted) throw sttTimeout(this.#o.requestTimeoutMs, error)
      throw sttFailure(error)
    } finally {
      link?.dispose()
    }
  }

  /** Streams the utterance over the live WebSocket; see `transcribeLive` for the protocol. */
  transcribeStream (audio: AsyncIterable<Buffer>, config: STTConfig = {}): AsyncIterable<STTResult> {
    const o = this.#o
    const query: LiveQuery = {
      model: config.model ?? o.model,
      language: config.language ?? o.language,
      encoding: 'linear16',
      sample_rate: config.sampleRateHz ?? INPUT_SAMPLE_RATE_HZ,
      channels: 1,
      interim_results: config.interimResults === false ? 'false' : 'true',
      endpointing: false,
      smart_format: String(o.smartFormat),
      punctuate: String(o.smartFormat)
    }
    return transcribeLive(this.#client, audio, {
      query,
      keepAliveIntervalMs: o.keepAliveIntervalMs,
      connectTimeoutMs: o.connectTimeoutMs,
      finalizeTimeoutMs: o.finalizeTimeoutMs,
      maxRetries: o.maxRetries,
      retryBaseDelayMs: o.retryBaseDelayMs
    }, config.signal)
  }
}
