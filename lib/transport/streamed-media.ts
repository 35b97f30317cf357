import type { AudioFrame } from '../audio/audio-frame.js'
import type { BackgroundMixer } from '../audio/background-mixer.js'
import { Resampler } from '../audio/resampler.js'
import type { Clock } from '../clock.js'
import type { AudioOutput, FrameListener, SessionMedia } from './media-transport.js'
import { FRAME_MS, OUTPUT_SAMPLE_RATE_HZ, PacedAudioOutput } from './paced-audio-output.js'

/** Length of one inbound frame handed to listeners, in ms (as the WebRTC track's). */
const INBOUND_FRAME_MS = 10

/** How one far end (a carrier's media stream, a device) takes the answer. */
export interface MediaWire {
  /**
   * Sends one outbound packet: the first `count` samples of `samples` (PCM at the media's rate; a packet
   * is full except before a mark). The buffer is reused for the next packet: encode or copy it now; the
   * wire may overwrite the samples past `count` (to pad a codec's fixed frame).
   */
  sendAudio: (samples: Int16Array, count: number) => void
  /** Sends a mark the far end acknowledges once it has played everything sent before it. */
  sendMark: (name: string) => void
  /** Tells the far end to drop the audio it has buffered and not played (barge-in). */
  sendClear: () => void
}

export interface StreamedMediaOptions {
  /** The far end's PCM rate, in and out. */
  sampleRateHz: number
  /** Length of one outbound packet, in ms. */
  packetMs: number
  wire: MediaWire
  /** Prefix of the mark names sent (a counter follows it). */
  markPrefix: string
  clock?: Clock
}

/**
 * Media streamed over a WebSocket (a phone call, a device), as the pipeline takes a WebRTC track's: the
 * far end's PCM in, cut into 10 ms frames at its rate (speech detection resamples), and the answer out
 * through a paced, real-time queue (PacedAudioOutput) whose 48 kHz frames are resampled to the far end's
 * rate and sent as packets of `packetMs`. Silence while nothing plays is not sent.
 *
 * Marks mean "heard at the far end": once a chunk with a mark has been sent, a wire mark follows it, and
 * the mark is reported by `onPlayed` only when the far end acknowledges it (`acknowledge`). `clear()`
 * (barge-in) also tells the far end to drop its buffer, and marks still out are never reported.
 */
export class StreamedMedia implements SessionMedia, AudioOutput {
  readonly #wire: MediaWire
  readonly #markPrefix: string
  readonly #paced: PacedAudioOutput
  readonly #audioListeners = new Set<(frame: AudioFrame) => void>()
  readonly #playedListeners = new Set<(mark: string) => void>()
  /** Inbound: the samples of a frame not yet complete (packets need not be a multiple of 10 ms). */
  readonly #inbound: Int16Array
  #inboundFilled = 0
  /** One frame object, refilled per frame: listeners must not keep it (see AudioFrame). */
  readonly #frame: AudioFrame
  /** Outbound: 48 kHz to the far end's rate (none when it is 48 kHz), and the samples of the next packet. */
  readonly #downsampler: Resampler | undefined
  readonly #outbound: Int16Array
  #outboundFilled = 0
  /** Wire mark name → the pipeline's mark, for the marks sent and not yet acknowledged. */
  readonly #marksOut = new Map<string, string>()
  #markSeq = 0
  readonly #drains: Array<() => void> = []
  /** `onFrame()` listeners; replaced, never mutated, so a frame iterates a snapshot without copying it. */
  #frameListeners: readonly FrameListener[] = []
  readonly #sampleRateHz: number
  #closed = false

