/** How often, at most, a client is told that its messages are being dropped, in ms. */
const REPORT_INTERVAL_MS = 1000

export interface MessageRateLimiterOptions {
  /** Messages accepted per second, on average (the refill rate of the bucket). */
  perSecond: number
  /** Messages accepted in a row before the rate applies (the size of the bucket). */
  burst: number
  /** Time source, in ms. */
  now: () => number
  /** Called when a message is dropped, at most once per second. */
  onLimited: () => void
}

/**
 * A token bucket for one connection's client messages, on the WebSocket and the data channel alike:
 * `burst` messages in a row, then `perSecond` on average. A message over the limit is dropped, and the
 * client is told (`onLimited`) at most once per second, so a flood is not answered by a flood.
 */
export class MessageRateLimiter {
  readonly #perMs: number
  readonly #burst: number
  readonly #now: () => number
  readonly #onLimited: () => void
  #tokens: number
  #refilledAt: number
  #reportedAt = -Infinity

  constructor (options: MessageRateLimiterOptions) {
    this.#perMs = options.perSecond / 1000
    this.#burst = options.burst
    this.#now = options.now
    this.#onLimited = options.onLimited
    this.#tokens = options.burst
    this.#refilledAt = options.now()
  }

  /** Takes one token: true when the message may be handled, false when it must be dropped. */
  admit (): boolean {
    const now = this.#now()
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#refilledAt) * this.#perMs)
    this.#refilledAt = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return true
    }
    if (now - this.#reportedAt >= REPORT_INTERVAL_MS) {
      this.#reportedAt = now
      this.#onLimited()
    }
    return false
  }
}

// The limiter of each connection, so that the data channel (plugins/webrtc) draws from the same bucket
// as the WebSocket without signaling and the transport knowing each other.
const limiters = new WeakMap<object, MessageRateLimiter>()

/** Sets the limiter of a connection (its `ConnectionContext`). */
export function setMessageLimiter (connection: object, limiter: MessageRateLimiter): void {
  limiters.set(connection, limiter)
}

/** Takes a token from the connection's limiter; true when it has none (no limit configured). */
export function admitMessage (connection: object): boolean {
  return limiters.get(connection)?.admit() ?? true
}
