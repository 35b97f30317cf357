import { monotonicClock, type Clock, type TimerHandle } from '../clock.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT } from '../errors.js'
import type { AudioOutput, FrameListener } from './media-transport.js'
import { Resampler } from '../audio/resampler.js'
import type { BackgroundMixer } from '../audio/background-mixer.js'
import { FrameTicker } from './frame-ticker.js'

/** The track's rate: the output always emits 48 kHz mono. */
export const OUTPUT_SAMPLE_RATE_HZ = 48_000
/** Length of one emitted frame, in ms. */
export const FRAME_MS = 10
/** Samples in one emitted frame (10 ms at 48 kHz). */
export const FRAME_SAMPLES = OUTPUT_SAMPLE_RATE_HZ * FRAME_MS / 1000
const SAMPLES_PER_MS = OUTPUT_SAMPLE_RATE_HZ / 1000

/**
 * Gains of the one-frame fades of `pause()` and `resume()`: a raised-cosine (half-Hann) ramp over the
 * 480 samples of a frame, `FADE_OUT[i] = (1 + cos(π (i + 1) / 480)) / 2`, from 0.99999 down to exactly 0,
 * and `FADE_IN[i] = 1 - FADE_OUT[i]`, from 0.00001 up to exactly 1. Its slope is zero at both ends, so
 * neither end makes a corner in the waveform (a click); over 10 ms its largest step is π/960 of the level.
 */
const FADE_OUT = new Float32Array(FRAME_SAMPLES)
const FADE_IN = new Float32Array(FRAME_SAMPLES)
for (let i = 0; i < FRAME_SAMPLES; i++) {
  FADE_OUT[i] = (1 + Math.cos(Math.PI * (i + 1) / FRAME_SAMPLES)) / 2
  FADE_IN[i] = 1 - (FADE_OUT[i] as number)
}

/**
 * `playing`: frames take audio from the queue. `fading-out`: paused, the next frame is the faded last one.
 * `paused`: frames are silence and the queue waits. `fading-in`: resumed, the next frame fades in.
 */
type PauseState = 'playing' | 'fading-out' | 'paused' | 'fading-in'

/**
 * A streaming sample-rate converter for mono s16 PCM (one per input rate, state carried across writes).
 * `process` may return a view of an internal buffer: the output copies it.
 */
export interface RateConverter {
  process: (pcm: Int16Array) => Int16Array
  /** Forgets the stream (after `clear()`, the next audio is unrelated). */
  reset: () => void
}

export interface PacedAudioOutputOptions {
  /**
   * Receives each 10 ms frame at its slot in real time: always the same 480-sample buffer, overwritten
   * for the next frame (copy it to keep it). Silence when nothing is queued, until `idleAfterMs` stops it.
   */
  onFrame: (samples: Int16Array) => void
  /** Time source; `now()` should be monotonic (default: `monotonicClock`, with unref'd timers). */
  clock?: Clock
  /** Slots shared with the other outputs on the same clock (default: `FrameTicker.of(clock)`). */
  ticker?: FrameTicker
  /**
   * Silence after which the output stops emitting frames until audio is written or `wake()` is called,
   * in ms, rounded up to whole frames (default 10 000; `Infinity`: never).
   */
  idleAfterMs?: number
  /**
   * Shortest pause, in ms (default 3000): once stopped, frames start again no earlier than this after
   * the last one. A WebRTC receiver's jitter buffer takes a pause of up to 1.5 s as delay and starts
   * afresh after 2.8 s (measured), see the class comment; 0 for a sink that sends no silence
   * (StreamedMedia).
   */
  minPauseMs?: number
  /** Makes the converter from `fromHz` to 48 kHz (default: llmrtc's polyphase resampler). */
  createConverter?: (fromHz: number, toHz: number) => RateConverter
  /**
   * Frames emitted at once to catch up after the event loop was blocked (default 5, i.e. 50 ms).
   * When further behind, the schedule restarts from now: late audio is delayed, never burst out.
   */
  maxCatchUpFrames?: number
  /**
   * Frames emitted ahead of real time while audio is queued (default 0). A far end that takes packets of
   * several frames (a carrier's 20 ms messages: 1) gets its first packet as soon as an answer starts,
   * instead of one slot later; the lead is given back (one slot without a frame) once the queue is empty.
   * The far end's playout buffer absorbs it. Only for outputs that do not send silence (StreamedMedia).
   */
  leadFrames?: number
  /**
   * Gets an error the sink or a frame listener threw at a slot. The output is closed first (its track is
   * not fed any more); nothing is thrown from the timer. Default: `process.emitWarning`.
   */
  onError?: (err: unknown) => void
}

