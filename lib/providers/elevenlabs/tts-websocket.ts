import WebSocket from 'ws'
import { parseJsonObject } from '../../json.js'
import { parseAlignment, type CharAlignment } from './alignment.js'
import { ElevenLabsError, detailOf, statusOfErrorName } from './errors.js'

/*
 * ElevenLabs' multi-context input-streaming WebSocket (`/v1/text-to-speech/{voice_id}/multi-stream-input`),
 * as far as llmrtc speaks it. Out: a context's first message `{text: ' ', context_id, voice_settings}`,
 * text `{text, context_id, flush: true}`, `{context_id, close_context: true}` and `{close_socket: true}`.
 * In: `{audio, isFinal, alignment, normalizedAlignment, contextId}` (alignment with every chunk under
 * `sync_alignment=true`) and `{isFinal: true, contextId}` once a closed context has ended; failures
 * come as `{error, message}` and/or a close of the socket (1008 with a reason).
 */

export type ContextInput =
  | { context_id: string, text: string, voice_settings?: Record<string, number | boolean>, flush?: true }
  | { context_id: string, close_context: true }

/** What one context's listener is told. */
export type ContextEvent =
  | { type: 'audio', audio: Buffer, alignment: CharAlignment | undefined }
  | { type: 'final' }
  | { type: 'error', error: ElevenLabsError }

export interface SocketAddress {
  /** REST base URL; the socket is on the same host with ws(s). */
  baseURL: string
  voiceId: string
  model: string
  sampleRateHz: number
  language: string | undefined
}

