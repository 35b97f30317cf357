import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import type { Logger } from '../../lib/logger.js'
import type { Wrtc, WrtcAudioData, WrtcAudioSink, WrtcMediaStreamTrack } from './wrtc.js'

/**
 * wrtc's native sink hands each frame to the sink's `dispatchEvent`, whose EventTarget shim defers it to a
 * process.nextTick, copies the listener set into a new Set and then calls `ondata`: 100 times a second per
 * session. An own `dispatchEvent` takes the frame at once, with none of that (bench/frame-path.ts).
 */
type DispatchingSink = WrtcAudioSink & { dispatchEvent?: (event: WrtcAudioData) => void }

/** The format inbound frames are delivered in: what RTCAudioSink produces for Opus (10 ms at 48 kHz). */
export const INBOUND_SAMPLE_RATE_HZ = 48_000
const INBOUND_FRAME_SAMPLES = 480

/**
 * The client's microphone: an RTCAudioSink on the remote track, delivering 10 ms 48 kHz s16 frames to
 * listeners. Frames of another format (the sink's one-off 16 kHz placeholder at start) are skipped.
 * Stereo frames pass through interleaved, with `channels: 2` (the VAD side downmixes).
 */
export class InboundAudio {
  readonly #wrtc: Wrtc
  readonly #log: Logger
  readonly #listeners = new Set<(frame: AudioFrame) => void>()
  #sink: WrtcAudioSink | undefined
  #track: WrtcMediaStreamTrack | undefined
  /** One frame object, refilled per frame: listeners must not keep it (see AudioFrame). */
  readonly #frame: AudioFrame = { samples: new Int16Array(0), sampleRateHz: INBOUND_SAMPLE_RATE_HZ, channels: 1, samplesPerChannel: INBOUND_FRAME_SAMPLES }
  #skipped = 0
  #listenerErrors = 0
  #delivered = 0

  constructor (wrtc: Wrtc, log: Logger) {
    this.#wrtc = wrtc
    this.#log = log
  }

  /** Frames delivered, and frames skipped for an unexpected format. */
  get stats (): { delivered: number, skipped: number } {
    return { delivered: this.#delivered, skipped: this.#skipped }
  }

  /** Listens to `track` (a renegotiated new track replaces the previous one). */
  attach (track: WrtcMediaStreamTrack): void {
    if (track === this.#track) return
    this.#stopSink()
    const sink: DispatchingSink = new this.#wrtc.nonstandard.RTCAudioSink(track)
    const onData = (data: WrtcAudioData): void => {
      // A frame already queued by the native side may come after stop().
      if (this.#sink === sink) this.#onData(data)
    }
    sink.dispatchEvent = onData
    // Kept for a wrtc (or a stand-in) that calls ondata itself.
    sink.ondata = onData
    this.#sink = sink
    this.#track = track
  }

  onAudio (listener: (frame: AudioFrame) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** Stops the sink and forgets the listeners. Idempotent. */
  close (): void {
    this.#stopSink()
    this.#listeners.clear()
  }

  // A sink (or track) left running keeps wrtc's threads, and the process, alive.
  #stopSink (): void {
    if (this.#sink !== undefined) {
      this.#sink.ondata = null
      this.#sink.stop()
      this.#sink = undefined
    }
    this.#track?.stop()
    this.#track = undefined
  }

  #onData (data: WrtcAudioData): void {
    const channels = data.channelCount ?? 1
    const samplesPerChannel = data.numberOfFrames ?? data.samples.length / channels
    if (data.sampleRate !== INBOUND_SAMPLE_RATE_HZ || (data.bitsPerSample ?? 16) !== 16 || (channels !== 1 && channels !== 2) ||
      samplesPerChannel !== INBOUND_FRAME_SAMPLES || data.samples.length !== samplesPerChannel * channels) {
      if (this.#skipped++ === 0) this.#log.debug({ sampleRateHz: data.sampleRate, channels, samplesPerChannel }, 'skipping inbound audio of an unexpected format')
      return
    }
    this.#delivered++
    if (this.#listeners.size === 0) return
    const frame = this.#frame
    frame.samples = data.samples
    frame.channels = channels
    frame.samplesPerChannel = samplesPerChannel
    this.#listeners.forEach(this.#deliver)
  }

  // Bound once: forEach with it allocates nothing per frame (a for-of would create an iterator).
  readonly #deliver = (listener: (frame: AudioFrame) => void): void => {
    try {
      listener(this.#frame)
    } catch (err) {
      // A consumer's bug must not kill the native callback; one log line, not one per 10 ms.
      if (this.#listenerErrors++ === 0) this.#log.error({ err }, 'inbound audio listener failed')
    }
  }
}
