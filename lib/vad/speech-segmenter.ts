import { PcmBuffer } from '../audio/pcm-buffer.js'
import { assertProbability } from '../config/invalid-option.js'
import { resolveSegmenterOptions, type ResolvedSegmenterOptions, type SpeechSegmenterOptions } from './segmenter-options.js'
import { SPEECH_SAMPLE_RATE_HZ, type SpeechEvent } from './speech-events.js'

const SAMPLES_PER_MS = SPEECH_SAMPLE_RATE_HZ / 1000

/**
 * Cuts a 16 kHz mono stream into utterances from per-window speech probabilities. Pure and synchronous:
 * time is the stream's own, counted in samples, so the same input always gives the same events.
 *
 * Event contract (what the pipeline relies on):
 * - `speech-start` comes promptly, on the first window whose probability reaches `activationThreshold`.
 *   `atMs` is that window's start; `preRoll` holds `preSpeechPadMs` of audio before it plus the window.
 * - The speech is *confirmed* once it holds `minSpeechMs` of speech windows. Only then does `speech-audio`
 *   flow: the first one carries everything since the pre-roll, later ones one window each. So the first
 *   `speech-audio` after a `speech-start` is the signal to interrupt the assistant (barge-in) or open a
 *   paid streaming STT; a blip never produces one.
 * - After `endOfSpeechSilenceMs` of silence, a confirmed utterance ends with `speech-end` (`atMs` is the
 *   end of its last speech window; `utterance` is the pre-roll and every `speech-audio` joined, trailing
 *   silence included; `durationMs` is the utterance's length). An unconfirmed one ends with
 *   `speech-cancelled` (`atMs` likewise).
 * - Inside an utterance, each window of silence emits `speech-pause` (`silenceMs` growing), and the first
 *   speech window after one emits `speech-resume`: the pipeline starts preemptive work on a pause and
 *   learns the user's pause lengths.
 * - `setEndOfSpeechSilenceMs()` moves the end-of-speech wait of the current utterance (adaptive end of
 *   turn); each new utterance starts from `endOfSpeechSilenceMs`.
 * - `setOnsetThreshold()` lets speech start at a lower probability than `activationThreshold` for as long
 *   as it is set (while the assistant speaks, so that it pauses sooner); confirmation is unchanged.
 * - Emitted arrays are never overwritten: consumers may keep them without copying.
 */
export class SpeechSegmenter {
  readonly #options: ResolvedSegmenterOptions
  readonly #emit: (event: SpeechEvent) => void
  readonly #minSpeech: number
  readonly #baseEndSilence: number
  #endSilence: number
  /** The probability at which a window starts speech: `activationThreshold`, or a lower onset threshold while one is set. */
  #activation: number
  #pushing = false
  readonly #maxSpeech: number
  /** Recent audio, for the pre-roll: a ring of `preSpeechPadMs`. */
  readonly #ring: Int16Array
  #ringWrite = 0
  #ringFilled = 0
  /** Samples seen so far: the stream's clock. */
  #position = 0
  #utterance: PcmBuffer | undefined
  #emitted = 0
  #speech = 0
  #silence = 0
  #lastSpeechEnd = 0
  #confirmed = false

  /** Throws LLMRTC_ERR_OPTIONS_INVALID for bad options. */
  constructor (options: SpeechSegmenterOptions | undefined, emit: (event: SpeechEvent) => void) {
    this.#options = resolveSegmenterOptions(options)
    this.#emit = emit
    this.#minSpeech = this.#options.minSpeechMs * SAMPLES_PER_MS
    this.#baseEndSilence = this.#endSilence = this.#options.endOfSpeechSilenceMs * SAMPLES_PER_MS
    this.#activation = this.#options.activationThreshold
    this.#maxSpeech = this.#options.maxSpeechMs * SAMPLES_PER_MS
    this.#ring = new Int16Array(this.#options.preSpeechPadMs * SAMPLES_PER_MS)
  }

  /** The options in effect, defaults applied. */
  get options (): Readonly<ResolvedSegmenterOptions> {
    return this.#options
  }

  /** True between `speech-start` and `speech-end`/`speech-cancelled`. */
  get inSpeech (): boolean {
    return this.#utterance !== undefined
  }

  /** The end-of-speech wait of the current utterance, in ms. */
  get endOfSpeechSilenceMs (): number {
    return this.#endSilence / SAMPLES_PER_MS
  }