  constructor (options: StreamedMediaOptions) {
    this.#wire = options.wire
    this.#markPrefix = options.markPrefix
    const rate = options.sampleRateHz
    this.#sampleRateHz = rate
    this.#inbound = new Int16Array(rate * INBOUND_FRAME_MS / 1000)
    this.#frame = { samples: this.#inbound, sampleRateHz: rate, channels: 1, samplesPerChannel: this.#inbound.length }
    this.#downsampler = rate === OUTPUT_SAMPLE_RATE_HZ ? undefined : new Resampler(OUTPUT_SAMPLE_RATE_HZ, rate)
    this.#outbound = new Int16Array(rate * options.packetMs / 1000)
    // A packet of several 10 ms frames leaves as soon as an answer starts, not one or more slots later:
    // the output runs that many frames ahead while it plays (the far end buffers them). Silence is not
    // sent, so the output stops its frames as soon as nothing plays and starts them again as soon as
    // audio comes (the far end's buffer does not depend on a continuous stream).
    this.#paced = new PacedAudioOutput({
      onFrame: (samples) => { this.#onFrame(samples) },
      leadFrames: Math.max(0, Math.ceil(options.packetMs / FRAME_MS) - 1),
      idleAfterMs: 0,
      minPauseMs: 0,
      ...(options.clock !== undefined ? { clock: options.clock } : {})
    })
    this.#paced.onPlayed((mark) => { this.#sent(mark) })
  }

  /** The speech output (this object). */
  get output (): AudioOutput { return this }

  onAudio (listener: (frame: AudioFrame) => void): () => void {
    this.#audioListeners.add(listener)
    return () => { this.#audioListeners.delete(listener) }
  }

  /** True once `close()` was called. */
  get closed (): boolean { return this.#closed }

  /** Starts the outbound clock (once the far end's stream started). */
  start (): void { this.#paced.start() }

  /** The far end's audio: the first `count` samples of `pcm` (decoded at the media's rate). */
  receivePcm (pcm: Int16Array, count = pcm.length): void {
    if (this.#closed) return
    const frame = this.#inbound
    for (let i = 0; i < count; i++) {
      frame[this.#inboundFilled++] = pcm[i] as number
      if (this.#inboundFilled === frame.length) {
        this.#inboundFilled = 0
        for (const listener of this.#audioListeners) listener(this.#frame)
      }
    }
  }

  /** The far end acknowledged a mark: everything sent before it has played. Unknown names are ignored. */
  acknowledge (name: string): void {
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
    if (!this.#closed) this.#wire.sendClear()
    return dropped
  }

  /** Mixes `mixer`'s sounds into the answer's frames (PacedAudioOutput.setBackground); frames with only them are sent too. */
  setBackground (mixer: BackgroundMixer | undefined): void { this.#paced.setBackground(mixer) }

  pause (): void { this.#paced.pause() }
  resume (): void { this.#paced.resume() }
  get paused (): boolean { return this.#paced.paused }
  get playing (): boolean { return this.#paced.playing || this.#marksOut.size > 0 }
  /** Audio sent to the far end (its own buffer may still hold the last few tens of ms). */
  get playedMs (): number { return this.#paced.playedMs }

  onPlayed (listener: (mark: string) => void): () => void {
    this.#playedListeners.add(listener)
    return () => { this.#playedListeners.delete(listener) }
  }

  /**
   * Taps the audio sent to the far end: each 10 ms frame at the far end's rate, as it goes into the
   * packets (frames of silence that are not sent are not reported). The buffer is reused: copy it to keep it.
   */
  onFrame (listener: FrameListener): () => void {
    this.#frameListeners = [...this.#frameListeners, listener]
    return () => { this.#frameListeners = this.#frameListeners.filter(l => l !== listener) }
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
    this.#frameListeners = []
  }

  #onFrame (samples: Int16Array): void {
    // Silence while nothing is queued is not sent: the far end plays silence when it has no audio.
    if ((!this.#paced.playing && !this.#paced.backgroundInFrame) || this.#closed) return
    const converted = this.#downsampler === undefined ? samples : this.#downsampler.process(samples)
    const out = this.#outbound
    for (let i = 0; i < converted.length; i++) {
      out[this.#outboundFilled++] = converted[i] as number
      if (this.#outboundFilled === out.length) this.#flush()
    }
    const listeners = this.#frameListeners
    for (let i = 0; i < listeners.length; i++) (listeners[i] as FrameListener)(converted, this.#sampleRateHz)
  }

  #flush (): void {
    if (this.#outboundFilled === 0) return
    const count = this.#outboundFilled
    this.#outboundFilled = 0
    this.#wire.sendAudio(this.#outbound, count)
  }

  /** The paced queue handed the marked chunk's last sample over: the wire mark follows that audio. */
  #sent (mark: string): void {
    if (this.#closed) return
    this.#flush()
    const name = `${this.#markPrefix}${++this.#markSeq}`
    this.#marksOut.set(name, mark)
    this.#wire.sendMark(name)
  }

  #settleDrains (): void {
    if (this.#drains.length === 0) return
    for (const resolve of this.#drains.splice(0)) resolve()
  }
}
