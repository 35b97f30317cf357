import type { AudioFrame } from '../audio/audio-frame.js'
import { downmix } from '../audio/downmix.js'
import { Resampler } from '../audio/resampler.js'

/**
 * Converts microphone frames (16 or 48 kHz from the transport, mono or stereo) to the provider's input
 * rate, mono s16, carrying the resampler's state across frames (one stream: no clicks at frame edges).
 */
export class MicrophoneBridge {
  readonly #targetHz: number
  #resampler: Resampler | undefined
  #mono = new Int16Array(0)

  constructor (targetHz: number) {
    this.#targetHz = targetHz
  }

  /** The frame at the target rate (a view, or a copy of it: use it before the next call). */
  convert (frame: AudioFrame): Int16Array {
    if (this.#mono.length < frame.samplesPerChannel) this.#mono = new Int16Array(frame.samplesPerChannel)
    const mono = downmix(frame.samples, frame.channels, this.#mono)
    if (frame.sampleRateHz === this.#targetHz) return mono
    if (this.#resampler?.inputRateHz !== frame.sampleRateHz) this.#resampler = new Resampler(frame.sampleRateHz, this.#targetHz)
    return this.#resampler.process(mono)
  }
}
