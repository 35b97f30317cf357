import { decodeWav } from '../../../audio/wav.js'
import type { STTConfig, STTProvider, STTResult } from '../../types.js'
import { OPENAI_REALTIME_STT } from './errors.js'
import { realtimeTranscriptionUrl, resolveOpenAIRealtimeSTTOptions, type OpenAIRealtimeSTTOptions, type ResolvedOpenAIRealtimeSTTOptions } from './options.js'
import { transcribeRealtime } from './transcription.js'

/** Sample rate of the streamed input, in Hz: the pipeline's speech rate, resampled to the API's 24 kHz here. */
const INPUT_SAMPLE_RATE_HZ = 16_000

/**
 * Speech to text over OpenAI's realtime WebSocket in a transcription session
 * (`/v1/realtime?intent=transcription`). `transcribeStream` appends the audio while the user speaks, with
 * the server's turn detection off: llmrtc's VAD ends the input, which commits the buffer, and the
 * transcript streams back as deltas (interim results) then one final result. `transcribe` sends a whole
 * utterance (a WAV) the same way. One connection per utterance.
 */
export class OpenAIRealtimeSTT implements STTProvider {
  readonly name = OPENAI_REALTIME_STT
  readonly streamingInputSampleRate = INPUT_SAMPLE_RATE_HZ
  readonly model: string
  readonly #o: ResolvedOpenAIRealtimeSTTOptions
  readonly #url: URL

  /** Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET without `apiKey`, LLMRTC_ERR_OPTIONS_INVALID on a bad option. */
  constructor (options: OpenAIRealtimeSTTOptions) {
    this.#o = resolveOpenAIRealtimeSTTOptions(options)
    this.#url = realtimeTranscriptionUrl(this.#o.baseURL)
    this.model = this.#o.model
  }

  /** The utterance of a 16-bit PCM WAV (its first channel), streamed and committed at once; the final result. */
  async transcribe (audio: Buffer, config: STTConfig = {}): Promise<STTResult> {
    const signal = config.signal
    signal?.throwIfAborted()
    const wav = decodeWav(audio)
    const mono = wav.channels === 1 ? wav.samples : firstChannel(wav.samples, wav.channels)
    async function * whole (): AsyncIterable<Buffer> {
      yield Buffer.from(mono.buffer, mono.byteOffset, mono.byteLength)
    }
    let final: STTResult = { text: '', isFinal: true }
    for await (const result of this.transcribeStream(whole(), { ...config, sampleRateHz: wav.sampleRateHz, interimResults: false })) {
      if (result.isFinal) final = result
    }
    // The stream ends quietly on abort; a call must reject.
    signal?.throwIfAborted()
    return final
  }

  /** Streams s16le mono at `config.sampleRateHz` (default 16000); see `transcribeRealtime` for the protocol. */
  transcribeStream (audio: AsyncIterable<Buffer>, config: STTConfig = {}): AsyncIterable<STTResult> {
    const o = this.#o
    return transcribeRealtime(audio, {
      url: this.#url,
      apiKey: o.apiKey,
      session: { model: config.model ?? o.model, language: config.language ?? o.language, prompt: o.prompt },
      inputRateHz: config.sampleRateHz ?? INPUT_SAMPLE_RATE_HZ,
      interimResults: config.interimResults !== false,
      connectTimeoutMs: o.connectTimeoutMs,
      finalizeTimeoutMs: o.finalizeTimeoutMs,
      maxRetries: o.maxRetries,
      retryBaseDelayMs: o.retryBaseDelayMs
    }, config.signal)
  }
}

function firstChannel (samples: Int16Array, channels: number): Int16Array {
  const out = new Int16Array(Math.floor(samples.length / channels))
  for (let i = 0; i < out.length; i++) out[i] = samples[i * channels] as number
  return out
}