  /**
   * Sets the silence that ends the current utterance, in ms (at least one window, at most
   * `maxSpeechMs`). When the silence so far already reaches it, the utterance ends now (or, when called
   * from an event handler during `push`, at the end of that push).
   */
  setEndOfSpeechSilenceMs (ms: number): void {
    const samples = Math.max(1, Math.min(Math.round(ms * SAMPLES_PER_MS), this.#maxSpeech))
    this.#endSilence = samples
    if (!this.#pushing) this.#endIfSilentEnough()
  }

  /** The probability at which a window starts speech now. */
  get onsetThreshold (): number {
    return this.#activation
  }

  /**
   * From the next window on, speech starts at `threshold` (0-1, exclusive) instead of
   * `activationThreshold`, never above it; undefined goes back to `activationThreshold`. What confirms
   * and ends speech is unchanged. Throws LLMRTC_ERR_OPTIONS_INVALID for a bad threshold.
   */
  setOnsetThreshold (threshold: number | undefined): void {
    if (threshold !== undefined) assertProbability('onsetThreshold', threshold)
    this.#activation = Math.min(threshold ?? 1, this.#options.activationThreshold)
  }

  /** Stream time in ms: the end of the last window pushed. */
  get positionMs (): number {
    return this.#position / SAMPLES_PER_MS
  }

  /**
   * Feeds one window of 16 kHz mono audio (any length; 512 samples from Silero) and its speech
   * probability. Events are emitted synchronously. `window` is copied.
   */
  push (window: Int16Array, probability: number): void {
    const start = this.#position
    const end = start + window.length
    const utterance = this.#utterance
    this.#pushing = true
    try {
      if (utterance === undefined) {
        if (probability >= this.#activation) this.#start(window, start, end)
      } else {
        utterance.append(window)
        const speaking = probability >= this.#options.deactivationThreshold
        const pauseMs = this.#silence / SAMPLES_PER_MS
        if (speaking) {
          this.#speech += window.length
          this.#silence = 0
          this.#lastSpeechEnd = end
        } else {
          this.#silence += window.length
        }
        if (!this.#confirmed && this.#speech >= this.#minSpeech) this.#confirmed = true
        if (this.#confirmed && utterance.length > this.#emitted) {
          this.#emit({ type: 'speech-audio', samples: utterance.view(this.#emitted) })
          this.#emitted = utterance.length
        }
        if (speaking && pauseMs > 0) this.#emit({ type: 'speech-resume', atMs: start / SAMPLES_PER_MS, pauseMs })
        if (this.#silence >= this.#endSilence || utterance.length >= this.#maxSpeech) {
          this.#end(utterance)
        } else if (!speaking) {
          this.#emit({ type: 'speech-pause', atMs: end / SAMPLES_PER_MS, silenceMs: this.#silence / SAMPLES_PER_MS, utterance: this.#confirmed ? utterance.view() : undefined })
        }
      }
    } finally {
      this.#pushing = false
    }
    this.#remember(window)
    this.#position = end
    // The wait may have been shortened by a handler of this push's events.
    this.#endIfSilentEnough()
  }

  /** Ends the current utterance now (stream closing): as speech-end if confirmed, else speech-cancelled. */
  flush (): void {
    if (this.#utterance !== undefined) this.#end(this.#utterance)
  }

  #endIfSilentEnough (): void {
    const utterance = this.#utterance
    if (utterance !== undefined && this.#silence > 0 && this.#silence >= this.#endSilence) this.#end(utterance)
  }

  #start (window: Int16Array, start: number, end: number): void {
    const utterance = new PcmBuffer(this.#ring.length + SPEECH_SAMPLE_RATE_HZ)
    if (this.#ringFilled === this.#ring.length) utterance.append(this.#ring.subarray(this.#ringWrite))
    utterance.append(this.#ring.subarray(0, this.#ringWrite))
    utterance.append(window)
    this.#utterance = utterance
    this.#speech = window.length
    this.#silence = 0
    this.#lastSpeechEnd = end
    this.#confirmed = this.#speech >= this.#minSpeech
    this.#endSilence = this.#baseEndSilence
    this.#emitted = utterance.length
    this.#emit({ type: 'speech-start', atMs: start / SAMPLES_PER_MS, preRoll: utterance.view() })
  }

  #end (utterance: PcmBuffer): void {
    const atMs = this.#lastSpeechEnd / SAMPLES_PER_MS
    this.#utterance = undefined
    if (this.#confirmed) {
      this.#emit({ type: 'speech-end', atMs, utterance: utterance.view(), durationMs: utterance.length / SAMPLES_PER_MS })
    } else {
      this.#emit({ type: 'speech-cancelled', atMs })
    }
  }

  /** Keeps the last `preSpeechPadMs` of audio in the ring. */
  #remember (window: Int16Array): void {
    const ring = this.#ring
    if (ring.length === 0) return
    const samples = window.length > ring.length ? window.subarray(window.length - ring.length) : window
    const first = Math.min(samples.length, ring.length - this.#ringWrite)
    ring.set(samples.subarray(0, first), this.#ringWrite)
    ring.set(samples.subarray(first), 0)
    this.#ringWrite = (this.#ringWrite + samples.length) % ring.length
    this.#ringFilled = Math.min(ring.length, this.#ringFilled + samples.length)
  }
}
