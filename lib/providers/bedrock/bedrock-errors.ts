import { scrubSecrets } from '../scrub-secrets.js'

/** The provider name Bedrock's errors and chunks carry. */
export const BEDROCK = 'bedrock'

/**
 * HTTP statuses of Bedrock's modeled exceptions, for those that arrive inside the event stream (where the
 * SDK knows no status): the retry policy (`isRetryableError`) reads the status, so throttling (429) and
 * server faults (5xx) are retried before any output, while auth (403) and validation (400) are final.
 */
const STATUS_OF: Record<string, number> = {
  AccessDeniedException: 403,
  UnrecognizedClientException: 403,
  ExpiredTokenException: 403,
  InvalidSignatureException: 403,
  ValidationException: 400,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelNotReadyException: 429,
  ThrottlingException: 429,
  ServiceQuotaExceededException: 400,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  InternalServerException: 500,
  ServiceUnavailableException: 503
}

/** Auth failures: wrong, expired or missing credentials, or no access to the model. */
const AUTH = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'ExpiredTokenException', 'InvalidSignatureException', 'CredentialsProviderError'])

/**
 * A failure of Bedrock's ConverseStream: a refused request (`x-amzn-errortype`), an exception inside the
 * event stream, missing credentials, or a broken connection. `status` is the HTTP status (known or
 * implied by the exception name), `code` the exception name or a Node-style code for connection failures;
 * the message never holds a credential. The pipeline reports it as LLM_ERROR with this error as `cause`.
 */
export class BedrockError extends Error {
  override readonly name = 'BedrockError'
  /** The exception name (`ThrottlingException`, ...) or a socket code (`ECONNRESET`). */
  readonly code: string
  readonly status: number | undefined
  /** Whether the credentials or the access to the model were refused (403, no credentials). */
  readonly auth: boolean
  /** AWS's request id, for support. */
  readonly requestId: string | undefined

  constructor (message: string, init: { code: string, status?: number, requestId?: string, cause?: unknown }) {
    super(scrubSecrets(message), init.cause !== undefined ? { cause: init.cause } : undefined)
    this.code = init.code
    this.status = init.status
    this.auth = AUTH.has(init.code) || init.status === 401 || init.status === 403
    this.requestId = init.requestId
  }
}

interface SdkErrorShape {
  name?: unknown
  message?: unknown
  code?: unknown
  $metadata?: { httpStatusCode?: unknown, requestId?: unknown }
}

/** An SDK failure as a BedrockError (status from the response, or implied by the exception's name). */
export function toBedrockError (error: unknown): BedrockError {
  if (error instanceof BedrockError) return error
  const e = (error ?? {}) as SdkErrorShape
  const name = typeof e.name === 'string' ? e.name : 'Error'
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : name
  const httpStatus = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined
  const requestId = typeof e.$metadata?.requestId === 'string' ? e.$metadata.requestId : undefined
  // The SDK's socket timeout is a TimeoutError without errno: a connection failure like ETIMEDOUT.
  const network = networkCode(error) ?? (name === 'TimeoutError' ? 'ETIMEDOUT' : undefined)
  const status = STATUS_OF[name] ?? httpStatus
  const code = status === undefined && network !== undefined ? network : name
  const init = { code, requestId, cause: error, ...(status !== undefined ? { status } : {}) }
  return new BedrockError(status !== undefined ? `${name} (${status}): ${message}` : `${code}: ${message}`, init)
}

/** The stream ended before `messageStop`: the answer is cut (retried like a reset connection if nothing was said). */
export function cutStreamError (): BedrockError {
  return new BedrockError('the ConverseStream response ended before messageStop', { code: 'ECONNRESET' })
}

/** The errno code (ECONNRESET, ...) anywhere in the cause chain. */
function networkCode (error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(E[A-Z]{3,}|UND_ERR_)/.test(code)) return code
  }
  return undefined
}
