import type { BackgroundSounds } from './background-sounds.js'

/** Samples in one paced frame (10 ms at 48 kHz), the unit the mixer works in. */
const FRAME_SAMPLES = 480
/** The ambient sound comes back up after speech over this long, in frames (300 ms); it ducks within one. */
const RELEASE_FRAMES = 30

/**
 * One session's background sounds, mixed into each 48 kHz frame of its paced output after the speech
 * (docs/background-audio.md). The sounds are the server's, shared and read only; the mixer holds only
 * positions and gains, and `mix()` allocates nothing.
 *
 * - Thinking sound: wanted between `think()` and `stopThinking()` (or, with `untilSpeech`, the next
 *   speech written); it plays once no speech has played for `delayMs` since it was wanted, from its
 *   start, and gives way to speech: it fades out within the frame in which speech (or a pause of the
 *   output) comes, and waits `delayMs` of quiet again. `interrupt()` (barge-in) stops it within a frame.
 * - Ambient sound: loops under the whole call; under speech it ducks to `duckTo` within a frame and comes
 *   back over 300 ms.
 *
 * Gain changes are linear ramps across one frame, so nothing clicks. Nothing here touches the speech
 * queue: the played time, marks and drains of the answer never see the background.
 */
export class BackgroundMixer {
  readonly #thinking: BackgroundSounds['thinking']
  readonly #ambient: BackgroundSounds['ambient']
  readonly #delayFrames: number
  #wanted = false
  #untilSpeech = false
  /** Frames without speech (and not paused) since the thinking sound was wanted or last gave way. */
  #quietFrames = 0
  #thinkingGain = 0
  #thinkingAt = 0
  #ambientGain = 0
  #ambientAt = 0
  #ambientOn: boolean
  #wake: (() => void) | undefined
  #thinkingFrames = 0

  constructor (sounds: BackgroundSounds) {
    this.#thinking = sounds.thinking
    this.#ambient = sounds.ambient
    this.#ambientOn = sounds.ambient !== undefined
    this.#delayFrames = Math.ceil((sounds.thinking?.delayMs ?? 0) / 10)
  }

  /** True while a sound may play: the output keeps its frames running (no idle stop). */
  get active (): boolean {
    return this.#ambientOn || this.#wanted || this.#thinkingGain > 0 || this.#ambientGain > 0
  }

  /** True while the thinking sound is wanted (it may still be waiting for its delay). */
  get thinking (): boolean { return this.#wanted }

  /** Frames in which the thinking sound was heard (for tests and metrics). */
  get thinkingFrames (): number { return this.#thinkingFrames }

  /** Whether this mixer has a thinking sound / an ambient sound. */
  get hasThinking (): boolean { return this.#thinking !== undefined }
  get hasAmbient (): boolean { return this.#ambient !== undefined }

  /** Called by the output it is attached to: `wake` starts its frames when a sound is wanted. */
  attach (wake: (() => void) | undefined): void {
    this.#wake = wake
    if (this.active) wake?.()
  }

  /**
   * The assistant is working (a tool runs, or the answer is awaited): the thinking sound is wanted from
   * now on, until `stopThinking()`, or, with `untilSpeech`, until speech is written to the output too.
   * No effect without a thinking sound.
   */
  think (untilSpeech = false): void {
    if (this.#thinking === undefined) return
    if (!this.#wanted) this.#quietFrames = 0
    this.#wanted = true
    this.#untilSpeech = untilSpeech
    this.#wake?.()
  }

  /** The thinking sound is no longer wanted: it fades out over the next frame. */
  stopThinking (): void {
    this.#wanted = false
    this.#untilSpeech = false
  }

  /** The output got speech to play. */
  speechWritten (): void {
    if (this.#untilSpeech) this.stopThinking()
  }

  /** Barge-in (the output's queue was dropped): the thinking sound stops within the next frame. */
  interrupt (): void {
    this.stopThinking()
  }

  /** Turns the ambient sound off (it fades out) or on again (when there is one). */
  setAmbient (on: boolean): void {
    this.#ambientOn = on && this.#ambient !== undefined
    if (this.#ambientOn) this.#wake?.()
  }

  /**
   * Adds the sounds into `frame` (480 samples at 48 kHz, holding the speech), of which `speechSamples`
   * are speech; `paused`: the output is paused (the user may be interrupting). Returns whether anything
   * was added.
   */
  mix (frame: Int16Array, speechSamples: number, paused: boolean): boolean {
    const speech = speechSamples > 0
    let added = false
    const thinking = this.#thinking
    if (thinking !== undefined) {
      if (!this.#wanted || speech || paused) this.#quietFrames = 0
      else this.#quietFrames++
      const target = this.#wanted && !speech && !paused && this.#quietFrames > this.#delayFrames ? thinking.volume : 0
      // Starting afresh: from the sound's beginning, not wherever it last stopped.
      if (this.#thinkingGain === 0 && target > 0) this.#thinkingAt = 0
      if (this.#thinkingGain > 0 || target > 0) {
        this.#thinkingAt = addLooped(frame, thinking.pcm, this.#thinkingAt, this.#thinkingGain, target)
        this.#thinkingGain = target
        this.#thinkingFrames++
        added = true
      }
    }
    const ambient = this.#ambient
    if (ambient !== undefined) {
      let target = this.#ambientOn ? ambient.volume * (speech ? ambient.duckTo : 1) : 0
      // Ducking is immediate; coming back up is spread over RELEASE_FRAMES.
      if (target > this.#ambientGain) target = Math.min(target, this.#ambientGain + ambient.volume / RELEASE_FRAMES)
      if (this.#ambientGain > 0 || target > 0) {
        this.#ambientAt = addLooped(frame, ambient.pcm, this.#ambientAt, this.#ambientGain, target)
        this.#ambientGain = target
        added = true
      }
    }
    return added
  }
}

/**
 * Adds `source` (looped, from `at`) into `frame` with a gain ramping linearly from `from` to `to`,
 * saturating at the 16-bit range. The Int16Array store truncates toward zero (an error under one step):
 * Math.round here made the loop 2-3 times slower (bench/background-mixer.ts). Returns the position after
 * the frame.
 */
function addLooped (frame: Int16Array, source: Int16Array, at: number, from: number, to: number): number {
  const length = source.length
  // A ramp over all but the last sample, which takes `to` exactly (a steady gain is the usual case: no ramp).
  const rampEnd = from === to ? 0 : FRAME_SAMPLES - 1
  const step = (to - from) / FRAME_SAMPLES
  for (let i = 0; i < rampEnd; i++) {
    const value = (frame[i] as number) + (source[at] as number) * (from + step * (i + 1))
    frame[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value
    if (++at === length) at = 0
  }
  for (let i = rampEnd; i < FRAME_SAMPLES; i++) {
    const value = (frame[i] as number) + (source[at] as number) * to
    frame[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value
    if (++at === length) at = 0
  }
  return at
}
