import { systemClock, type Clock, type TimerHandle } from '../clock.js'

/** The keys of a phone's keypad (and the A–D of a full DTMF pad), as carriers report them. */
export const DTMF_DIGIT = /^[0-9*#A-D]$/

/** One key the caller pressed. */
export interface DtmfEvent {
  digit: string
  /** Epoch ms (the collector's clock) when the key reached the server. */
  timestamp: number
}

/** What to wait for in `DtmfCollector.collect`. */
export interface DtmfCollectOptions {
  /** Resolve once this many keys were collected (an integer >= 1). Without it, only the terminator or a timeout ends the collection. */
  count?: number
  /** A key that ends the collection (default none; e.g. '#'). It is consumed, not returned. */
  terminator?: string
  /** How long to wait for the first key, in ms (default 10 000). */
  firstDigitTimeoutMs?: number
  /** How long to wait for each following key, in ms (default 5 000). */
  interDigitTimeoutMs?: number
  /** Aborting ends the collection with the keys so far: those are consumed. */
  signal?: AbortSignal
}

/** What a collection got: `timedOut` when a timeout (or the signal) ended it before its count or terminator. */
export interface DtmfCollected {
  digits: string
  timedOut: boolean
  /** The terminator key ended it. */
  terminated: boolean
}

export interface DtmfCollectorOptions {
  /** Keys kept while no collection takes them: the oldest are dropped past it (default 64). */
  maxBuffered?: number
  /** Default: the system clock. */
  clock?: Clock
}

export const DEFAULT_FIRST_DIGIT_TIMEOUT_MS = 10_000
export const DEFAULT_INTER_DIGIT_TIMEOUT_MS = 5_000

interface Waiter {
  options: DtmfCollectOptions
  digits: string
  /** Armed only while the waiter is the first in line. */
  timer: TimerHandle | undefined
  resolve: (collected: DtmfCollected) => void
  onAbort: () => void
}

/**
 * The keys a caller pressed on one call. Keys pressed while no collection runs are kept (a bounded
 * buffer), so "enter your account number" also counts the keys pressed before the question ended. A
 * collection takes keys until its count, its terminator, a timeout (first-key, then between keys) or its
 * signal; collections run one at a time, in the order they were asked for. No timer outlives a
 * collection, and `close` ends every collection.
 */
export class DtmfCollector {
  readonly #max: number
  readonly #clock: Clock
  #buffer = ''
  readonly #waiters: Waiter[] = []
  #closed = false

  constructor (options: DtmfCollectorOptions = {}) {
    this.#max = options.maxBuffered ?? 64
    this.#clock = options.clock ?? systemClock
  }

  /** Keys pressed and not yet collected (oldest first). */
  get buffered (): string { return this.#buffer }

  /** Collections waiting (the first one is taking keys). */
  get waiting (): number { return this.#waiters.length }

  /**
   * A key was pressed: the running collection takes it, or it is kept for the next one. Returns the event
   * (digit and time), or undefined for something that is not a DTMF key (ignored) or after `close`.
   */
  press (digit: string): DtmfEvent | undefined {
    if (this.#closed || !DTMF_DIGIT.test(digit)) return undefined
    const event = { digit, timestamp: this.#clock.now() }
    const waiter = this.#waiters[0]
    if (waiter === undefined) {
      this.#buffer = (this.#buffer + digit).slice(-this.#max)
    } else {
      this.#take(waiter, digit)
    }
    return event
  }

  /** Forgets the keys not collected yet. */
  clear (): void {
    this.#buffer = ''
  }

  /**
   * Waits for the caller's keys, starting with those already pressed. Resolves (never rejects) with the
   * keys collected: at `count`, at the terminator, or with `timedOut` when a timeout, the signal or `close`
   * ended it first.
   */
  async collect (options: DtmfCollectOptions = {}): Promise<DtmfCollected> {
    if (this.#closed || options.signal?.aborted === true) return { digits: '', timedOut: true, terminated: false }
    return await new Promise<DtmfCollected>(resolve => {
      const waiter: Waiter = { options, digits: '', timer: undefined, resolve, onAbort: () => { this.#finish(waiter, true, false) } }
      options.signal?.addEventListener('abort', waiter.onAbort, { once: true })
      this.#waiters.push(waiter)
      if (this.#waiters.length === 1) this.#begin(waiter)
    })
  }

  /** Ends every collection (with the keys each has) and drops the buffer; later keys are ignored. */
  close (): void {
    this.#closed = true
    this.#buffer = ''
    for (const waiter of [...this.#waiters]) this.#finish(waiter, true, false)
  }

  /** The first in line starts: it takes the buffered keys, then waits with its first-key timer. */
  #begin (waiter: Waiter): void {
    // One key at a time: what it does not need stays buffered for the next collection.
    while (this.#buffer !== '') {
      const digit = this.#buffer.charAt(0)
      this.#buffer = this.#buffer.slice(1)
      if (this.#take(waiter, digit)) return
    }
    this.#arm(waiter, waiter.digits === '' ? waiter.options.firstDigitTimeoutMs ?? DEFAULT_FIRST_DIGIT_TIMEOUT_MS : this.#interDigit(waiter))
  }

  /** Gives `digit` to `waiter`; true when that ended its collection. */
  #take (waiter: Waiter, digit: string): boolean {
    if (waiter.options.terminator !== undefined && digit === waiter.options.terminator) {
      this.#finish(waiter, false, true)
      return true
    }
    waiter.digits += digit
    if (waiter.options.count !== undefined && waiter.digits.length >= waiter.options.count) {
      this.#finish(waiter, false, false)
      return true
    }
    if (this.#waiters[0] === waiter) this.#arm(waiter, this.#interDigit(waiter))
    return false
  }

  #interDigit (waiter: Waiter): number {
    return waiter.options.interDigitTimeoutMs ?? DEFAULT_INTER_DIGIT_TIMEOUT_MS
  }

  #arm (waiter: Waiter, ms: number): void {
    if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer)
    waiter.timer = this.#clock.setTimeout(() => {
      waiter.timer = undefined
      this.#finish(waiter, true, false)
    }, ms)
  }

  #finish (waiter: Waiter, timedOut: boolean, terminated: boolean): void {
    const index = this.#waiters.indexOf(waiter)
    if (index === -1) return
    this.#waiters.splice(index, 1)
    if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer)
    waiter.timer = undefined
    waiter.options.signal?.removeEventListener('abort', waiter.onAbort)
    waiter.resolve({ digits: waiter.digits, timedOut, terminated })
    // The next in line starts once the first is done.
    const next = this.#waiters[0]
    if (index === 0 && next !== undefined && !this.#closed) this.#begin(next)
  }
}