interface Chunk {
  samples: Int16Array
  offset: number
  mark: string | undefined
}

/**
 * A real-time playout queue for one WebRTC audio track. Frame n is emitted at `start + n * 10 ms`
 * (absolute schedule, so timer lateness never accumulates into drift), on the slots of a ticker shared
 * by every output on the same clock (one timer for all tracks, not one each).
 *
 * While nothing plays the output emits silence, and after `idleAfterMs` of it, it stops (each frame is
 * Opus-encoded by libwebrtc and decoded by the listener). Written audio or `wake()` (the pipeline calls
 * it while the user speaks) start it again. A pause must be long: libwebrtc's sender (M106 in
 * @roamhq/wrtc) advances the RTP timestamp by one frame per frame it is handed, not with time, so after
 * a pause the next packet carries the timestamp that follows the last one. The receiver's jitter buffer
 * (libwebrtc's NetEq, measured in Chromium) takes a gap of up to 1.5 s as network delay and its delay
 * grows by the gap for the following answers (0.85-1.5 s), while after gaps of 2.8 s or more it starts
 * afresh (20-25 ms, lower than the 40-60 ms of a continuous track). So frames never start again sooner
 * than `minPauseMs` after they stopped: audio written in between waits for it. The long `idleAfterMs`
 * makes that rare: a conversation keeps the track running, and the pipeline wakes it on speech
 * (docs/benchmarks.md, "Receiver jitter buffer and idle tracks").
 *
 * "Played" means the frame's 10 ms slot has passed: marks and `drain()` settle one frame after the last
 * sample was handed to the track.
 *
 * Pause and resume, sample-exact: the first frame emitted after `pause()` carries the next 480 queued
 * samples multiplied by `FADE_OUT` (they are consumed and count as played: they were heard, fading out);
 * the frames after it are silence and take nothing from the queue. The first frame after `resume()`
 * carries the following queued samples multiplied by `FADE_IN`, and the ones after it play unchanged.
 * So the track hears the queue in order with exactly one faded-out frame and one faded-in frame, nothing
 * skipped or repeated. A `resume()` before the faded-out frame was emitted cancels the pause with no fade
 * at all, and a `pause()` before the faded-in frame was emitted goes back to silence with no new fade.
 * When the queue runs out inside a faded frame, the ramp is cut there like any end of audio.
 */
export class PacedAudioOutput implements AudioOutput {
  readonly #sink: (samples: Int16Array) => void
  readonly #onError: ((err: unknown) => void) | undefined
  /** `onFrame()` listeners; replaced, never mutated, so a frame iterates a snapshot without copying it. */
  #frameListeners: readonly FrameListener[] = []
  readonly #clock: Clock
  readonly #ticker: FrameTicker
  readonly #idleAfterFrames: number
  readonly #createConverter: (fromHz: number, toHz: number) => RateConverter
  readonly #converters = new Map<number, RateConverter>()
  readonly #maxCatchUpFrames: number
  readonly #leadFrames: number
  readonly #frame = new Int16Array(FRAME_SAMPLES)
  readonly #queue: Chunk[] = []
  #queuedSamples = 0
  /** Marks completed by the last emitted frame: reported when its slot is over. */
  readonly #finishing: string[] = []
  #samplesInLastFrame = 0
  #playedSamples = 0
  readonly #drains: Array<() => void> = []
  readonly #listeners = new Set<(mark: string) => void>()
  #startAt = 0
  #frameIndex = 0
  #pauseState: PauseState = 'playing'
  #started = false
  /** Subscribed to the ticker, emitting frames (false before `start()` and while idle, see `idleAfterMs`). */
  #sending = false
  /** Silent frames emitted since the output last had something to play. */
  #idleFrames = 0
  readonly #minPauseMs: number
  /** When the frames stopped for idleness. */
  #stoppedAt = -Infinity
  /** Starts the frames again once the pause is long enough. */
  #resumeTimer: TimerHandle | undefined
  #closed = false
  /** Sounds mixed under the speech (thinking, ambient), see `setBackground()`. */
  #background: BackgroundMixer | undefined
  /** The last frame carried background sound. */
  #backgroundInFrame = false
  #framesSent = 0
  #restarts = 0
  #resumedAfterIdle = 0