/** The `multi-stream-input` URL for `address`: https → wss, http → ws (a local proxy or mock). */
export function multiStreamURL (address: SocketAddress): string {
  const url = new URL(address.baseURL)
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:'
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/text-to-speech/${encodeURIComponent(address.voiceId)}/multi-stream-input`
  url.searchParams.set('model_id', address.model)
  url.searchParams.set('output_format', `pcm_${address.sampleRateHz}`)
  url.searchParams.set('sync_alignment', 'true')
  if (address.language !== undefined) url.searchParams.set('language_code', address.language)
  return url.toString()
}

/**
 * One WebSocket to ElevenLabs for one voice, model and format (they are in the URL), carrying up to
 * `maxContexts` contexts at once. It lives once: after a drop or close it is `dead`, and the pool
 * opens another. The key goes in the `xi-api-key` header, never in the URL.
 */
export class ElevenLabsSocket {
  readonly url: string
  readonly #apiKey: string
  readonly #connectTimeoutMs: number
  readonly #listeners = new Map<string, (event: ContextEvent) => void>()
  /** Contexts opened on the server and not yet ended (`isFinal`), with the timer that frees a closed one anyway. */
  readonly #active = new Map<string, NodeJS.Timeout | undefined>()
  readonly #ws: WebSocket
  readonly ready: Promise<void>
  #dead = false

  constructor (url: string, apiKey: string, connectTimeoutMs: number) {
    this.url = url
    this.#apiKey = apiKey
    this.#connectTimeoutMs = connectTimeoutMs
    this.#ws = new WebSocket(url, { headers: { 'xi-api-key': this.#apiKey }, handshakeTimeout: this.#connectTimeoutMs })
    this.ready = this.#watch()
    this.ready.catch(() => {})
  }

  /** Whether it can take no more contexts, ever (dropped, refused or closed). */
  get dead (): boolean { return this.#dead }
  get isOpen (): boolean { return !this.#dead && this.#ws.readyState === WebSocket.OPEN }
  /** Contexts held on it (opened and not ended). */
  get load (): number { return this.#active.size }

  /** Holds a slot for `contextId` until its `isFinal`, or a short while after `closeContext`. */
  reserve (contextId: string): void { this.#active.set(contextId, undefined) }

  /** Frees the slot of a context that was never opened on the server. */
  unreserve (contextId: string): void {
    clearTimeout(this.#active.get(contextId))
    this.#active.delete(contextId)
  }

  /** Sends one input. Throws (ECONNRESET) when the socket is not open. */
  send (input: ContextInput): void {
    if (!this.isOpen) throw new ElevenLabsError('the connection to ElevenLabs is not open', { code: 'ECONNRESET' })
    this.#ws.send(JSON.stringify(input))
  }

  /** Ends a context at ElevenLabs (`close_context`); its slot is freed at its `isFinal`, or after 2 s. */
  closeContext (contextId: string): void {
    if (!this.#active.has(contextId)) return
    try {
      this.send({ context_id: contextId, close_context: true })
    } catch {
      // The socket went: the context went with it.
    }
    clearTimeout(this.#active.get(contextId))
    this.#active.set(contextId, setTimeout(() => { this.#active.delete(contextId) }, 2000).unref())
  }

  /** Delivers the messages of `contextId` (and socket-wide errors and drops) to `listener`. */
  subscribe (contextId: string, listener: (event: ContextEvent) => void): () => void {
    this.#listeners.set(contextId, listener)
    return () => { if (this.#listeners.get(contextId) === listener) this.#listeners.delete(contextId) }
  }

  /** Says `close_socket` and closes (a close handshake, cut after 1 s). Idempotent. */
  async close (): Promise<void> {
    const ws = this.#ws
    this.#kill(new ElevenLabsError('the ElevenLabs provider was closed', { code: 'ELEVENLABS_CLOSED' }))
    if (ws.readyState === WebSocket.CLOSED) return
    if (ws.readyState !== WebSocket.OPEN) { ws.terminate(); return }
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => { ws.terminate() }, 1000).unref()
      ws.once('close', () => { clearTimeout(timer); resolve() })
      try { ws.send(JSON.stringify({ close_socket: true })) } catch {}
      ws.close(1000)
    })
  }

  #watch (): Promise<void> {
    const ws = this.#ws
    let lastError: Error | undefined
    let opened = false
    return new Promise<void>((resolve, reject) => {
      // Listening before anything can fail: an unhandled `error` event would end the process.
      ws.on('error', (error: Error & { code?: string }) => {
        lastError = error
        const code = error.code ?? (/timed out/i.test(error.message) ? 'ETIMEDOUT' : 'ECONNRESET')
        this.#dead = true
        reject(new ElevenLabsError(`could not connect to ElevenLabs: ${error.message}`, { code, cause: error }))
      })
      ws.on('unexpected-response', (request, response) => {
        const parts: Buffer[] = []
        response.on('data', (part: Buffer) => { if (parts.length < 16) parts.push(part) })
        response.on('end', () => {
          const body = Buffer.concat(parts).toString('utf8').slice(0, 500)
          const status = response.statusCode ?? 0
          this.#dead = true
          reject(new ElevenLabsError(`ElevenLabs refused the connection: HTTP ${status}${detailOf(body)}`, { code: 'ELEVENLABS_HANDSHAKE', status, body }))
          request.destroy()
        })
      })
      ws.on('open', () => { opened = true; resolve() })
      ws.on('close', (code, reason) => {
        const why = reason.toString()
        reject(new ElevenLabsError(`ElevenLabs closed the connection during the handshake (${code})`, { code: 'ECONNRESET', cause: lastError }))
        if (!opened) { this.#dead = true; return }
        this.#kill(closeError(code, why, lastError))
      })
      ws.on('message', (data, isBinary) => { if (!isBinary) this.#dispatch(data.toString()) })
    })
  }

  #dispatch (text: string): void {
    const message = parseJsonObject(text)
    if (message === undefined) return
    const contextId = typeof message.contextId === 'string' ? message.contextId : (typeof message.context_id === 'string' ? message.context_id : undefined)
    if (typeof message.error === 'string' || (typeof message.message === 'string' && message.audio === undefined && message.isFinal === undefined)) {
      const name = typeof message.error === 'string' ? message.error : 'error'
      const detail = typeof message.message === 'string' ? message.message : name
      const error = new ElevenLabsError(`ElevenLabs answered with an error: ${name}: ${detail}`, { code: 'ELEVENLABS_ERROR', status: statusOfErrorName(`${name} ${detail}`), body: message })
      // ElevenLabs closes the socket after an error (1008): no new context goes on it meanwhile.
      this.#dead = true
      const targets = contextId !== undefined ? [this.#listeners.get(contextId)] : [...this.#listeners.values()]
      for (const listener of targets) listener?.({ type: 'error', error })
      return
    }
    if (contextId === undefined) return
    const listener = this.#listeners.get(contextId)
    if (typeof message.audio === 'string' && message.audio !== '') {
      listener?.({ type: 'audio', audio: Buffer.from(message.audio, 'base64'), alignment: parseAlignment(message.alignment) ?? parseAlignment(message.normalizedAlignment) })
    }
    if (message.isFinal === true) {
      clearTimeout(this.#active.get(contextId))
      this.#active.delete(contextId)
      listener?.({ type: 'final' })
    }
  }

  #kill (error: ElevenLabsError): void {
    this.#dead = true
    for (const timer of this.#active.values()) clearTimeout(timer)
    this.#active.clear()
    const listeners = [...this.#listeners.values()]
    this.#listeners.clear()
    for (const listener of listeners) listener({ type: 'error', error })
  }
}

/** Why the socket closed, as an error: 1008 (policy) carries ElevenLabs' reason (a bad key, too many contexts). */
function closeError (code: number, reason: string, cause: Error | undefined): ElevenLabsError {
  const why = reason !== '' ? `: ${reason}` : ''
  if (code === 1008 || code === 1011 || code === 1013) {
    const status = code === 1011 ? 500 : code === 1013 ? 503 : statusOfErrorName(reason)
    return new ElevenLabsError(`ElevenLabs closed the connection (close code ${code}${why})`, { code: 'ELEVENLABS_ERROR', status, cause })
  }
  return new ElevenLabsError(`the connection to ElevenLabs dropped (close code ${code}${why})`, { code: 'ECONNRESET', cause })
}

/**
 * The open sockets, by URL (voice, model and format are in it): a context goes on a live socket with a
 * free slot, else on a new one. ElevenLabs allows 5 contexts per socket.
 */
export class SocketPool {
  readonly #sockets = new Map<string, ElevenLabsSocket[]>()
  readonly #apiKey: string
  readonly #maxContexts: number
  readonly #connectTimeoutMs: number
  #closed = false

  constructor (options: { apiKey: string, maxContextsPerSocket: number, connectTimeoutMs: number }) {
    this.#apiKey = options.apiKey
    this.#maxContexts = options.maxContextsPerSocket
    this.#connectTimeoutMs = options.connectTimeoutMs
  }

  /** A socket for `url` with a slot held for `contextId`, open. Rejects when it cannot be opened (`signal` ends the wait only). */
  async acquire (url: string, contextId: string, signal: AbortSignal | undefined): Promise<ElevenLabsSocket> {
    if (this.#closed) throw new ElevenLabsError('the ElevenLabs provider is closed', { code: 'ELEVENLABS_CLOSED' })
    const live = (this.#sockets.get(url) ?? []).filter(socket => !socket.dead)
    let socket = live.find(s => s.load < this.#maxContexts)
    if (socket === undefined) {
      socket = new ElevenLabsSocket(url, this.#apiKey, this.#connectTimeoutMs)
      live.push(socket)
    }
    this.#sockets.set(url, live)
    socket.reserve(contextId)
    try {
      await abortable(socket.ready, signal)
    } catch (error) {
      socket.unreserve(contextId)
      throw error
    }
    return socket
  }

  /** Closes every socket. Idempotent. */
  async close (): Promise<void> {
    this.#closed = true
    const all = [...this.#sockets.values()].flat()
    this.#sockets.clear()
    await Promise.all(all.map(async socket => { await socket.close() }))
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
