import { scrubSecrets } from '../scrub-secrets.js'

/**
 * A failure of ElevenLabs: a refused WebSocket handshake, an error message or close on the socket, a
 * dropped connection, or a REST error from the SDK. `status` is the HTTP (or HTTP-like) status and
 * `code` a Node-style code for connection failures: the retry policy (`isRetryableError`) reads both,
 * so 401/400 are final while 429, 5xx and drops before any audio are retried. The pipeline reports it
 * as TTS_ERROR with this error as `cause`. Messages are scrubbed of anything that looks like a key.
 */
export class ElevenLabsError extends Error {
  override readonly name = 'ElevenLabsError'
  /**
   * `ELEVENLABS_ERROR` (an error message on the socket), `ELEVENLABS_HANDSHAKE` (refused upgrade),
   * `ELEVENLABS_HTTP` (a REST status), `ELEVENLABS_CLOSED` (the provider was closed), or a socket code
   * (`ECONNRESET`, `ETIMEDOUT`).
   */
  readonly code: string
  readonly status: number | undefined
  /** The error message or response body as received, when there was one. */
  readonly body: unknown

  constructor (message: string, init: { code: string, status?: number, body?: unknown, cause?: unknown }) {
    super(scrubSecrets(message), init.cause !== undefined ? { cause: init.cause } : undefined)
    this.code = init.code
    this.status = init.status
    this.body = init.body
  }
}

/**
 * The HTTP-like status an error message on the socket stands for: ElevenLabs names its errors
 * (`invalid_api_key`, `max_active_conversations`, `rate_limit_exceeded`, …) rather than numbering them.
 */
export function statusOfErrorName (name: string): number | undefined {
  if (/api.?key|unauthori[sz]ed|auth/i.test(name)) return 401
  if (/rate|too.?many|max_active|concurren|quota|busy/i.test(name)) return 429
  if (/internal|server|unavailable/i.test(name)) return 500
  return undefined
}

/** An error thrown by the SDK's REST call (ElevenLabsError with `statusCode`, its timeout error, a network error) as ours. */
export function fromRestError (error: unknown): ElevenLabsError {
  if (error instanceof ElevenLabsError) return error
  const sdk = error as { name?: unknown, statusCode?: unknown, body?: unknown, message?: unknown } | null
  const status = typeof sdk?.statusCode === 'number' ? sdk.statusCode : undefined
  if (status !== undefined) {
    return new ElevenLabsError(`ElevenLabs answered HTTP ${status}${detailOf(sdk?.body)}`, { code: 'ELEVENLABS_HTTP', status, body: sdk?.body, cause: error })
  }
  if (sdk?.name === 'ElevenLabsTimeoutError') return new ElevenLabsError('ElevenLabs did not answer in time', { code: 'ETIMEDOUT', cause: error })
  const code = networkCode(error) ?? 'ECONNRESET'
  const message = typeof sdk?.message === 'string' ? sdk.message : String(error)
  return new ElevenLabsError(`could not reach ElevenLabs: ${message}`, { code, cause: error })
}

/** `: <what the body says>` for a JSON error body (`{detail: {status, message}}` or `{detail: "…"}`), else ''. */
export function detailOf (body: unknown): string {
  let value = body
  if (typeof body === 'string') {
    try { value = JSON.parse(body) } catch { return body === '' ? '' : `: ${body.slice(0, 200)}` }
  }
  const detail = (value as { detail?: unknown } | null)?.detail
  if (typeof detail === 'string') return `: ${detail}`
  const message = (detail as { message?: unknown } | null)?.message
  const status = (detail as { status?: unknown } | null)?.status
  const parts = [status, message].filter(part => typeof part === 'string' && part !== '')
  return parts.length > 0 ? `: ${parts.join(': ')}` : ''
}

/** The errno code (ECONNREFUSED, ...) anywhere in the cause chain. */
function networkCode (error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(E[A-Z]|UND_ERR)/.test(code)) return code
  }
  return undefined
}
