import { encodeWav } from '../../audio/wav.js'
import type { TTSConfig, TTSProvider, TTSResult } from '../types.js'

/**
 * A deterministic stand-in for speech synthesis: each word becomes a short enveloped tone whose pitch
 * follows the word, so tests and the no-key default get real, non-silent PCM whose length follows the
 * text. It is not speech.
 */
export interface ToneTTSOptions {
  /** Output sample rate in Hz (default 24000). */
  sampleRateHz?: number
  /** Duration of one word's tone in milliseconds (default 180). */
  wordMs?: number
  /** Size of streamed chunks in milliseconds (default 100). */
  chunkMs?: number
}

export class ToneTTS implements TTSProvider {
  readonly name = 'builtin-tone-tts'
  readonly pcmSampleRate: number
  readonly #wordMs: number
  readonly #chunkMs: number

  constructor (options: ToneTTSOptions = {}) {
    this.pcmSampleRate = options.sampleRateHz ?? 24000
    this.#wordMs = options.wordMs ?? 180
    this.#chunkMs = options.chunkMs ?? 100
  }

  /** PCM s16le mono for `text`. */
  synthesize (text: string): Buffer {
    const words = text.split(/\s+/).filter(w => w !== '')
    const wordSamples = Math.round(this.pcmSampleRate * this.#wordMs / 1000)
    const gapSamples = Math.round(wordSamples / 4)
    const pcm = new Int16Array(words.length * (wordSamples + gapSamples))
    let offset = 0
    for (const word of words) {
      const frequencyHz = 180 + (hash(word) % 24) * 15
      for (let i = 0; i < wordSamples; i++) {
        const envelope = Math.sin(Math.PI * i / wordSamples)
        pcm[offset + i] = Math.round(8000 * envelope * Math.sin(2 * Math.PI * frequencyHz * i / this.pcmSampleRate))
      }
      offset += wordSamples + gapSamples
    }
    return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)
  }

  async speak (text: string, config?: TTSConfig): Promise<TTSResult> {
    config?.signal?.throwIfAborted()
    const pcm = this.synthesize(text)
    if (config?.format === 'pcm') return { audio: pcm, format: 'pcm', sampleRate: this.pcmSampleRate }
    return { audio: encodeWav(pcm, this.pcmSampleRate), format: 'wav', sampleRate: this.pcmSampleRate }
  }

  async * speakStream (text: string, config?: TTSConfig): AsyncIterable<Buffer> {
    const pcm = this.synthesize(text)
    const chunkBytes = Math.round(this.pcmSampleRate * this.#chunkMs / 1000) * 2
    for (let offset = 0; offset < pcm.length; offset += chunkBytes) {
      if (config?.signal?.aborted === true) return
      // A macrotask between chunks, like a network provider's: a long answer never holds the event loop.
      await new Promise(resolve => setImmediate(resolve))
      yield pcm.subarray(offset, offset + chunkBytes)
    }
  }
}

function hash (text: string): number {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}
