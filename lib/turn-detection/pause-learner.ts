/** How a `PauseLearner` learns. Every field is optional; see `DEFAULT_PAUSE_LEARNER_OPTIONS`. */
export interface PauseLearnerOptions {
  /** Shorter silences are gaps between words, not pauses, and are ignored, in ms (default 150). */
  minPauseMs?: number
  /** Pauses seen before `adjust` changes anything (default 3). */
  warmupPauses?: number
  /** Weight of each new pause in the moving averages, 0-1 (default 0.2: about the last 10 pauses count). */
  alpha?: number
  /** The learned pause length the endpoint curve is tuned for, in ms: a user who pauses this long gets it unchanged (default 500). */
  referencePauseMs?: number
  /** Bounds of the stretch factor (defaults 0.5 and 2.5). */
  minFactor?: number
  maxFactor?: number
}

export const DEFAULT_PAUSE_LEARNER_OPTIONS: Readonly<Required<PauseLearnerOptions>> = Object.freeze({
  minPauseMs: 150,
  warmupPauses: 3,
  alpha: 0.2,
  referencePauseMs: 500,
  minFactor: 0.5,
  maxFactor: 2.5
})

/** A pause counts at most this many times the current estimate, so one long silence cannot swamp it. */
const OUTLIER_RATIO = 2
/** A turn with no pause moves the estimate this far back toward the reference. */
const RELAX = 0.1

/**
 * Dynamic endpointing: learns how long this user pauses mid-turn, within a session, and stretches or shortens
 * the wait chosen from the turn detector's probability accordingly.
 *
 * It keeps exponential moving averages of the pauses (≥ `minPauseMs`) after which the user spoke again, and
 * of their absolute deviation; `mean + deviation` estimates a high percentile of this user's pauses (about
 * the 80th for a normal spread). `adjust` multiplies the wait by `estimate / referencePauseMs`, bounded to
 * [`minFactor`, `maxFactor`], then clamps it to [min, max], so:
 * - with the default curve an undecided turn (p = 0.5, 588 ms) waits about 1.2 × this user's long pauses:
 *   ~870 ms for a user who pauses 700 ms mid-sentence, ~350 ms for a brisk one who pauses 250-300 ms;
 * - the order of waits is kept, a brisk user's confident "finished" stays at min (a slow user's grows a
 *   little: 250 → ~370 ms), and the result is always within [min, max].
 *
 * Robust and bounded: until `warmupPauses` pauses were seen `adjust` returns its input; afterwards each pause
 * counts at most twice the current estimate, so one 10 s silence raises it by half at most (and the factor
 * stays within its bounds), while a user who keeps pausing long is learned within a few pauses. A turn that ends with no pause in it relaxes
 * the estimate 10 % toward the reference, so an early run of long pauses fades once the user stops pausing.
 * O(1) memory: four numbers.
 */
export class PauseLearner {
  readonly #options: Readonly<Required<PauseLearnerOptions>>
  #count = 0
  #mean = 0
  #deviation = 0
  #pausesThisTurn = 0

  constructor (options: PauseLearnerOptions = {}) {
    this.#options = { ...DEFAULT_PAUSE_LEARNER_OPTIONS, ...options }
  }

  /** Pauses learned from so far. */
  get pauses (): number { return this.#count }

  /** The learned high pause length in ms (mean + deviation), or undefined during warm-up. */
  get estimateMs (): number | undefined {
    return this.#count < this.#options.warmupPauses ? undefined : this.#mean + this.#deviation
  }

  /** A silence of `ms` inside a turn, after which the user spoke again (not a turn end). */
  observePause (ms: number): void {
    if (!Number.isFinite(ms) || ms < this.#options.minPauseMs) return
    this.#pausesThisTurn++
    const { alpha, warmupPauses, referencePauseMs } = this.#options
    const cap = OUTLIER_RATIO * (this.#count === 0 ? referencePauseMs : Math.max(this.#mean + this.#deviation, referencePauseMs / 2))
    const pause = Math.min(ms, cap)
    this.#count++
    // During warm-up a plain average, so the first pause does not weigh for everything.
    const weight = this.#count <= warmupPauses ? 1 / this.#count : alpha
    const mean = this.#mean + weight * (pause - this.#mean)
    this.#deviation += weight * (Math.abs(pause - mean) - this.#deviation)
    this.#mean = mean
  }

  /** The turn ended after `silenceMs` of silence. A turn with no pause in it relaxes the estimate toward the reference. */
  observeTurnEnd (silenceMs: number): void {
    const paused = this.#pausesThisTurn > 0
    this.#pausesThisTurn = 0
    if (paused || this.#count < this.#options.warmupPauses || !Number.isFinite(silenceMs)) return
    const { referencePauseMs } = this.#options
    this.#mean += RELAX * (referencePauseMs - this.#deviation - this.#mean)
  }

  /** `endpointMs` (chosen between `min` and `max` from a probability) stretched or shortened for this user; always within [min, max]. */
  adjust (endpointMs: number, min: number, max: number): number {
    const estimate = this.estimateMs
    const factor = estimate === undefined
      ? 1
      : Math.min(this.#options.maxFactor, Math.max(this.#options.minFactor, estimate / this.#options.referencePauseMs))
    return Math.min(max, Math.max(min, factor === 1 ? endpointMs : Math.round(endpointMs * factor)))
  }
}
