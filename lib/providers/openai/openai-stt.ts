import type OpenAI from 'openai'
import type { TranscriptionWord } from 'openai/resources/audio/transcriptions'
import { isWav } from '../../audio/wav.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_STT } from '../../errors.js'
import type { STTConfig, STTProvider, STTResult, STTWord } from '../types.js'
import { lazyOpenAIClient, untilAborted, type OpenAIClientOptions } from './client.js'
import { loadOpenAISDK } from './sdk.js'

export interface OpenAISTTOptions extends OpenAIClientOptions {
  /** Transcription model: whisper-1, gpt-4o-transcribe or gpt-4o-mini-transcribe (default gpt-4o-mini-transcribe). */
  model?: string
  /** ISO-639-1 language of the speech (e.g. `en`); improves accuracy and latency. Default: detected. */
  language?: string
  /** Text that guides the model: names, spelling, the previous sentence. */
  prompt?: string
  /**
   * Ask for each word's timing (`words` on the result, for the session transcript): the request then
   * takes `response_format: verbose_json` and `timestamp_granularities[]: word`, which whisper-1 (and
   * OpenAI-compatible Whisper servers) accept; `gpt-*` models take only `json`, so they are never asked.
   * Default false.
   */
  wordTimestamps?: boolean
}

/**
 * Speech to text over OpenAI's `/audio/transcriptions`: one whole utterance (a WAV file, as the pipeline
 * gives it) per request, uploaded as multipart form data. Not streamed. With `wordTimestamps`, the words'
 * timings come too (whisper-1).
 */
export class OpenAISTT implements STTProvider {
  readonly name = 'openai-stt'
  readonly model: string
  /** The client, made on first use (the SDK loads then). */
  readonly #client: () => Promise<OpenAI>
  readonly #language: string | undefined
  readonly #prompt: string | undefined
  readonly #wordTimestamps: boolean

  constructor (options: OpenAISTTOptions) {
    this.#client = lazyOpenAIClient(options, 'STT')
    this.model = options.model ?? 'gpt-4o-mini-transcribe'
    this.#language = options.language
    this.#prompt = options.prompt
    if (options.wordTimestamps !== undefined && typeof options.wordTimestamps !== 'boolean') throw new LLMRTC_ERR_OPTIONS_INVALID('wordTimestamps', 'a boolean', typeof options.wordTimestamps)
    this.#wordTimestamps = options.wordTimestamps === true
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
    const model = config.model ?? this.model
    const body = {
      file,
      model,
      response_format: 'json' as const,
      ...(language !== undefined ? { language } : {}),
      ...(this.#prompt !== undefined ? { prompt: this.#prompt } : {})
    }
    const client = await this.#client()
    if (this.#wordTimestamps && !model.startsWith('gpt-')) {
      const verbose = await untilAborted(client.audio.transcriptions.create({ ...body, response_format: 'verbose_json', timestamp_granularities: ['word'] }, { signal }), signal)
      if (typeof verbose?.text !== 'string') throw new LLMRTC_ERR_STT(this.name, 'the response has no text')
      const words = toSTTWords(verbose.words)
      return { text: verbose.text, isFinal: true, ...(words !== undefined ? { words } : {}), raw: verbose }
    }
    const transcription = await untilAborted(client.audio.transcriptions.create(body, { signal }), signal)
    if (typeof transcription?.text !== 'string') throw new LLMRTC_ERR_STT(this.name, 'the response has no text')
    return { text: transcription.text, isFinal: true, raw: transcription }
  }
}

/** verbose_json's words (seconds, from the start of the file) as llmrtc's (ms); undefined when there are none. */
function toSTTWords (words: readonly TranscriptionWord[] | undefined): STTWord[] | undefined {
  const out = (words ?? [])
    .filter(w => typeof w?.word === 'string' && typeof w.start === 'number' && typeof w.end === 'number')
    .map(w => ({ word: w.word, startMs: Math.round(w.start * 1000), endMs: Math.round(w.end * 1000) }))
  return out.length > 0 ? out : undefined
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
