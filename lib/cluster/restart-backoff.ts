/** Options of RestartBackoff, in ms. */
export interface RestartBackoffOptions {
  /** A worker that ran at least this long crashed on its own, not in a loop: it is replaced at once (default 10000). */
  minUptimeMs?: number
  /** Wait before the first replacement in a crash loop (default 500); it doubles with each crash that follows. */
  initialDelayMs?: number
  /** Longest wait between replacements (default 30000). */
  maxDelayMs?: number
}

/**
 * How long the primary waits before it replaces a crashed worker. A worker that had been up a while is
 * replaced at once; workers that die young (a bad deploy, a port taken, a provider that cannot load) are
 * replaced after a wait that doubles each time, so a crash loop does not spin the CPU or flood the logs.
 */
export class RestartBackoff {
  readonly #minUptimeMs: number
  readonly #initialDelayMs: number
  readonly #maxDelayMs: number
  /** Crashes in a row of workers that died young. */
  #streak = 0

  constructor (options: RestartBackoffOptions = {}) {
    this.#minUptimeMs = options.minUptimeMs ?? 10_000
    this.#initialDelayMs = options.initialDelayMs ?? 500
    this.#maxDelayMs = options.maxDelayMs ?? 30_000
  }

  /** The wait before replacing a worker that crashed after `uptimeMs`. */
  delayAfterCrash (uptimeMs: number): number {
    if (uptimeMs >= this.#minUptimeMs) {
      this.#streak = 0
      return 0
    }
    this.#streak++
    return Math.min(this.#maxDelayMs, this.#initialDelayMs * 2 ** (this.#streak - 1))
  }
}
