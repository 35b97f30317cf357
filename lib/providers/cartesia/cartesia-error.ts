/**
 * A failure of Cartesia's WebSocket: an `error` message, a refused handshake, or a dropped connection.
 * `status` is Cartesia's HTTP-style status and `code` a Node-style code for connection failures: the
 * retry policy (`isRetryableError`) reads both, so 401/400 are final while 429, 5xx and drops before
 * any audio are retried. The pipeline reports it as TTS_ERROR with this error as `cause`.
 */
export class CartesiaError extends Error {
  override readonly name = 'CartesiaError'
  /** `CARTESIA_ERROR` (an error message), `CARTESIA_HANDSHAKE` (refused upgrade), or a socket code (`ECONNRESET`). */
  readonly code: string
  readonly status: number | undefined
  /** The `error` message or handshake body as received, when there was one. */
  readonly body: unknown

  constructor (message: string, init: { code: string, status?: number, body?: unknown, cause?: unknown }) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined)
    this.code = init.code
    this.status = init.status
    this.body = init.body
  }
}
