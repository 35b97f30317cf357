import WebSocket from 'ws'
import { CartesiaError } from './cartesia-error.js'
import { CARTESIA_VERSION, parseMessage, type CancelInput, type CartesiaMessage, type GenerationInput } from './cartesia-protocol.js'

/** What one context's listener is told: a message for it, or that the connection dropped. */
export type ContextEvent =
  | { type: 'message', message: CartesiaMessage }
  | { type: 'dropped', error: CartesiaError }

export interface CartesiaConnectionOptions {
  /** `wss://…/tts/websocket`. */
  url: string
  apiKey: string
  /** Longest wait for the WebSocket handshake, in ms (default 10000). */
  connectTimeoutMs?: number
}

/**
 * One persistent WebSocket to Cartesia, shared by every context (every session's turns): opened on
 * first use, opened again after a drop (Cartesia also closes sockets idle for 5 minutes), and routing
 * each message to the listener of its `context_id`. The key goes in the Authorization header, never in
 * the URL, so it cannot end up in a proxy's or a log's copy of the URL.
 */
export class CartesiaConnection {
  readonly #options: Required<CartesiaConnectionOptions>
  readonly #listeners = new Map<string, (event: ContextEvent) => void>()
  #socket: WebSocket | undefined
  #connecting: { socket: WebSocket, ready: Promise<void> } | undefined
  #generation = 0
  #closed = false

  constructor (options: CartesiaConnectionOptions) {
    this.#options = { connectTimeoutMs: 10_000, ...options }
  }

  /** Counts the sockets opened: a context opened on an older one no longer exists at Cartesia. */
  get generation (): number { return this.#generation }
  get isOpen (): boolean { return this.#socket?.readyState === WebSocket.OPEN }

  /** Opens the socket unless it is open. Concurrent callers share one handshake; `signal` ends the wait only. */
  async open (signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw new CartesiaError('the Cartesia provider is closed', { code: 'CARTESIA_CLOSED' })
    if (this.isOpen) return
    this.#connecting ??= this.#connect()
    await abortable(this.#connecting.ready, signal)
  }

  /** Sends one input. Throws (ECONNRESET) when the socket is not open. */
  send (input: GenerationInput | CancelInput): void {
    const socket = this.#socket
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      throw new CartesiaError('the connection to Cartesia is not open', { code: 'ECONNRESET' })
    }
    socket.send(JSON.stringify(input))
  }

  /** Delivers the messages of `contextId` (and connection-wide errors and drops) to `listener`. */
  subscribe (contextId: string, listener: (event: ContextEvent) => void): () => void {
    this.#listeners.set(contextId, listener)
    return () => { if (this.#listeners.get(contextId) === listener) this.#listeners.delete(contextId) }
  }

  /** Closes the socket (a close handshake, cut after 1 s). Idempotent. */
  async close (): Promise<void> {
    this.#closed = true
    this.#connecting?.socket.terminate()
    const socket = this.#socket
    this.#socket = undefined
    this.#drop(new CartesiaError('the Cartesia provider was closed', { code: 'CARTESIA_CLOSED' }))
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => { socket.terminate() }, 1000).unref()
      socket.once('close', () => { clearTimeout(timer); resolve() })
      socket.close(1000)
    })
  }

  #connect (): { socket: WebSocket, ready: Promise<void> } {
    const socket = new WebSocket(this.#options.url, {
      headers: { Authorization: `Bearer ${this.#options.apiKey}`, 'Cartesia-Version': CARTESIA_VERSION },
      handshakeTimeout: this.#options.connectTimeoutMs
    })
    let lastError: Error | undefined
    const ready = new Promise<void>((resolve, reject) => {
      // Listening before anything can fail: an unhandled `error` event would end the process.
      socket.on('error', (error: Error & { code?: string }) => {
        lastError = error
        const code = error.code ?? (/timed out/i.test(error.message) ? 'ETIMEDOUT' : 'CARTESIA_CONNECT')
        reject(new CartesiaError(`could not connect to Cartesia: ${error.message}`, { code, cause: error }))
      })
      socket.on('unexpected-response', (request, response) => {
        const parts: Buffer[] = []
        response.on('data', (part: Buffer) => { if (parts.length < 16) parts.push(part) })
        response.on('end', () => {
          const body = Buffer.concat(parts).toString('utf8').slice(0, 500)
          const status = response.statusCode ?? 0
          reject(new CartesiaError(`Cartesia refused the connection: ${status} ${body}`.trim(), { code: 'CARTESIA_HANDSHAKE', status, body }))
          request.destroy()
        })
      })
      socket.on('open', () => {
        this.#socket = socket
        this.#generation++
        resolve()
      })
      socket.on('close', (code, reason) => {
        reject(new CartesiaError(`Cartesia closed the connection during the handshake (${code})`, { code: 'ECONNRESET', cause: lastError }))
        if (this.#socket !== socket) return
        this.#socket = undefined
        const why = reason.length > 0 ? `: ${reason.toString()}` : ''
        this.#drop(new CartesiaError(`the connection to Cartesia dropped (close code ${code}${why})`, { code: 'ECONNRESET', cause: lastError }))
      })
    })
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.#dispatch(parseMessage(data.toString()))
    })
    const settle = (): void => { if (this.#connecting?.socket === socket) this.#connecting = undefined }
    ready.then(settle, settle)
    return { socket, ready }
  }

  #dispatch (message: CartesiaMessage | undefined): void {
    if (message === undefined) return
    if (message.context_id !== undefined) {
      this.#listeners.get(message.context_id)?.({ type: 'message', message })
      return
    }
    // An error without a context (a malformed input) concerns whoever is waiting.
    for (const listener of [...this.#listeners.values()]) listener({ type: 'message', message })
  }

  #drop (error: CartesiaError): void {
    const listeners = [...this.#listeners.values()]
    this.#listeners.clear()
    for (const listener of listeners) listener({ type: 'dropped', error })
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
async function abortable<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  signal.throwIfAborted()
  let onAbort = (): void => {}
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
