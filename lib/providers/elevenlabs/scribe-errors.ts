import type { ElevenLabsError } from '@elevenlabs/elevenlabs-js'
import { LLMRTC_ERR_STT, LLMRTC_ERR_STT_TIMEOUT } from '../../errors.js'
import { scrubSecrets } from '../scrub-secrets.js'
import { loadedElevenLabsSDK, type ElevenLabsSDK } from './sdk.js'

/** The provider name ElevenLabs Scribe's errors carry. */
export const ELEVENLABS = 'elevenlabs'

/**
 * What went wrong, in words safe to show a client: the HTTP status and ElevenLabs' `detail`
 * (`{ detail: { status, message } }` or a plain string), a realtime error message's type and text, or a
 * connection error code. Scrubbed of anything that looks like a key; never a transcript.
 */
export function describeScribeFailure (error: unknown): string {
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  if (typeof status === 'number') {
    const detail = detailOf((error as { body?: unknown }).body)
    return scrubSecrets(detail === '' ? `HTTP ${status}` : `HTTP ${status} ${detail}`)
  }
  const code = networkCode(error)
  if (code !== undefined) return `connection failed (${code})`
  return scrubSecrets(error instanceof Error ? error.message : String(error))
}

/**
 * The realtime socket (the SDK uses `ws`) reports a refused handshake only as a message string
 * ("Unexpected server response: 401") and a network failure as an Error with an errno `code`: rebuild an
 * ElevenLabsError carrying the HTTP status or the code, so isRetryableError classifies it like REST errors.
 */
export function realtimeSocketError (error: unknown): ElevenLabsError {
  const message = error instanceof Error ? error.message : String(error)
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1]
  const rebuilt = new (sdk().ElevenLabsError)(status !== undefined ? { message: 'WebSocket handshake refused', statusCode: Number(status) } : { message, cause: error })
  const code = networkCode(error) ?? /\b(E[A-Z]{3,})\b/.exec(message)?.[1]
  if (code !== undefined) Object.assign(rebuilt, { code })
  return rebuilt
}

/**
 * A realtime error message (`{ message_type: 'auth_error' | 'rate_limited' | ..., error }`) as an
 * ElevenLabsError with the HTTP status it stands for, so 401/429/5xx classify like REST errors.
 */
export function realtimeMessageError (messageType: string, text: string): ElevenLabsError {
  const statusCode = REALTIME_ERROR_STATUS[messageType]
  return new (sdk().ElevenLabsError)({ message: `${messageType}: ${text}`, ...(statusCode !== undefined ? { statusCode, body: { detail: { status: messageType, message: text } } } : {}) })
}

const REALTIME_ERROR_STATUS: Record<string, number> = {
  auth_error: 401,
  unaccepted_terms: 403,
  quota_exceeded: 429,
  rate_limited: 429,
  commit_throttled: 429,
  resource_exhausted: 503,
  queue_overflow: 503,
  transcriber_error: 500,
  input_error: 400,
  invalid_request: 400,
  chunk_size_exceeded: 400,
  session_time_limit_exceeded: 400,
  insufficient_audio_activity: 400
}

/** LLMRTC_ERR_STT with the failure as `cause`, or LLMRTC_ERR_STT_TIMEOUT for the SDK's own timeout. */
export function scribeFailure (error: unknown, timeoutMs: number): Error {
  const loaded = loadedElevenLabsSDK()
  if (loaded !== undefined && error instanceof loaded.ElevenLabsTimeoutError) return scribeTimeout(timeoutMs, error)
  return new LLMRTC_ERR_STT(ELEVENLABS, describeScribeFailure(error), { cause: error })
}

export function scribeTimeout (timeoutMs: number, cause?: unknown): Error {
  return new LLMRTC_ERR_STT_TIMEOUT(ELEVENLABS, timeoutMs, { cause })
}

/** The SDK, which the realtime session loaded before it could fail. */
function sdk (): ElevenLabsSDK {
  const loaded = loadedElevenLabsSDK()
  if (loaded === undefined) throw new Error('the ElevenLabs SDK is not loaded yet')
  return loaded
}

/** Whether `signal` fired (a function, so TypeScript does not narrow it across awaits). */
export function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function detailOf (body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200)
  const detail = (body as { detail?: unknown } | null | undefined)?.detail
  if (typeof detail === 'string') return detail.slice(0, 200)
  if (detail !== null && typeof detail === 'object') {
    const { status, message } = detail as { status?: unknown, message?: unknown }
    return [status, message].filter(part => typeof part === 'string' && part !== '').join(': ').slice(0, 200)
  }
  return ''
}

/** The errno code (ECONNREFUSED, ...) anywhere in the cause chain. */
function networkCode (error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z]/.test(code)) return code
  }
  return undefined
}
