import type OpenAI from 'openai'
import { isWav } from '../../audio/wav.js'
import { LLMRTC_ERR_STT } from '../../errors.js'
import type { STTConfig, STTProvider, STTResult } from '../types.js'
import { lazyOpenAIClient, untilAborted, type OpenAIClientOptions } from './client.js'
import { loadOpenAISDK } from './sdk.js'

export interface OpenAISTTOptions extends OpenAIClientOptions {
  /** Transcription model: whisper-1, gpt-4o-transcribe or gpt-4o-mini-transcribe (default gpt-4o-mini-transcribe). */
  model?: string
  /** ISO-639-1 language of the speech (e.g. `en`); improves accuracy and latency. Default: detected. */
  language?: string
  /** Text that guides the model: names, spelling, the previous sentence. */
  prompt?: string
}

/**
 * Speech to text over OpenAI's `/audio/transcriptions`: one whole utterance (a WAV file, as the pipeline
 * gives it) per request, uploaded as multipart form data. Not streamed.
 */
export class OpenAISTT implements STTProvider {
  readonly name = 'openai-stt'
  readonly model: string
  /** The client, made on first use (the SDK loads then). */
  readonly #client: () => Promise<OpenAI>
  readonly #language: string | undefined
  readonly #prompt: string | undefined

  constructor (options: OpenAISTTOptions) {
    this.#client = lazyOpenAIClient(options, 'STT')
    this.model = options.model ?? 'gpt-4o-mini-transcribe'
    this.#language = options.language
    this.#prompt = options.prompt
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadOpenAISDK()
  }

  async transcribe (audio: Buffer, config: STTConfig = {}): Promise<STTResult> {
    const signal = config.signal
    signal?.throwIfAborted()
    const format = containerOf(audio)
    const { toFile } = await loadOpenAISDK()
    const file = await toFile(audio, `speech.${format}`, { type: `audio/${format}` })
    const language = config.language ?? this.#language
    const body = {
      file,
      model: config.model ?? this.model,
      response_format: 'json' as const,
      ...(language !== undefined ? { language } : {}),
      ...(this.#prompt !== undefined ? { prompt: this.#prompt } : {})
    }
    const transcription = await untilAborted((await this.#client()).audio.transcriptions.create(body, { signal }), signal)
    if (typeof transcription?.text !== 'string') throw new LLMRTC_ERR_STT(this.name, 'the response has no text')
    return { text: transcription.text, isFinal: true, raw: transcription }
  }
}

/** The file extension the API needs to read `audio` (it goes by the name): sniffed, WAV by default. */
function containerOf (audio: Buffer): 'wav' | 'mp3' | 'ogg' | 'flac' | 'webm' {
  if (isWav(audio)) return 'wav'
  const magic = audio.toString('latin1', 0, 4)
  if (magic === 'OggS') return 'ogg'
  if (magic === 'fLaC') return 'flac'
  if (magic === '\x1a\x45\xdf\xa3') return 'webm'
  if (magic.startsWith('ID3') || (audio[0] === 0xff && ((audio[1] ?? 0) & 0xe0) === 0xe0)) return 'mp3'
  return 'wav'
}
