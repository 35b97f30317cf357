import type Anthropic from '@anthropic-ai/sdk'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'
import { once } from '../lazy-module.js'
import { loadAnthropicSDK, loadedAnthropicSDK } from './sdk.js'

/** The official API; passed explicitly so the SDK never falls back to `process.env.ANTHROPIC_BASE_URL`. */
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com'

/** Connection options of the Anthropic provider. */
export interface AnthropicClientOptions {
  /** API key (the SDK sends it as `Authorization: Bearer`). */
  apiKey: string
  /** Base URL of the API without `/v1` (default https://api.anthropic.com): a proxy or gateway. */
  baseURL?: string
  /**
   * Retries of a failed request (connection error, 408, 409, 429, 5xx including 529 overloaded) before its
   * response started, with the SDK's backoff and `retry-after` handling; also of an `error` event
   * (overloaded, rate limit, api error) that arrives before any text (default 2).
   */
  maxRetries?: number
  /** Longest wait for a response to start, per attempt, in ms (default 30000). */
  timeoutMs?: number
  /** A ready SDK client to use instead (custom fetch, proxies); the options above are then ignored. */
  client?: Anthropic
}

/**
 * The SDK client of `options` (the SDK is imported on the first call). Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET
 * or LLMRTC_ERR_OPTIONS_INVALID on bad options.
 */
export async function createAnthropicClient (options: AnthropicClientOptions): Promise<Anthropic> {
  return await lazyAnthropicClient(options)()
}

/**
 * Checks `options` now (throws LLMRTC_ERR_OPTIONS_MISSING_SECRET or LLMRTC_ERR_OPTIONS_INVALID) and gives the
 * SDK client, created once on the first call, after the SDK loaded.
 */
export function lazyAnthropicClient (options: AnthropicClientOptions): () => Promise<Anthropic> {
  const given = options.client
  if (given !== undefined) return once(async () => { await loadAnthropicSDK(); return given })
  if (typeof options.apiKey !== 'string' || options.apiKey === '') {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Anthropic API key for the LLM', 'apiKey', 'ANTHROPIC_API_KEY')
  }
  const maxRetries = retriesOf(options)
  const timeoutMs = options.timeoutMs ?? 30_000
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new LLMRTC_ERR_OPTIONS_INVALID('timeoutMs', 'a positive integer (ms)', String(timeoutMs))
  // apiKey and baseURL given explicitly: the SDK then reads no credential variable and not ANTHROPIC_BASE_URL.
  const settings = { apiKey: options.apiKey, baseURL: options.baseURL ?? ANTHROPIC_DEFAULT_BASE_URL, maxRetries, timeout: timeoutMs }
  return once(async () => {
    const { default: Anthropic } = await loadAnthropicSDK()
    return new Anthropic(settings)
  })
}

/** `maxRetries`, checked (default 2). */
export function retriesOf (options: Pick<AnthropicClientOptions, 'maxRetries'>): number {
  const maxRetries = options.maxRetries ?? 2
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new LLMRTC_ERR_OPTIONS_INVALID('maxRetries', 'an integer >= 0', String(maxRetries))
  return maxRetries
}

/**
 * Settles with `promise`, or rejects with the SDK's abort error as soon as `signal` aborts. The SDK checks
 * the signal between retries but sleeps through a server's `retry-after`; a barge-in must not wait for it.
 */
export async function untilAborted<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  // The SDK made `promise`, so it is loaded.
  const { APIUserAbortError } = loadedAnthropicSDK() ?? await loadAnthropicSDK()
  if (signal.aborted) {
    promise.catch(() => {})
    throw new APIUserAbortError()
  }
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new APIUserAbortError()) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
    promise.catch(() => {})
  }
}
