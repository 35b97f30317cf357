import { loadedAnthropicSDK } from './sdk.js'

/** The HTTP status Anthropic gives each error type (https://docs.claude.com/en/api/errors). */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529
}

/**
 * An `error` event inside a stream that had started with 200 (Anthropic sends `overloaded_error` this
 * way under load). The SDK throws it as an APIError without a status; this one carries the status of its
 * type, so the retry policy (`isRetryableError`) treats overloaded, rate limit and api errors as
 * retryable and the rest as final, like the same errors before the stream.
 */
export class AnthropicStreamError extends Error {
  override readonly name = 'AnthropicStreamError'
  readonly code = 'ANTHROPIC_STREAM_ERROR'
  /** Anthropic's error type (`overloaded_error`, ...). */
  readonly type: string
  readonly status: number

  constructor (type: string, message: string, cause: unknown) {
    super(message, { cause })
    this.type = type
    this.status = STATUS_OF_TYPE[type] ?? 500
  }
}

/** The SDK's error for an in-stream `error` event as an AnthropicStreamError; any other error unchanged. */
export function streamEventError (error: unknown): unknown {
  const APIError = loadedAnthropicSDK()?.APIError
  if (APIError === undefined || !(error instanceof APIError) || error.status !== undefined || error.constructor !== APIError) return error
  const body = error.error as { error?: { type?: unknown, message?: unknown } } | undefined
  const type = typeof body?.error?.type === 'string' ? body.error.type : error.type ?? 'api_error'
  const message = typeof body?.error?.message === 'string' ? body.error.message : error.message
  return new AnthropicStreamError(type, `${type}: ${message}`, error)
}

/**
 * Whether a failure before any text is worth another stream: an in-stream error event, or a connection
 * that broke while reading the body. HTTP errors and failed connects are not: the SDK retried those.
 */
export function retryableInStream (error: unknown): boolean {
  if (error instanceof AnthropicStreamError) return true
  // Before the SDK loaded, no error can be its APIError.
  const APIError = loadedAnthropicSDK()?.APIError
  return APIError === undefined || !(error instanceof APIError)
}
