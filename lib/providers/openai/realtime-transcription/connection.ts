import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import { AsyncQueue } from '../../../streams/async-queue.js'
import { handshakeError, networkError, RealtimeSocketError, sttTimeout } from './errors.js'
import { parseServerEvent, type TranscriptionServerEvent } from './events.js'

/** What the socket reported, in order. */
export type RealtimeEvent =
  | { type: 'server', event: TranscriptionServerEvent }
  | { type: 'closed', code: number, reason: string }
  | { type: 'failed', error: unknown }
  /** The input ended with less than 100 ms of audio: nothing was committed, nothing will be transcribed. */
  | { type: 'empty' }

/** An open transcription socket: send client events, read its events, `close()` (idempotent). */
export interface RealtimeConnection {
  /** Sends one client event as JSON. Throws when the socket is no longer open. */
  send: (event: object) => void
  events: AsyncQueue<RealtimeEvent>
  /** Closes with 1000 and `reason` (default "done"); the socket is destroyed if the close is not answered. */
  close: (reason?: string) => void
}

/** How long a close frame may wait for the server's before the TCP connection is dropped, in ms. */
const CLOSE_GRACE_MS = 2000
/** At most this much of a refused upgrade's body is read (OpenAI's JSON error is far smaller). */
const MAX_ERROR_BODY_BYTES = 16 * 1024

/**
 * Opens the transcription WebSocket with `Authorization: Bearer <apiKey>` (the GA protocol: no
 * `OpenAI-Beta` header, which would select the beta event shapes). Rejects with a RealtimeSocketError
 * carrying the upgrade's HTTP status and OpenAI's error text, or the errno code; with LLMRTC_ERR_STT_TIMEOUT
 * after `connectTimeoutMs`; with `signal`'s reason when aborted (the socket is dropped at once).
 */
export async function openRealtimeConnection (url: URL, apiKey: string, connectTimeoutMs: number, signal: AbortSignal | undefined): Promise<RealtimeConnection> {
  signal?.throwIfAborted()
  const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${apiKey}` } })
  const events = new AsyncQueue<RealtimeEvent>()
  let opened = false
  let closing = false
  const connection: RealtimeConnection = {
    events,
    send: (event) => {
      if (socket.readyState !== WebSocket.OPEN) throw new RealtimeSocketError('the connection is no longer open')
      socket.send(JSON.stringify(event))
    },
    close: (reason = 'done') => {
      if (closing) return
      closing = true
      if (socket.readyState === WebSocket.OPEN) {
        socket.close(1000, reason)
        setTimeout(() => { socket.terminate() }, CLOSE_GRACE_MS).unref()
      } else {
        socket.terminate()
      }
    }
  }
  // Kept for the socket's whole life: `ws` throws an 'error' nobody listens to.
  socket.on('error', (error) => {
    if (opened && !closing) events.offer({ type: 'failed', error: networkError(error) })
  })
  socket.on('message', (data, isBinary) => {
    if (isBinary) return
    try {
      const event = parseServerEvent(data.toString())
      if (event !== undefined) events.offer({ type: 'server', event })
    } catch (error) {
      events.offer({ type: 'failed', error: new RealtimeSocketError('the server sent a frame that is not JSON', { cause: error }) })
    }
  })
  socket.on('close', (code, reason) => {
    if (opened) events.offer({ type: 'closed', code, reason: reason.toString('utf8') })
  })

  return await new Promise<RealtimeConnection>((resolve, reject) => {
    const timer = setTimeout(() => { fail(sttTimeout(connectTimeoutMs)) }, connectTimeoutMs).unref()
    const onAbort = (): void => { fail(signal?.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
    let settled = false
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      return true
    }
    function fail (error: unknown): void {
      if (!settle()) return
      closing = true
      socket.terminate()
      reject(error)
    }
    socket.once('open', () => {
      if (!settle()) return
      opened = true
      resolve(connection)
    })
    socket.once('unexpected-response', (_request, response: IncomingMessage) => {
      readBody(response).then(body => { fail(handshakeError(response.statusCode ?? 0, body)) }, () => { fail(handshakeError(response.statusCode ?? 0, '')) })
    })
    socket.once('error', (error) => { fail(networkError(error)) })
    socket.once('close', (code) => { fail(new RealtimeSocketError(`closed before opening (${code})`)) })
  })
}

async function readBody (response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response) {
    size += (chunk as Buffer).length
    if (size > MAX_ERROR_BODY_BYTES) break
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
