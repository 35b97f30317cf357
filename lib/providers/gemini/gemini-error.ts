import { scrubSecrets } from '../scrub-secrets.js'

/** What kind of failure a GeminiError is: decides retrying and what an operator should check. */
export type GeminiFailureKind =
  /** 401/403, or a 400 that says the key is invalid: check GEMINI_API_KEY. Never retried. */
  | 'auth'
  /** 429 RESOURCE_EXHAUSTED: retried before any output. */
  | 'rate_limit'
  /** 5xx: retried before any output. */
  | 'server'
  /** Any other 4xx (a bad request, an unknown model). Never retried. */
  | 'request'
  /** The prompt or the answer was blocked (promptFeedback.blockReason). Never retried. */
  | 'blocked'
  /** No answer started within `timeoutMs`: retried before any output. */
  | 'timeout'
  /** The connection failed or was cut. Retried only before any output. */
  | 'network'

/**
 * A failure of the Gemini API. `status` is the HTTP status (the retry policy, `isRetryableError`, reads
 * it: 429 and 5xx are retried before any output, 401/403/400 never), `code` Google's RPC status
 * (`UNAUTHENTICATED`, `RESOURCE_EXHAUSTED`, ...) or a Node-style code for connection failures and
 * timeouts. The message is scrubbed of anything that looks like a key. The SDK's error is the `cause`.
 */
export class GeminiError extends Error {
  override readonly name = 'GeminiError'
  readonly kind: GeminiFailureKind
  readonly code: string
  readonly status: number | undefined

  constructor (message: string, init: { kind: GeminiFailureKind, code: string, status?: number, cause?: unknown }) {
    super(scrubSecrets(message), init.cause !== undefined ? { cause: init.cause } : undefined)
    this.kind = init.kind
    this.code = init.code
    this.status = init.status
  }
}

interface GoogleErrorBody { code?: unknown, message?: unknown, status?: unknown, details?: unknown }

/**
 * The SDK's failure as a GeminiError. The SDK throws an `ApiError` with `status` and the error body as a
 * JSON message (`{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED"}}`), also for an
 * error sent inside the SSE stream; a broken connection comes as fetch's TypeError with a socket cause.
 * Anything else (our own errors, aborts) is returned unchanged.
 */
export function toGeminiError (error: unknown): unknown {
  if (error instanceof GeminiError || !(error instanceof Error)) return error
  const status = (error as { status?: unknown }).status
  if (error.name === 'ApiError' && typeof status === 'number') return fromApiError(error, status)
  if (error.name === 'AbortError') return error
  const code = socketCode(error)
  // fetch's own failures are TypeErrors ("fetch failed", "terminated"); a TypeError from a bug is not one.
  if (code !== undefined || (error.name === 'TypeError' && /^(fetch failed|terminated)$/.test(error.message))) {
    return new GeminiError(`connection failed (${code ?? error.message})`, { kind: 'network', code: code ?? 'ECONNRESET', cause: error })
  }
  return error
}

function fromApiError (error: Error, status: number): GeminiError {
  const body = errorBody(error.message)
  const rpcStatus = typeof body?.status === 'string' ? body.status : `HTTP_${status}`
  const detail = typeof body?.message === 'string' ? body.message : error.message
  const invalidKey = status === 400 && /API_KEY_INVALID|API key not valid/i.test(JSON.stringify(body ?? error.message))
  const kind: GeminiFailureKind = status === 401 || status === 403 || invalidKey
    ? 'auth'
    : status === 429 ? 'rate_limit' : status >= 500 ? 'server' : 'request'
  const prefix = kind === 'auth' ? 'authentication failed: ' : ''
  return new GeminiError(`${status} ${rpcStatus}: ${prefix}${detail}`, { kind, code: rpcStatus, status, cause: error })
}

/** The `error` object of the JSON the SDK put in its message (after a "got status: ..." prefix for stream errors). */
function errorBody (message: string): GoogleErrorBody | undefined {
  const start = message.indexOf('{')
  if (start < 0) return undefined
  try {
    const parsed = JSON.parse(message.slice(start)) as { error?: GoogleErrorBody } | GoogleErrorBody[]
    const first = Array.isArray(parsed) ? (parsed[0] as { error?: GoogleErrorBody } | undefined) : parsed
    return first?.error
  } catch {
    return undefined
  }
}

/** The errno / undici code (ECONNRESET, UND_ERR_SOCKET, ...) anywhere in the cause chain. */
function socketCode (error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(E[A-Z]|UND_ERR)/.test(code)) return code
  }
  return undefined
}
