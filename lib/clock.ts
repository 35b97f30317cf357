/**
 * Time as the core sees it. Injected so that TTLs, heartbeats, endpointing and pacing are tested
 * without real time passing.
 */
export interface Clock {
  /** Milliseconds, monotonic enough for durations (epoch in the real clock). */
  now: () => number
  /** Like setTimeout, but the timer never keeps the process alive. */
  setTimeout: (fn: () => void, ms: number) => TimerHandle
  clearTimeout: (handle: TimerHandle) => void
  setInterval: (fn: () => void, ms: number) => TimerHandle
  clearInterval: (handle: TimerHandle) => void
}

export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => { clearTimeout(handle as NodeJS.Timeout) },
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => { clearInterval(handle as NodeJS.Timeout) }
}
