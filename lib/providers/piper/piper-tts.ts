import { decodeWav } from '../../audio/wav.js'
import { downmix } from '../../audio/downmix.js'
import { resample } from '../../audio/resampler.js'
import type { AudioFormat, TTSConfig, TTSProvider, TTSResult } from '../types.js'
import { resolvePiperOptions, type PiperTTSOptions, type ResolvedPiperOptions } from './piper-options.js'
import { PIPER, requestPiperWav, type PiperRoute } from './piper-request.js'

/** PCM yielded per chunk, in ms: small enough that a barge-in stops within one chunk. */
const CHUNK_MS = 100

/**
 * Piper text-to-speech through a Piper HTTP server (see `PiperApi` for the two servers it speaks to).
 * Piper answers a whole WAV per request, so `speakStream` cuts the text into sentences and asks for
 * them one by one (the next one is requested while the current one plays): the first audio is ready
 * after the first sentence. The WAV is decoded at its declared rate and resampled to `pcmSampleRate`.
 */
export class PiperTTS implements TTSProvider {
  readonly name = PIPER
  readonly pcmSampleRate: number
  readonly #o: ResolvedPiperOptions
  readonly #route: PiperRoute = { path: '/' }

  /** Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET without `url` (PIPER_URL), LLMRTC_ERR_OPTIONS_INVALID on a bad option. */
  constructor (options: PiperTTSOptions) {
    this.#o = resolvePiperOptions(options)
    this.pcmSampleRate = this.#o.sampleRateHz
  }

  /** The whole text as the server's WAV (`format: 'pcm'` decodes it to `pcmSampleRate`; Piper makes no mp3/ogg). */
  async speak (text: string, config: TTSConfig = {}): Promise<TTSResult> {
    const wav = await requestPiperWav(this.#o, this.#route, text, config.signal)
    const format: AudioFormat = config.format === 'pcm' ? 'pcm' : 'wav'
    if (format === 'pcm') return { audio: this.#pcm(wav), format, sampleRate: this.pcmSampleRate }
    return { audio: wav, format, sampleRate: decodeWav(wav).sampleRateHz }
  }

  /** PCM s16le mono at `pcmSampleRate`, sentence by sentence. An abort ends the stream quietly. */
  async * speakStream (text: string, config: TTSConfig = {}): AsyncIterable<Buffer> {
    const signal = config.signal
    // A function, so TypeScript does not narrow `signal.aborted` across the awaits.
    const aborted = (): boolean => signal?.aborted === true
    if (aborted()) return
    const sentences = splitSentences(text)
    const request = (sentence: string): Promise<Buffer> => {
      const pending = requestPiperWav(this.#o, this.#route, sentence, signal)
      // A prefetched sentence may be dropped unread (abort, a failure before it): never an unhandled rejection.
      pending.catch(() => {})
      return pending
    }
    let next = sentences[0] !== undefined ? request(sentences[0]) : undefined
    try {
      for (let i = 0; next !== undefined; i++) {
        const wav = await next
        next = sentences[i + 1] !== undefined ? request(sentences[i + 1] as string) : undefined
        const pcm = this.#pcm(wav)
        const step = Math.round(this.pcmSampleRate * CHUNK_MS / 1000) * 2
        for (let offset = 0; offset < pcm.length; offset += step) {
          if (aborted()) return
          yield pcm.subarray(offset, offset + step)
        }
      }
    } catch (error) {
      if (aborted()) return
      throw error
    }
  }

  /** The WAV's samples as mono s16le at `pcmSampleRate`. */
  #pcm (wav: Buffer): Buffer {
    const decoded = decodeWav(wav)
    const mono = downmix(decoded.samples, decoded.channels, new Int16Array(Math.floor(decoded.samples.length / decoded.channels)))
    const samples = decoded.sampleRateHz === this.pcmSampleRate ? mono : resample(mono, decoded.sampleRateHz, this.pcmSampleRate)
    return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  }
}

/**
 * Sentences of `text`: cut after . ! ? … (and their CJK forms) followed by a space or the end, keeping
 * the punctuation (Piper's prosody uses it). Text without such a cut is one sentence; blank text none.
 */
export function splitSentences (text: string): string[] {
  return text.split(/(?<=[.!?…。！？]["'”’)\]]*)\s+/).map(s => s.trim()).filter(s => s !== '')
}
