import { LLMRTC_ERR_STT, LLMRTC_ERR_STT_TIMEOUT } from '../../../errors.js'
import { scrubSecrets } from '../../scrub-secrets.js'

/** The provider name the realtime STT's errors carry. */
export const OPENAI_REALTIME_STT = 'openai-realtime-stt'

/**
 * What failed on the transcription socket, kept as the `cause` of LLMRTC_ERR_STT: the upgrade's HTTP
 * `status` (so isRetryableError retries 429 and 5xx), an errno `code` (ECONNREFUSED, retried too), or a
 * server `error` event's `type`/`code`. `message` is scrubbed of anything that looks like a key.
 */
export class RealtimeSocketError extends Error {
  override readonly name = 'OpenAIRealtimeSocketError'
  readonly status: number | undefined
  readonly code: string | undefined
  readonly type: string | undefined

  constructor (message: string, details: { status?: number, code?: string | null, type?: string, cause?: unknown } = {}) {
    super(scrubSecrets(message), details.cause !== undefined ? { cause: details.cause } : undefined)
    this.status = details.status
    this.code = details.code ?? undefined
    this.type = details.type
  }
}

/** A refused upgrade: `HTTP 401 invalid_api_key: Incorrect API key provided: sk-***…`, from OpenAI's error body. */
export function handshakeError (status: number, body: string): RealtimeSocketError {
  let detail = ''
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown, type?: unknown, message?: unknown } }).error
    detail = [error?.code ?? error?.type, error?.message].filter(part => typeof part === 'string' && part !== '').join(': ')
  } catch {
    // Not OpenAI's JSON (a proxy's page): the status says enough.
  }
  return new RealtimeSocketError(detail === '' ? `HTTP ${status}` : `HTTP ${status} ${detail}`, { status })
}

/** A server `error` event (or a failed transcription): `invalid_request_error/invalid_value: message`. */
export function serverError (error: { type?: string, code?: string | null, message?: string } | undefined): RealtimeSocketError {
  const kind = [error?.type, error?.code].filter(part => typeof part === 'string' && part !== '').join('/')
  return new RealtimeSocketError(`${kind !== '' ? `${kind}: ` : ''}${error?.message ?? 'unknown error'}`, { code: error?.code ?? undefined, ...(error?.type !== undefined ? { type: error.type } : {}) })
}

/** A socket-level failure (connection refused, reset): keeps the errno code for the retry decision. */
export function networkError (error: Error): RealtimeSocketError {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string'
    ? new RealtimeSocketError(`connection failed (${code})`, { code, cause: error })
    : new RealtimeSocketError(error.message, { cause: error })
}

export function sttFailure (error: unknown): Error {
  return new LLMRTC_ERR_STT(OPENAI_REALTIME_STT, error instanceof Error ? scrubSecrets(error.message) : String(error), { cause: error })
}

export function sttTimeout (timeoutMs: number, cause?: unknown): Error {
  return new LLMRTC_ERR_STT_TIMEOUT(OPENAI_REALTIME_STT, timeoutMs, { cause })
}

/** Whether `signal` fired (a function, so TypeScript does not narrow it across awaits). */
export function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
