import { sleep } from '../streams/sleep.js'

/**
 * Which provider failures are worth another try: connection errors, 408, 429 and 5xx. Anything else
 * (401, 400, a malformed answer) fails the same way again.
 */
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'])

export function isRetryableError (error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // llmrtc's own wrappers carry a statusCode of their own (502 for a provider failure): look at the cause.
    const ours = String((e as { code?: unknown }).code ?? '').startsWith('LLMRTC_ERR_')
    const status = (e as { status?: unknown }).status ?? (ours ? undefined : (e as { statusCode?: unknown }).statusCode)
    if (typeof status === 'number') return status === 408 || status === 429 || status >= 500
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true
    const name = (e as { name?: unknown }).name
    if (name === 'APIConnectionError' || name === 'APIConnectionTimeoutError') return true
  }
  return false
}

export interface RetryOptions {
  /** Further attempts after the first (default 2). */
  retries?: number
  /** First backoff in ms, doubled each time (default 200). */
  baseDelayMs?: number
  signal?: AbortSignal
}

/**
 * Runs `attempt` again on a retryable failure, with backoff, as long as it produced no output yet:
 * once an item was yielded, a failure is final (the listener already heard part of it).
 */
export async function * retryBeforeOutput<T> (attempt: () => AsyncIterable<T>, options: RetryOptions = {}): AsyncIterable<T> {
  const retries = options.retries ?? 2
  for (let tryNumber = 0; ; tryNumber++) {
    let emitted = false
    try {
      for await (const item of attempt()) {
        emitted = true
        yield item
      }
      return
    } catch (error) {
      if (emitted || tryNumber >= retries || options.signal?.aborted === true || !isRetryableError(error)) throw error
      await sleep((options.baseDelayMs ?? 200) * 2 ** tryNumber, options.signal)
    }
  }
}

/** `retryBeforeOutput` for a single async result. */
export async function retry<T> (attempt: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 2
  for (let tryNumber = 0; ; tryNumber++) {
    try {
      return await attempt()
    } catch (error) {
      if (tryNumber >= retries || options.signal?.aborted === true || !isRetryableError(error)) throw error
      await sleep((options.baseDelayMs ?? 200) * 2 ** tryNumber, options.signal)
    }
  }
}