  constructor (options: PacedAudioOutputOptions) {
    this.#sink = options.onFrame
    this.#onError = options.onError
    this.#clock = options.clock ?? monotonicClock
    this.#ticker = options.ticker ?? FrameTicker.of(this.#clock)
    this.#idleAfterFrames = Math.ceil((options.idleAfterMs ?? 10_000) / FRAME_MS)
    this.#minPauseMs = options.minPauseMs ?? 3000
    this.#createConverter = options.createConverter ?? ((fromHz, toHz) => new Resampler(fromHz, toHz))
    this.#maxCatchUpFrames = options.maxCatchUpFrames ?? 5
    this.#leadFrames = options.leadFrames ?? 0
  }

  get playing (): boolean {
    return this.#queue.length > 0 || this.#samplesInLastFrame > 0 || this.#finishing.length > 0
  }

  get playedMs (): number { return this.#playedSamples / SAMPLES_PER_MS }

  get paused (): boolean { return this.#pauseState === 'fading-out' || this.#pauseState === 'paused' }

  /** Whether frames are being emitted now (started, and not stopped for `idleAfterMs`). */
  get sending (): boolean { return this.#sending }

  /**
   * Frames emitted so far, how often the schedule restarted after the event loop fell behind, and how
   * often the frames started again (audio or `wake()`) after stopping for `idleAfterMs`.
   */
  get stats (): { framesSent: number, restarts: number, resumedAfterIdle: number } {
    return { framesSent: this.#framesSent, restarts: this.#restarts, resumedAfterIdle: this.#resumedAfterIdle }
  }

  /**
   * Starts emitting frames (idempotent). Audio written before start waits in the queue, and the first
   * frame, emitted now, carries it.
   */
  start (): void {
    if (this.#closed || this.#started) return
    this.#started = true
    this.#run()
    this.#tickNow()
  }

  write (pcm: Int16Array, sampleRateHz: number, mark?: string): void {
    if (!Number.isInteger(sampleRateHz) || sampleRateHz < 1000 || sampleRateHz > 384_000) {
      throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`sample rate ${String(sampleRateHz)} Hz`)
    }
    if (this.#closed) return
    const samples = sampleRateHz === OUTPUT_SAMPLE_RATE_HZ ? pcm.slice() : this.#converterFor(sampleRateHz).process(pcm).slice()
    this.#queue.push({ samples, offset: 0, mark })
    this.#queuedSamples += samples.length
    this.#background?.speechWritten()
    this.wake()
  }

  /**
   * Audio may come soon (the user is speaking): stopped frames start again (silence until audio is
   * written; not before `minPauseMs`), and running ones go on for another `idleAfterMs`. Cheap enough to
   * call on every speech event. No effect before `start()` or after `close()`.
   */
  wake (): void {
    if (this.#sending) {
      this.#idleFrames = 0
      return
    }
    if (!this.#started || this.#closed || this.#resumeTimer !== undefined) return
    const waitMs = this.#stoppedAt + this.#minPauseMs - this.#clock.now()
    if (waitMs > 0) {
      this.#resumeTimer = this.#clock.setTimeout(this.#resumeAfterPause, Math.ceil(waitMs))
      return
    }
    // The first frame once the caller's synchronous writes are queued (a microtask) or at the next
    // slot, whichever comes first.
    this.#resumedAfterIdle++
    this.#run()
    queueMicrotask(this.#kick)
  }

  drain (): Promise<void> {
    if (!this.playing || this.#closed) return Promise.resolve()
    return new Promise(resolve => { this.#drains.push(resolve) })
  }

  pause (): void {
    // The background mixer sees the pause in the next frame (its thinking sound gives way).
    if (this.#closed) return
    if (this.#pauseState === 'playing') this.#pauseState = 'fading-out'
    else if (this.#pauseState === 'fading-in') this.#pauseState = 'paused'
  }

  resume (): void {
    if (this.#pauseState === 'fading-out') this.#pauseState = 'playing'
    else if (this.#pauseState === 'paused') this.#pauseState = 'fading-in'
  }

  /** Drops queued audio and ends a pause (the next turn's audio plays as soon as it is written). */
  clear (): number {
    const dropped = this.#queuedSamples
    this.#background?.interrupt()
    this.#pauseState = 'playing'
    this.#queue.length = 0
    this.#queuedSamples = 0
    for (const converter of this.#converters.values()) converter.reset()
    if (!this.playing) this.#settleDrains()
    return dropped / SAMPLES_PER_MS
  }

  onPlayed (listener: (mark: string) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /**
   * Mixes `mixer`'s sounds into every frame from now on, after the speech and its fades (undefined: none).
   * They are not the answer: `playedMs`, marks, `drain()` and `playing` ignore them, but while the mixer
   * is active the frames do not stop for idleness, and a sound it wants wakes stopped frames. `clear()`
   * interrupts its thinking sound. One output per mixer.
   */
  setBackground (mixer: BackgroundMixer | undefined): void {
    if (mixer === this.#background) return
    this.#background?.attach(undefined)
    this.#background = mixer
    this.#backgroundInFrame = false
    mixer?.attach(this.#wakeForBackground)
  }

  /** The mixer set by `setBackground()`. */
  get background (): BackgroundMixer | undefined { return this.#background }

  /** Whether the last frame emitted carried background sound (not silence). */
  get backgroundInFrame (): boolean { return this.#backgroundInFrame }

  /**
   * Taps every frame emitted (the 480 samples at 48 kHz handed to `options.onFrame`, silence included,
   * none while stopped for idleness), right after the sink took it. The buffer is the output's own: copy
   * it to keep it.
   */
  onFrame (listener: FrameListener): () => void {
    this.#frameListeners = [...this.#frameListeners, listener]
    return () => { this.#frameListeners = this.#frameListeners.filter(l => l !== listener) }
  }

  /** Stops the clock and drops queued audio; pending `drain()`s resolve. Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#pauseState = 'playing'
    this.#sleep()
    this.#queue.length = 0
    this.#queuedSamples = 0
    this.#finishing.length = 0
    this.#samplesInLastFrame = 0
    this.#settleDrains()
    this.#listeners.clear()
    this.#frameListeners = []
    this.setBackground(undefined)
  }

  #converterFor (fromHz: number): RateConverter {
    let converter = this.#converters.get(fromHz)
    if (converter === undefined) {
      converter = this.#createConverter(fromHz, OUTPUT_SAMPLE_RATE_HZ)
      this.#converters.set(fromHz, converter)
    }
    return converter
  }

  /** A new schedule: its first frame is due now, in the ticker's current slot, the next ones on its slots. */
  #run (): void {
    this.#sending = true
    this.#idleFrames = 0
    this.#startAt = this.#ticker.slotStart(this.#clock.now())
    this.#frameIndex = 0
    this.#ticker.add(this.#onTick, this.#onTickError)
  }

  /** The sink or a frame listener threw: the output stops (closed) and the error is reported, never thrown from a timer. */
  readonly #onTickError = (err: unknown): void => {
    this.close()
    if (this.#onError !== undefined) this.#onError(err)
    else process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'PacedAudioOutputWarning')
  }

  /** A tick outside the ticker's own (a kick, a resume): its errors go the same way. */
  #tickNow (): void {
    try {
      this.#onTick(this.#clock.now())
    } catch (err) {
      this.#onTickError(err)
    }
  }

  readonly #wakeForBackground = (): void => { this.wake() }

  readonly #kick = (): void => { if (this.#sending) this.#tickNow() }

  readonly #resumeAfterPause = (): void => {
    this.#resumeTimer = undefined
    this.#resumedAfterIdle++
    this.#run()
    this.#tickNow()
  }

  /** Stops the frames (idle, or closed). */
  #sleep (): void {
    if (this.#sending) this.#stoppedAt = this.#clock.now()
    this.#sending = false
    this.#ticker.remove(this.#onTick)
    if (this.#resumeTimer !== undefined) this.#clock.clearTimeout(this.#resumeTimer)
    this.#resumeTimer = undefined
  }

  readonly #onTick = (now: number): void => {
    let due = Math.floor((now - this.#startAt) / FRAME_MS) + 1
    if (due - this.#frameIndex > this.#maxCatchUpFrames) {
      // Too far behind (blocked event loop): restart the schedule with the next frame due now, on the
      // ticker's slots.
      this.#startAt = this.#ticker.slotStart(now) - this.#frameIndex * FRAME_MS
      due = this.#frameIndex + 1
      this.#restarts++
    }
    // While audio is queued, up to `leadFrames` more frames than real time (none by default). A throwing
    // listener or sink propagates to the ticker, which hands it to #onTickError.
    while (this.#sending && this.#frameIndex < due + (this.#queue.length > 0 ? this.#leadFrames : 0)) {
      this.#frameIndex++
      this.#finishLastFrame()
      if (!this.#sending) break // closed by a listener
      this.#emitFrame()
      if (this.playing || this.#background?.active === true) this.#idleFrames = 0
      else if (++this.#idleFrames >= this.#idleAfterFrames) this.#sleep()
    }
  }

  /** The previous frame's slot is over: its audio has played. */
  #finishLastFrame (): void {
    this.#playedSamples += this.#samplesInLastFrame
    this.#samplesInLastFrame = 0
    if (this.#finishing.length > 0) {
      for (let i = 0; i < this.#finishing.length; i++) {
        const mark = this.#finishing[i] as string
        for (const listener of this.#listeners) listener(mark)
      }
      this.#finishing.length = 0
    }
    if (this.#queue.length === 0) this.#settleDrains()
  }

  #emitFrame (): void {
    const frame = this.#frame
    let filled = 0
    while (this.#pauseState !== 'paused' && this.#queue.length > 0) {
      const chunk = this.#queue[0] as Chunk
      const source = chunk.samples
      const count = Math.min(FRAME_SAMPLES - filled, source.length - chunk.offset)
      // An index loop, not set(subarray()): no view object per frame.
      for (let i = 0; i < count; i++) frame[filled + i] = source[chunk.offset + i] as number
      filled += count
      chunk.offset += count
      if (chunk.offset < source.length) break
      this.#queue.shift()
      if (chunk.mark !== undefined) this.#finishing.push(chunk.mark)
    }
    if (this.#pauseState === 'fading-out') {
      for (let i = 0; i < filled; i++) frame[i] = Math.round((frame[i] as number) * (FADE_OUT[i] as number))
      this.#pauseState = 'paused'
    } else if (this.#pauseState === 'fading-in') {
      for (let i = 0; i < filled; i++) frame[i] = Math.round((frame[i] as number) * (FADE_IN[i] as number))
      this.#pauseState = 'playing'
    }
    if (filled < FRAME_SAMPLES) frame.fill(0, filled)
    const background = this.#background
    if (background !== undefined) this.#backgroundInFrame = background.mix(frame, filled, this.#pauseState === 'paused')
    this.#queuedSamples -= filled
    this.#samplesInLastFrame = filled
    this.#framesSent++
    this.#sink(frame)
    const listeners = this.#frameListeners
    for (let i = 0; i < listeners.length; i++) (listeners[i] as FrameListener)(frame, OUTPUT_SAMPLE_RATE_HZ)
  }

  #settleDrains (): void {
    if (this.#drains.length === 0) return
    const drains = this.#drains.splice(0)
    for (const resolve of drains) resolve()
  }
}
