import { linkSignals, type LinkedSignal } from '../../streams/link-signals.js'
import { BedrockError } from './bedrock-errors.js'

/**
 * Fails a request that stays silent for `timeoutMs`: its `signal` follows `parent` and also aborts when
 * `kick()` was not called for that long (before the response starts, or between two events). The SDK's
 * HTTP/2 stream timeout cannot do this: once the response started, it closes the stream quietly, which
 * reads like a cut answer rather than a timeout.
 */
export class IdleDeadline {
  readonly #own = new AbortController()
  readonly #link: LinkedSignal
  readonly #timeoutMs: number
  #timer: NodeJS.Timeout | undefined
  #expired = false

  constructor (timeoutMs: number, parent: AbortSignal | undefined) {
    this.#timeoutMs = timeoutMs
    this.#link = parent === undefined ? { signal: this.#own.signal, dispose: () => {} } : linkSignals(parent, this.#own.signal)
  }

  get signal (): AbortSignal {
    return this.#link.signal
  }

  /** Whether the silence outlasted the timeout (the parent's abort is not an expiry). */
  get expired (): boolean {
    return this.#expired
  }

  /** Starts the wait again: the request just showed a sign of life. */
  kick (): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#expired = true
      this.#own.abort(this.error())
    }, this.#timeoutMs).unref()
  }

  /** Stops the wait while the consumer holds a chunk: its own slowness is no silence of Bedrock's. */
  pause (): void {
    clearTimeout(this.#timer)
  }

  /** The error that reports the expiry (retryable, like a connection timeout). */
  error (cause?: unknown): BedrockError {
    return new BedrockError(`no answer from Bedrock for ${this.#timeoutMs} ms`, { code: 'ETIMEDOUT', cause })
  }

  dispose (): void {
    clearTimeout(this.#timer)
    this.#link.dispose()
  }
}
