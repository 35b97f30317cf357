import type { Clock, TimerHandle } from '../clock.js'
import { downmix } from '../audio/downmix.js'
import { Resampler } from '../audio/resampler.js'

/** Which side of the stereo recording a source feeds: the user (left) or the assistant (right). */
export type RecordingChannel = 'user' | 'assistant'

export interface StereoRecorderOptions {
  /** Sample rate of the recording, in Hz (both channels). */
  sampleRateHz: number
  /** The session's clock: both channels are placed on it. */
  clock: Clock
  /** Receives the recording as interleaved s16le stereo PCM (left: user, right: assistant), in order. */
  write: (pcm: Buffer) => void
  /**
   * How far a source may lag the clock before its next frame is placed at the clock's position instead of
   * right after its previous frame, in ms (default 120): a source that stopped (idle output, lost packets)
   * resumes in its place; a source with jitter stays gapless.
   */
  maxLagMs?: number
  /** How far behind the clock the mix is written out, in ms (default 400; above `maxLagMs`). */
  flushDelayMs?: number
  /** How often the mix is written out, in ms (default 100). */
  flushIntervalMs?: number
  /** Audio held per channel before it is written out, in ms (default 2000): with flushDelayMs, what bounds memory. */
  bufferMs?: number
}

interface ChannelState {
  /** Sample index (on the recording's timeline) where this channel's next sample goes. */
  cursor: number
  ring: Int16Array
  resampler: Resampler | undefined
  mono: Int16Array
}

/**
 * Mixes two mono sources into one stereo stream aligned on one clock, with bounded memory. Each source's
 * frames go right after its previous ones (no gaps from jitter); a source that lagged the clock by more than
 * `maxLagMs` (it was silent: an idle output sends nothing) restarts at the clock's position, so its audio
 * lands where it happened. The mix is written out `flushDelayMs` behind the clock, so late frames still land
 * in place; memory is two rings of `bufferMs` and never grows with the call's length.
 */
export class StereoRecorder {
  readonly sampleRateHz: number
  /** Epoch ms (the clock's) of the recording's first sample. */
  readonly startedAt: number
  readonly #o: Required<Omit<StereoRecorderOptions, 'clock' | 'write'>> & Pick<StereoRecorderOptions, 'clock' | 'write'>
  readonly #channels: [ChannelState, ChannelState]
  readonly #capacity: number
  readonly #timer: TimerHandle
  /** Samples (per channel) written out so far. */
  #flushed = 0
  #closed = false

  constructor (options: StereoRecorderOptions) {
    this.#o = { maxLagMs: 120, flushDelayMs: 400, flushIntervalMs: 100, bufferMs: 2000, ...options }
    this.sampleRateHz = options.sampleRateHz
    this.#capacity = Math.ceil(this.#o.bufferMs * this.sampleRateHz / 1000)
    const channel = (): ChannelState => ({ cursor: 0, ring: new Int16Array(this.#capacity), resampler: undefined, mono: new Int16Array(0) })
    this.#channels = [channel(), channel()]
    this.startedAt = options.clock.now()
    this.#timer = options.clock.setInterval(() => { this.#flushUntil(this.#clockPosition() - this.#samples(this.#o.flushDelayMs)) }, this.#o.flushIntervalMs)
  }

  /** Bytes this recorder holds (its two rings), whatever the call's length. */
  get heldBytes (): number { return this.#capacity * 2 * 2 }

  /** Milliseconds written out so far. */
  get writtenMs (): number { return this.#flushed * 1000 / this.sampleRateHz }

  /**
   * Adds one frame of a source: interleaved s16 PCM of `channels` channels at `sampleRateHz`. Not kept: the
   * samples are copied into the ring. Allocates nothing once a source's rate and frame size are known.
   */
  push (side: RecordingChannel, samples: Int16Array, sampleRateHz: number, channels = 1): void {
    if (this.#closed || samples.length === 0) return
    const state = this.#channels[side === 'user' ? 0 : 1]
    let pcm = samples
    if (channels > 1) {
      if (state.mono.length < samples.length / channels) state.mono = new Int16Array(Math.ceil(samples.length / channels))
      pcm = downmix(samples, channels, state.mono)
    }
    if (sampleRateHz !== this.sampleRateHz) {
      if (state.resampler?.inputRateHz !== sampleRateHz) state.resampler = new Resampler(sampleRateHz, this.sampleRateHz)
      pcm = state.resampler.process(pcm)
    }
    const now = this.#clockPosition()
    if (state.cursor < now - this.#samples(this.#o.maxLagMs)) state.cursor = now
    if (state.cursor < this.#flushed) state.cursor = this.#flushed
    // A source faster than real time: what it is ahead by is written out early rather than held.
    const overflow = state.cursor + pcm.length - this.#flushed - this.#capacity
    if (overflow > 0) this.#flushUntil(this.#flushed + overflow)
    const ring = state.ring
    const capacity = this.#capacity
    let at = state.cursor % capacity
    for (let i = 0; i < pcm.length; i++) {
      ring[at] = pcm[i] as number
      at = at + 1 === capacity ? 0 : at + 1
    }
    state.cursor += pcm.length
  }

  /** Writes out everything up to the later of the clock and the last sample of either side, then stops. Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#o.clock.clearInterval(this.#timer)
    const end = Math.max(this.#clockPosition(), this.#channels[0].cursor, this.#channels[1].cursor)
    this.#flushUntil(end)
    this.#closed = true
  }

  #samples (ms: number): number {
    return Math.floor(ms * this.sampleRateHz / 1000)
  }

  #clockPosition (): number {
    return this.#samples(this.#o.clock.now() - this.startedAt)
  }

  /** Interleaves [flushed, end) of both rings (zeroing what was read) and writes it out, in pieces of at most a ring. */
  #flushUntil (end: number): void {
    const capacity = this.#capacity
    const [left, right] = this.#channels
    while (this.#flushed < end) {
      const count = Math.min(end - this.#flushed, capacity)
      const out = Buffer.allocUnsafe(count * 4)
      let at = this.#flushed % capacity
      for (let i = 0, o = 0; i < count; i++, o += 4) {
        out.writeInt16LE(left.ring[at] as number, o)
        out.writeInt16LE(right.ring[at] as number, o + 2)
        left.ring[at] = 0
        right.ring[at] = 0
        at = at + 1 === capacity ? 0 : at + 1
      }
      this.#flushed += count
      this.#o.write(out)
    }
  }
}
