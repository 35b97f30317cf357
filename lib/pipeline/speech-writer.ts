import { decodeWav, isWav } from '../audio/wav.js'
import { downmix } from '../audio/downmix.js'
import type { TurnContext } from '../hooks/hook-types.js'
import type { TTSProvider, TTSResult, TTSStreamEvent } from '../providers/types.js'
import type { AudioOutput } from '../transport/media-transport.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT } from '../errors.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { SpokenSentence } from './heard-text.js'
import { callSignal, classifyProviderError } from './provider-call.js'

/**
 * Synthesizes sentences one after another and writes their audio to the output as it arrives, keeping
 * the timeline of what was said where (for the heard-text cut on barge-in). Writing never waits for
 * playback, so the LLM stream is never stalled behind audio.
 */
export class SpeechWriter {
  readonly sentences: SpokenSentence[] = []
  #writtenMs = 0
  #chunkIndex = 0
  #started = false
  readonly #tts: TTSProvider
  readonly #output: AudioOutput
  readonly #hooks: HookRegistry
  readonly #ctx: TurnContext
  readonly #signal: AbortSignal
  readonly #timeoutMs: number
  readonly #onFirstAudio: () => void

  constructor (init: { tts: TTSProvider, output: AudioOutput, hooks: HookRegistry, ctx: TurnContext, signal: AbortSignal, timeoutMs: number, onFirstAudio: () => void }) {
    this.#tts = init.tts
    this.#output = init.output
    this.#hooks = init.hooks
    this.#ctx = init.ctx
    this.#signal = init.signal
    this.#timeoutMs = init.timeoutMs
    this.#onFirstAudio = init.onFirstAudio
  }

  get started (): boolean { return this.#started }

  /**
   * Streams one sentence's speech into the output. Sentences of a turn share one provider context (the
   * turn id) so prosody flows across them; `last` ends the context. Throws the classified TTS error;
   * quiet on abort.
   */
  async speakStreamed (text: string, last = false, source?: (signal: AbortSignal) => AsyncIterable<Buffer | TTSStreamEvent>): Promise<void> {
    const speakStream = this.#tts.speakStream
    if (speakStream === undefined) {
      await this.speakWhole(text)
      return
    }
    const sentence = this.#begin(text)
    await this.#hooks.run('onTTSStart', this.#ctx, text)
    const call = callSignal(this.#signal, this.#timeoutMs)
    const rate = this.#tts.pcmSampleRate ?? 24000
    try {
      // `source`: this sentence's speech, already being synthesized (preemptive generation).
      const items = source !== undefined ? source(call.signal) : speakStream.call(this.#tts, text, { signal: call.signal, contextId: this.#ctx.turnId, continuation: !last })
      for await (const item of items) {
        if (call.signal.aborted) break
        if (Buffer.isBuffer(item)) this.#write(sentence, toSamples(item), rate)
        else if (item.type === 'audio') this.#write(sentence, toSamples(item.audio), rate)
        else sentence.words.push(...item.words)
      }
      call.signal.throwIfAborted()
    } catch (error) {
      const classified = classifyProviderError('tts', this.#tts.name, error, call, this.#signal, this.#timeoutMs)
      if (classified === undefined) return
      throw classified
    }
  }

  /** Synthesizes the whole text in one call (non-streaming TTS) and writes it. */
  async speakWhole (text: string): Promise<TTSResult | undefined> {
    const sentence = this.#begin(text)
    await this.#hooks.run('onTTSStart', this.#ctx, text)
    const call = callSignal(this.#signal, this.#timeoutMs)
    let result: TTSResult
    try {
      result = await this.#tts.speak(text, { signal: call.signal, format: 'pcm' })
      call.signal.throwIfAborted()
    } catch (error) {
      const classified = classifyProviderError('tts', this.#tts.name, error, call, this.#signal, this.#timeoutMs)
      if (classified === undefined) return undefined
      throw classified
    }
    const { samples, rate } = pcmOf(result, this.#tts.pcmSampleRate)
    this.#write(sentence, samples, rate)
    return result
  }

  #begin (text: string): SpokenSentence {
    const sentence: SpokenSentence = { text, startMs: this.#writtenMs, endMs: this.#writtenMs, words: [] }
    this.sentences.push(sentence)
    return sentence
  }

  #write (sentence: SpokenSentence, samples: Int16Array, rateHz: number): void {
    if (samples.length === 0 || this.#signal.aborted) return
    if (!this.#started) {
      this.#started = true
      this.#onFirstAudio()
    }
    this.#output.write(samples, rateHz, `${this.sentences.indexOf(sentence)}`)
    this.#writtenMs += samples.length * 1000 / rateHz
    sentence.endMs = this.#writtenMs
    void this.#hooks.run('onTTSChunk', this.#ctx, { audio: Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength), sampleRate: rateHz, sentence: sentence.text }, this.#chunkIndex++)
  }
}

/** PCM s16le bytes as samples, copying only when the bytes are not 2-aligned. */
function toSamples (bytes: Buffer): Int16Array {
  const length = bytes.length >> 1
  if (bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, length)
  const copy = new Int16Array(length)
  Buffer.from(copy.buffer).set(bytes.subarray(0, length * 2))
  return copy
}

/** Mono PCM from a whole-utterance TTS result (raw PCM or WAV; compressed formats need a decoder). */
function pcmOf (result: TTSResult, declaredRate: number | undefined): { samples: Int16Array, rate: number } {
  if (result.format === 'wav' || isWav(result.audio)) {
    const wav = decodeWav(result.audio)
    const mono = downmix(wav.samples, wav.channels, new Int16Array(Math.floor(wav.samples.length / wav.channels)))
    return { samples: mono, rate: wav.sampleRateHz }
  }
  if (result.format === 'pcm' || result.format === undefined) {
    const rate = result.sampleRate ?? declaredRate ?? 24000
    return { samples: toSamples(result.audio), rate }
  }
  throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`TTS returned ${result.format}, which needs a decoder to play on the track`)
}
