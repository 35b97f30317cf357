import type { Clock, TimerHandle } from '../../lib/clock.js'

interface Timer { at: number, fn: () => void, every: number | undefined, id: number }

/** A clock that moves only when told: `advance(ms)` fires due timers in order. */
export class FakeClock implements Clock {
  #now: number
  #timers = new Map<number, Timer>()
  #nextId = 1

  constructor (start = 1_700_000_000_000) {
    this.#now = start
  }

  now = (): number => this.#now

  setTimeout = (fn: () => void, ms: number): TimerHandle => this.#add(fn, ms, undefined)
  setInterval = (fn: () => void, ms: number): TimerHandle => this.#add(fn, ms, ms)
  clearTimeout = (handle: TimerHandle): void => { this.#timers.delete(handle as unknown as number) }
  clearInterval = (handle: TimerHandle): void => { this.#timers.delete(handle as unknown as number) }

  /** Number of pending timers (leak checks). */
  get pending (): number { return this.#timers.size }

  advance (ms: number): void {
    const target = this.#now + ms
    for (;;) {
      let next: Timer | undefined
      for (const timer of this.#timers.values()) {
        if (timer.at <= target && (next === undefined || timer.at < next.at)) next = timer
      }
      if (next === undefined) break
      this.#now = next.at
      if (next.every === undefined) this.#timers.delete(next.id)
      else next.at += next.every
      next.fn()
    }
    this.#now = target
  }

  #add (fn: () => void, ms: number, every: number | undefined): TimerHandle {
    const id = this.#nextId++
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn, every: every === undefined ? undefined : Math.max(1, every), id })
    return id as unknown as TimerHandle
  }
}
