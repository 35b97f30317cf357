import type { AudioFrame } from '../audio/audio-frame.js'
import { Resampler } from '../audio/resampler.js'
import type { Clock } from '../clock.js'
import type { AudioOutput, SessionMedia } from '../transport/media-transport.js'
import { OUTPUT_SAMPLE_RATE_HZ, PacedAudioOutput } from '../transport/paced-audio-output.js'
import { DEVICE_FRAME_MS, type DeviceCodec } from './device-codec.js'
import type { DeviceServerControl } from './device-protocol.js'

/** Length of one inbound frame handed to listeners, in ms (as the WebRTC track's). */
const INBOUND_FRAME_MS = 10

export interface DeviceMediaOptions {
  codec: DeviceCodec
  /** Sends one binary frame (encoded audio) to the device. */
  sendAudio: (frame: Uint8Array) => void
  /** Sends one control message (a JSON text frame) to the device. */
  sendControl: (message: DeviceServerControl) => void
  clock?: Clock
}

/**
 * One device connection's media, as the pipeline takes a WebRTC track's (the device counterpart of
 * CallMedia): the device's frames in, decoded and cut into 10 ms PCM frames at the codec's rate, and the
 * answer out through a paced, real-time queue (PacedAudioOutput) whose 48 kHz frames are resampled to the
 * codec's rate, encoded and sent as 20 ms binary frames. Silence while nothing plays is not sent.
 *
 * Marks mean "heard on the device": after the audio of a marked chunk, a `{ type: 'mark', mark }` control
 * follows, and the pipeline's mark is reported by `onPlayed` only when the device answers
 * `{ type: 'played', mark }`. `clear()` (barge-in) sends `{ type: 'clear' }`, and marks still out are
 * never reported.
 */
export class DeviceMedia implements SessionMedia, AudioOutput {
  readonly #codec: DeviceCodec
  readonly #sendAudio: (frame: Uint8Array) => void
  readonly #sendControl: (message: DeviceServerControl) => void
  readonly #paced: PacedAudioOutput
  readonly #audioListeners = new Set<(frame: AudioFrame) => void>()
  readonly #playedListeners = new Set<(mark: string) => void>()
  readonly #inbound: Int16Array
  #inboundFilled = 0
  /** One frame object, refilled per frame: listeners must not keep it (see AudioFrame). */
  readonly #frame: AudioFrame
  readonly #downsampler: Resampler | undefined
  readonly #outbound: Int16Array
  #outboundFilled = 0
  /** Device mark name → the pipeline's mark, for the marks sent and not yet acknowledged. */
  readonly #marksOut = new Map<string, string>()
  #markSeq = 0
  readonly #drains: Array<() => void> = []
  #closed = false

  constructor (options: DeviceMediaOptions) {
    this.#codec = options.codec
    this.#sendAudio = options.sendAudio
    this.#sendControl = options.sendControl
    const rate = options.codec.sampleRateHz
    this.#inbound = new Int16Array(rate * INBOUND_FRAME_MS / 1000)
    this.#frame = { samples: this.#inbound, sampleRateHz: rate, channels: 1, samplesPerChannel: this.#inbound.length }
    this.#downsampler = rate === OUTPUT_SAMPLE_RATE_HZ ? undefined : new Resampler(OUTPUT_SAMPLE_RATE_HZ, rate)
    this.#outbound = new Int16Array(rate * DEVICE_FRAME_MS / 1000)
    this.#paced = new PacedAudioOutput({ onFrame: (samples) => { this.#onFrame(samples) }, ...(options.clock !== undefined ? { clock: options.clock } : {}) })
    this.#paced.onPlayed((mark) => { this.#sent(mark) })
  }

  /** The device's speech output (this object). */
  get output (): AudioOutput { return this }

  onAudio (listener: (frame: AudioFrame) => void): () => void {
    this.#audioListeners.add(listener)
    return () => { this.#audioListeners.delete(listener) }
  }

  /** Starts the outbound clock. */
  start (): void { this.#paced.start() }

  /** One binary frame from the device. Throws (nothing is heard) when the codec cannot decode it. */
  receiveAudio (payload: Uint8Array): void {
    if (this.#closed) return
    const samples = this.#codec.decode(payload)
    const frame = this.#inbound
    for (let i = 0; i < samples.length; i++) {
      frame[this.#inboundFilled++] = samples[i] as number
      if (this.#inboundFilled === frame.length) {
        this.#inboundFilled = 0
        for (const listener of this.#audioListeners) listener(this.#frame)
      }
    }
  }

  /** The device acknowledged a mark: everything sent before it has played. */
  receivePlayed (name: string): void {
    const mark = this.#marksOut.get(name)
    if (mark === undefined) return
    this.#marksOut.delete(name)
    for (const listener of this.#playedListeners) listener(mark)
    if (this.#marksOut.size === 0) this.#settleDrains()
  }

  write (pcm: Int16Array, sampleRateHz: number, mark?: string): void { this.#paced.write(pcm, sampleRateHz, mark) }

  async drain (): Promise<void> {
    await this.#paced.drain()
    if (this.#marksOut.size === 0 || this.#closed) return
    await new Promise<void>(resolve => { this.#drains.push(resolve) })
  }

  clear (): number {
    const dropped = this.#paced.clear()
    this.#outboundFilled = 0
    this.#downsampler?.reset()
    this.#marksOut.clear()
    this.#settleDrains()
    if (!this.#closed) this.#sendControl({ type: 'clear' })
    return dropped
  }

  pause (): void { this.#paced.pause() }
  resume (): void { this.#paced.resume() }
  get paused (): boolean { return this.#paced.paused }
  get playing (): boolean { return this.#paced.playing || this.#marksOut.size > 0 }
  /** Audio sent to the device (its own buffer may still hold some). */
  get playedMs (): number { return this.#paced.playedMs }

  onPlayed (listener: (mark: string) => void): () => void {
    this.#playedListeners.add(listener)
    return () => { this.#playedListeners.delete(listener) }
  }

  /** Stops the clock, drops queued audio and forgets the listeners. Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#paced.close()
    this.#marksOut.clear()
    this.#settleDrains()
    this.#audioListeners.clear()
    this.#playedListeners.clear()
  }

  #onFrame (samples: Int16Array): void {
    if (!this.#paced.playing || this.#closed) return
    const converted = this.#downsampler === undefined ? samples : this.#downsampler.process(samples)
    const out = this.#outbound
    for (let i = 0; i < converted.length; i++) {
      out[this.#outboundFilled++] = converted[i] as number
      if (this.#outboundFilled === out.length) this.#flush()
    }
  }

  /** Sends the pending samples as one frame; a partial Opus frame is padded with silence (Opus needs 20 ms). */
  #flush (): void {
    if (this.#outboundFilled === 0) return
    if (this.#codec.name === 'opus' || this.#outboundFilled === this.#outbound.length) {
      this.#outbound.fill(0, this.#outboundFilled)
      this.#sendAudio(this.#codec.encode(this.#outbound))
    } else {
      this.#sendAudio(this.#codec.encode(this.#outbound.subarray(0, this.#outboundFilled)))
    }
    this.#outboundFilled = 0
  }

  /** The paced queue handed the marked chunk's last sample over: the mark follows that audio. */
  #sent (mark: string): void {
    if (this.#closed) return
    this.#flush()
    const name = `m${++this.#markSeq}`
    this.#marksOut.set(name, mark)
    this.#sendControl({ type: 'mark', mark: name })
  }

  #settleDrains (): void {
    if (this.#drains.length === 0) return
    for (const resolve of this.#drains.splice(0)) resolve()
  }
}
