import type { DeepgramError, DeepgramTimeoutError } from '@deepgram/sdk'
import { LLMRTC_ERR_STT, LLMRTC_ERR_STT_TIMEOUT, LLMRTC_ERR_TTS, LLMRTC_ERR_TTS_TIMEOUT } from '../../errors.js'
import { loadedDeepgramSDK, type DeepgramSDK } from './sdk.js'

/** The provider name Deepgram's errors carry. */
export const DEEPGRAM = 'deepgram'

/**
 * What went wrong, in words safe to show a client: HTTP status, Deepgram's `err_code`/`err_msg`, or a
 * connection error code. Never the key, never a transcript.
 */
export function describeFailure (error: unknown): string {
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  if (typeof status === 'number') {
    const body = (error as { body?: unknown }).body as { err_code?: unknown, err_msg?: unknown } | undefined
    const detail = [body?.err_code, body?.err_msg].filter(part => typeof part === 'string' && part !== '').join(': ')
    return detail === '' ? `HTTP ${status}` : `HTTP ${status} ${detail}`
  }
  const code = networkCode(error)
  if (code !== undefined) return `connection failed (${code})`
  return error instanceof Error ? error.message : String(error)
}

/**
 * The live socket reports a failed handshake or a network error only as a message string ("Unexpected
 * server response: 401", "connect ECONNREFUSED ...", "TIMEOUT" for its connection timeout): rebuild a
 * DeepgramError carrying the HTTP status, or the errno `code`, so isRetryableError classifies it like
 * the REST errors; the connection timeout becomes a DeepgramTimeoutError (not retried).
 */
export function liveSocketError (message: string): DeepgramError | DeepgramTimeoutError {
  const { DeepgramError, DeepgramTimeoutError } = sdk()
  if (message === 'TIMEOUT') return new DeepgramTimeoutError('WebSocket connection timed out')
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1]
  const error = new DeepgramError(status !== undefined ? { message: 'WebSocket handshake refused', statusCode: Number(status) } : { message })
  const code = /\b(E[A-Z]{3,})\b/.exec(message)?.[1]
  if (code !== undefined) Object.assign(error, { code })
  return error
}

export function sttFailure (error: unknown): Error {
  return new LLMRTC_ERR_STT(DEEPGRAM, describeFailure(error), { cause: error })
}

export function sttTimeout (timeoutMs: number, cause?: unknown): Error {
  return new LLMRTC_ERR_STT_TIMEOUT(DEEPGRAM, timeoutMs, { cause })
}

export function ttsFailure (error: unknown): Error {
  return new LLMRTC_ERR_TTS(DEEPGRAM, describeFailure(error), { cause: error })
}

export function ttsTimeout (timeoutMs: number, cause?: unknown): Error {
  return new LLMRTC_ERR_TTS_TIMEOUT(DEEPGRAM, timeoutMs, { cause })
}

/** The SDK, which the live connection loaded before its socket could fail. */
function sdk (): DeepgramSDK {
  const loaded = loadedDeepgramSDK()
  if (loaded === undefined) throw new Error('the Deepgram SDK is not loaded yet')
  return loaded
}

/** Whether `signal` fired (a function, so TypeScript does not narrow it across awaits). */
export function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** The errno code (ECONNREFUSED, ...) anywhere in the cause chain. */
function networkCode (error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z]/.test(code)) return code
  }
  return undefined
}
