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

/**
 * The system clock read from `performance.now()`: monotonic, so wall-clock jumps (NTP) neither stall nor
 * burst what it paces. For real-time media (the WebRTC track's 10 ms frames), which must follow real
 * time even when the rest of the app runs on a fake clock.
 */
export const monotonicClock: Clock = { ...systemClock, now: () => performance.now() }
