import type OpenAI from 'openai'
import type { SpeechCreateParams } from 'openai/resources/audio/speech'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_TTS } from '../../errors.js'
import type { AudioFormat, TTSConfig, TTSProvider, TTSResult } from '../types.js'
import { lazyOpenAIClient, untilAborted, type OpenAIClientOptions } from './client.js'
import { loadOpenAISDK } from './sdk.js'

/** OpenAI's `pcm`: s16le mono at 24 kHz, no header. */
export const OPENAI_PCM_SAMPLE_RATE_HZ = 24_000

export interface OpenAITTSOptions extends OpenAIClientOptions {
  /** Speech model: tts-1, tts-1-hd or gpt-4o-mini-tts (default gpt-4o-mini-tts). */
  model?: string
  /** Voice: alloy, ash, ballad, coral, echo, fable, onyx, nova, sage, shimmer, verse, ... (default alloy). */
  voice?: string
  /** How to speak (tone, pace, accent); gpt-4o-mini-tts only, not sent to tts-1 / tts-1-hd. */
  instructions?: string
  /** Speaking rate, 0.25 to 4.0 (default 1.0, the API's). */
  speed?: number
}

const responseFormats: Record<AudioFormat, SpeechCreateParams['response_format']> = { pcm: 'pcm', wav: 'wav', mp3: 'mp3', ogg: 'opus' }

/**
 * Text to speech over OpenAI's `/audio/speech`. `speakStream` asks for raw PCM and yields it as the bytes
 * arrive (24 kHz s16le mono, whole samples), so the first audio plays before the sentence is synthesized.
 */
export class OpenAITTS implements TTSProvider {
  readonly name = 'openai-tts'
  readonly pcmSampleRate = OPENAI_PCM_SAMPLE_RATE_HZ
  readonly model: string
  readonly voice: string
  /** The client, made on first use (the SDK loads then). */
  readonly #client: () => Promise<OpenAI>
  readonly #instructions: string | undefined
  readonly #speed: number | undefined

  constructor (options: OpenAITTSOptions) {
    this.#client = lazyOpenAIClient(options, 'TTS')
    this.model = options.model ?? 'gpt-4o-mini-tts'
    this.voice = options.voice ?? 'alloy'
    this.#instructions = options.instructions
    this.#speed = validSpeed(options.speed)
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadOpenAISDK()
  }

  /** The whole utterance; `config.format` pcm (default), wav, mp3 or ogg (Opus). */
  async speak (text: string, config: TTSConfig = {}): Promise<TTSResult> {
    const signal = config.signal
    const format = config.format ?? 'pcm'
    const response = await untilAborted((await this.#client()).audio.speech.create(this.#body(text, config, format), { signal }), signal)
    expectAudio(response, this.name)
    const audio = Buffer.from(await untilAborted(response.arrayBuffer(), signal))
    return format === 'pcm' ? { audio, format, sampleRate: this.pcmSampleRate } : { audio, format }
  }

  /** PCM s16le mono at 24 kHz, in the network's chunks. Ends quietly when `config.signal` aborts. */
  async * speakStream (text: string, config: TTSConfig = {}): AsyncIterable<Buffer> {
    const signal = config.signal
    const response = await untilAborted((await this.#client()).audio.speech.create(this.#body(text, config, 'pcm'), { signal }), signal)
    expectAudio(response, this.name)
    const body = response.body
    if (body === null) return
    const reader = body.getReader()
    let done = false
    let odd: Buffer | undefined
    try {
      while (signal?.aborted !== true) {
        const next = await reader.read().catch((error: unknown) => {
          // The SDK aborts the body with the signal: that ends the stream, it is not a failure.
          if (signal?.aborted === true) return { done: true as const, value: undefined }
          throw error
        })
        if (next.done) {
          done = true
          return
        }
        // Network chunks split samples anywhere: carry a trailing odd byte into the next chunk.
        let bytes = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength)
        if (odd !== undefined) bytes = Buffer.concat([odd, bytes])
        const whole = bytes.length & ~1
        odd = whole < bytes.length ? Buffer.from(bytes.subarray(whole)) : undefined
        if (whole > 0) yield bytes.subarray(0, whole)
      }
    } finally {
      // Stops the download when the consumer breaks off or the signal aborted.
      if (!done) reader.cancel().catch(() => {})
      reader.releaseLock()
    }
  }

  #body (text: string, config: TTSConfig, format: AudioFormat): SpeechCreateParams {
    const model = config.model ?? this.model
    const body: SpeechCreateParams = { model, voice: config.voice ?? this.voice, input: text, response_format: responseFormats[format] }
    const instructions = config.instructions ?? this.#instructions
    if (instructions !== undefined && !model.startsWith('tts-1')) body.instructions = instructions
    const speed = validSpeed(config.speed) ?? this.#speed
    if (speed !== undefined) body.speed = speed
    return body
  }
}

/**
 * A 200 whose body is text or JSON (a proxy's error page, an error object from a compatible server) is
 * not audio: played as PCM it would be noise. Fails the call instead, and releases the connection.
 */
function expectAudio (response: Response, name: string): void {
  const type = response.headers.get('content-type') ?? ''
  if (!/^(text\/|application\/(problem\+)?json)/i.test(type)) return
  response.body?.cancel().catch(() => {})
  throw new LLMRTC_ERR_TTS(name, `expected audio, got ${type.split(';')[0] ?? type}`)
}

function validSpeed (speed: number | undefined): number | undefined {
  if (speed === undefined) return undefined
  if (typeof speed !== 'number' || !(speed >= 0.25 && speed <= 4)) throw new LLMRTC_ERR_OPTIONS_INVALID('speed', 'a number from 0.25 to 4.0', String(speed))
  return speed
}
