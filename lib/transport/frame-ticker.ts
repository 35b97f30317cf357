import type { Clock, TimerHandle } from '../clock.js'

/** Called at each slot with the clock's time; the subscriber decides what is due. */
export type TickListener = (now: number) => void
/** Gets the error a subscriber threw; the subscriber has been removed. */
export type TickErrorListener = (err: unknown) => void

const tickers = new WeakMap<Clock, FrameTicker>()

/**
 * One timer for every paced output on a clock: it fires at `phase + k × periodMs` (an absolute schedule,
 * so late timers never add up into drift; the phase is the time of the first subscription) and calls each
 * subscriber with the time. Subscribers keep their own frame schedule, aligned to these slots
 * (`slotStart`), and decide how many frames are due. The timer runs only while someone is subscribed;
 * the slots stay the same after everyone left.
 *
 * A subscriber that throws does not stop the others or the timer, and nothing is thrown from the timer
 * (it would be an uncaught exception that ends every session of the process): the subscriber is removed
 * and its error goes to its `onError`, or to `process.emitWarning` without one.
 */
export class FrameTicker {
  readonly #clock: Clock
  readonly #periodMs: number
  /** Subscribers in order; a removed one leaves `undefined` until the current tick is over. */
  readonly #listeners: Array<TickListener | undefined> = []
  readonly #onErrors = new Map<TickListener, TickErrorListener>()
  #phase: number | undefined
  #timer: TimerHandle | undefined
  #ticking = false
  #holes = false

  constructor (clock: Clock, periodMs: number) {
    this.#clock = clock
    this.#periodMs = periodMs
  }

  /** The ticker every output on `clock` shares (10 ms slots). */
  static of (clock: Clock): FrameTicker {
    let ticker = tickers.get(clock)
    if (ticker === undefined) {
      ticker = new FrameTicker(clock, 10)
      tickers.set(clock, ticker)
    }
    return ticker
  }

  /** Subscribers now. */
  get size (): number { return this.#listeners.reduce((n, listener) => listener === undefined ? n : n + 1, 0) }

  /** The start of the slot `now` falls in (`now` before the first subscription). */
  slotStart (now: number): number {
    const phase = this.#phase ?? now
    return phase + Math.floor((now - phase) / this.#periodMs) * this.#periodMs
  }

  /** Calls `listener` at every slot from the next one on (idempotent per listener); `onError` gets what it throws. */
  add (listener: TickListener, onError?: TickErrorListener): void {
    if (this.#listeners.includes(listener)) return
    this.#listeners.push(listener)
    if (onError !== undefined) this.#onErrors.set(listener, onError)
    if (this.#timer === undefined && !this.#ticking) {
      this.#phase ??= this.#clock.now()
      this.#schedule()
    }
  }

  remove (listener: TickListener): void {
    const index = this.#listeners.indexOf(listener)
    if (index === -1) return
    this.#onErrors.delete(listener)
    if (this.#ticking) {
      this.#listeners[index] = undefined
      this.#holes = true
      return
    }
    this.#listeners.splice(index, 1)
    if (this.#listeners.length === 0) this.#stop()
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined
    this.#ticking = true
    const now = this.#clock.now()
    // Subscribers added during this tick wait for the next one (they emitted their first frame when added).
    const count = this.#listeners.length
    for (let i = 0; i < count; i++) {
      const listener = this.#listeners[i]
      if (listener === undefined) continue
      try {
        listener(now)
      } catch (err) {
        this.#failed(listener, err)
      }
    }
    this.#ticking = false
    if (this.#holes) this.#compact()
    if (this.#listeners.length > 0) this.#schedule()
    else this.#stop()
  }

  #failed (listener: TickListener, err: unknown): void {
    const onError = this.#onErrors.get(listener)
    this.remove(listener)
    try {
      if (onError !== undefined) onError(err)
      else process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'FrameTickerWarning')
    } catch (reportErr) {
      process.emitWarning(reportErr instanceof Error ? reportErr : new Error(String(reportErr)), 'FrameTickerWarning')
    }
  }

  #schedule (): void {
    const now = this.#clock.now()
    const next = this.slotStart(now) + this.#periodMs
    this.#timer = this.#clock.setTimeout(this.#onTimer, Math.max(1, Math.ceil(next - now)))
  }

  #stop (): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #compact (): void {
    this.#holes = false
    let kept = 0
    for (let i = 0; i < this.#listeners.length; i++) {
      const listener = this.#listeners[i]
      if (listener !== undefined) this.#listeners[kept++] = listener
    }
    this.#listeners.length = kept
  }
}
