import type OpenAI from 'openai'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'
import { once } from '../lazy-module.js'
import { loadOpenAISDK, loadedOpenAISDK } from './sdk.js'

/** The official API; passed explicitly so the SDK never falls back to `process.env.OPENAI_BASE_URL`. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1'

/** Connection options shared by the OpenAI LLM, STT and TTS providers. */
export interface OpenAIClientOptions {
  /** API key, sent as a Bearer token. Any non-empty string for servers that ignore it (Ollama). */
  apiKey: string
  /** Base URL of the API including `/v1` (default https://api.openai.com/v1): any OpenAI-compatible server. */
  baseURL?: string
  /**
   * Retries of a failed request (connection error, 408, 409, 429, 5xx) before its response started, with
   * the SDK's backoff and `retry-after` handling (default 2). A stream that fails midway is never retried.
   */
  maxRetries?: number
  /** Longest wait for a response to start, per attempt, in ms (default 30000). */
  timeoutMs?: number
  /** A ready SDK client to use instead (custom fetch, proxies); the options above are then ignored. */
  client?: OpenAI
}

/**
 * The SDK client of `options` (the SDK is imported on the first call). Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET
 * or LLMRTC_ERR_OPTIONS_INVALID on bad options; `what` (LLM, STT, TTS) names the provider in the error.
 */
export async function createOpenAIClient (options: OpenAIClientOptions, what: string): Promise<OpenAI> {
  return await lazyOpenAIClient(options, what)()
}

/**
 * Checks `options` now (throws LLMRTC_ERR_OPTIONS_MISSING_SECRET or LLMRTC_ERR_OPTIONS_INVALID) and gives the
 * SDK client, created once on the first call, after the SDK loaded.
 */
export function lazyOpenAIClient (options: OpenAIClientOptions, what: string): () => Promise<OpenAI> {
  const given = options.client
  if (given !== undefined) return once(async () => { await loadOpenAISDK(); return given })
  if (typeof options.apiKey !== 'string' || options.apiKey === '') {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET(`OpenAI API key for the ${what}`, 'apiKey', 'OPENAI_API_KEY')
  }
  const maxRetries = options.maxRetries ?? 2
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new LLMRTC_ERR_OPTIONS_INVALID('maxRetries', 'an integer >= 0', String(maxRetries))
  const timeoutMs = options.timeoutMs ?? 30_000
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new LLMRTC_ERR_OPTIONS_INVALID('timeoutMs', 'a positive integer (ms)', String(timeoutMs))
  const settings = { apiKey: options.apiKey, baseURL: options.baseURL ?? OPENAI_DEFAULT_BASE_URL, maxRetries, timeout: timeoutMs }
  return once(async () => {
    const { default: OpenAI } = await loadOpenAISDK()
    return new OpenAI(settings)
  })
}

/**
 * Settles with `promise`, or rejects with the SDK's abort error as soon as `signal` aborts. The SDK checks
 * the signal between retries but sleeps through a server's `retry-after`; a barge-in must not wait for it.
 */
export async function untilAborted<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  // The SDK made `promise`, so it is loaded.
  const { APIUserAbortError } = loadedOpenAISDK() ?? await loadOpenAISDK()
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
