import type { AudioFrame } from '../audio/audio-frame.js'
import { Resampler } from '../audio/resampler.js'
import type { Clock } from '../clock.js'
import type { AudioOutput, SessionMedia } from '../transport/media-transport.js'
import { OUTPUT_SAMPLE_RATE_HZ, PacedAudioOutput } from '../transport/paced-audio-output.js'
import type { CarrierAdapter } from './carrier.js'
import { g711SampleCodec, type G711Law, type G711SampleCodec } from './g711.js'

/** Length of one inbound frame handed to listeners, in ms (as the WebRTC track's). */
const INBOUND_FRAME_MS = 10
/** Length of one outbound media message, in ms (the carriers' own packet size). */
const OUTBOUND_MESSAGE_MS = 20

export interface CallMediaOptions {
  adapter: CarrierAdapter
  /** The carrier's stream id (outbound messages carry it). */
  streamId: string
  law: G711Law
  /** The stream's rate (8000 for G.711). */
  sampleRateHz: number
  /** Sends one text message on the carrier's media WebSocket. */
  send: (message: string) => void
  clock?: Clock
}

/**
 * One phone call's media, as the pipeline takes a WebRTC track's: the caller's G.711 audio in, as 10 ms
 * PCM frames at the call's rate (speech detection resamples), and the answer out through a paced,
 * real-time queue (PacedAudioOutput) whose 10 ms 48 kHz frames are resampled to the call's rate, G.711
 * encoded and sent as 20 ms media messages. Silence while nothing plays is not sent (the carrier plays
 * silence itself).
 *
 * Marks mean "heard on the phone": when a chunk with a mark has been sent, a carrier mark follows it, and
 * the mark is reported by `onPlayed` only when the carrier echoes it (it has played everything before
 * it). `clear()` (barge-in) also sends the carrier's `clear`, and marks still out are never reported.
 */
export class CallMedia implements SessionMedia, AudioOutput {
  readonly #adapter: CarrierAdapter
  readonly #streamId: string
  readonly #codec: G711SampleCodec
  readonly #send: (message: string) => void
  readonly #paced: PacedAudioOutput
  readonly #audioListeners = new Set<(frame: AudioFrame) => void>()
  readonly #playedListeners = new Set<(mark: string) => void>()
  /** Inbound: the samples of a frame not yet complete (payloads need not be a multiple of 10 ms). */
  readonly #inbound: Int16Array
  #inboundFilled = 0
  /** One frame object, refilled per frame: listeners must not keep it (see AudioFrame). */
  readonly #frame: AudioFrame
  /** Outbound: 48 kHz to the call's rate, and the samples of the next media message. */
  readonly #downsampler: Resampler
  readonly #outbound: Int16Array
  /** The G.711 bytes of the next media message (reused: the adapter copies them into its message). */
  readonly #encoded: Uint8Array
  #outboundFilled = 0
  /** Carrier mark name → the pipeline's mark, for the marks sent and not yet echoed. */
  readonly #marksOut = new Map<string, string>()
  #markSeq = 0
  readonly #drains: Array<() => void> = []
  #closed = false

  constructor (options: CallMediaOptions) {
    this.#adapter = options.adapter
    this.#streamId = options.streamId
    this.#codec = g711SampleCodec(options.law)
    this.#send = options.send
    const rate = options.sampleRateHz
    this.#inbound = new Int16Array(rate * INBOUND_FRAME_MS / 1000)
    this.#frame = { samples: this.#inbound, sampleRateHz: rate, channels: 1, samplesPerChannel: this.#inbound.length }
    this.#downsampler = new Resampler(OUTPUT_SAMPLE_RATE_HZ, rate)
    this.#outbound = new Int16Array(rate * OUTBOUND_MESSAGE_MS / 1000)
    this.#encoded = new Uint8Array(this.#outbound.length)
    this.#paced = new PacedAudioOutput({ onFrame: (samples) => { this.#onFrame(samples) }, ...(options.clock !== undefined ? { clock: options.clock } : {}) })
    this.#paced.onPlayed((mark) => { this.#sent(mark) })
  }

  /** The call's speech output (this object). */
  get output (): AudioOutput { return this }

  onAudio (listener: (frame: AudioFrame) => void): () => void {
    this.#audioListeners.add(listener)
    return () => { this.#audioListeners.delete(listener) }
  }

  /** Starts the outbound clock (once the carrier's stream started). */
  start (): void { this.#paced.start() }

  /** The caller's audio: G.711 bytes of one media message. */
  receiveAudio (payload: Uint8Array): void {
    if (this.#closed) return
    const decode = this.#codec.decode
    const frame = this.#inbound
    for (let i = 0; i < payload.length; i++) {
      frame[this.#inboundFilled++] = decode(payload[i] as number)
      if (this.#inboundFilled === frame.length) {
        this.#inboundFilled = 0
        for (const listener of this.#audioListeners) listener(this.#frame)
      }
    }
  }

  /** The carrier echoed a mark: everything sent before it has played. */
  receiveMark (name: string): void {
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
    this.#downsampler.reset()
    this.#marksOut.clear()
    this.#settleDrains()
    if (!this.#closed) this.#send(this.#adapter.clear(this.#streamId))
    return dropped
  }

  pause (): void { this.#paced.pause() }
  resume (): void { this.#paced.resume() }
  get paused (): boolean { return this.#paced.paused }
  get playing (): boolean { return this.#paced.playing || this.#marksOut.size > 0 }
  /** Audio sent to the carrier (its own buffer may still hold the last few tens of ms). */
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
    // Silence while nothing is queued is not sent: the carrier plays silence when it has no audio.
    if (!this.#paced.playing || this.#closed) return
    const converted = this.#downsampler.process(samples)
    const out = this.#outbound
    for (let i = 0; i < converted.length; i++) {
      out[this.#outboundFilled++] = converted[i] as number
      if (this.#outboundFilled === out.length) this.#flush()
    }
  }

  #flush (): void {
    if (this.#outboundFilled === 0) return
    const count = this.#outboundFilled
    const encode = this.#codec.encode
    for (let i = 0; i < count; i++) this.#encoded[i] = encode(this.#outbound[i] as number)
    this.#outboundFilled = 0
    this.#send(this.#adapter.media(this.#streamId, count === this.#encoded.length ? this.#encoded : this.#encoded.subarray(0, count)))
  }

  /** The paced queue handed the marked chunk's last sample over: the carrier mark follows that audio. */
  #sent (mark: string): void {
    if (this.#closed) return
    this.#flush()
    const name = `llmrtc-${++this.#markSeq}`
    this.#marksOut.set(name, mark)
    this.#send(this.#adapter.mark(this.#streamId, name))
  }

  #settleDrains (): void {
    if (this.#drains.length === 0) return
    for (const resolve of this.#drains.splice(0)) resolve()
  }
}
