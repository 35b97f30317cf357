import type { DeepgramClient } from '@deepgram/sdk'
import { AsyncQueue } from '../../streams/async-queue.js'
import type { STTResult } from '../types.js'
import { liveSocketError } from './deepgram-errors.js'
import { toSTTWords, type DeepgramWord } from './words.js'

type ConnectArgs = Parameters<DeepgramClient['listen']['v1']['connect']>[0]
/** The SDK's live /v1/listen socket. */
export type LiveSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>
/** Query parameters of the live connection (model, encoding, sample_rate, endpointing, ...). */
export type LiveQuery = Omit<ConnectArgs, 'Authorization' | 'reconnectAttempts' | 'abortSignal' | 'connectionTimeoutInSeconds' | 'shouldReconnect'>

/** What the socket reported, in order. */
export type LiveEvent =
  | { type: 'result', result: STTResult }
  | { type: 'closed', code: number, reason: string }
  | { type: 'failed', error: unknown }

/** An open live connection: its socket, its events, and `close()` (idempotent, closes at once). */
export interface LiveConnection {
  socket: LiveSocket
  events: AsyncQueue<LiveEvent>
  close: () => void
}

/**
 * Opens one live /v1/listen WebSocket through the SDK, with the SDK's reconnection off
 * (`reconnectAttempts: 0`): a connection carries one utterance, and a silently reconnected socket
 * would lose the audio already sent. Rejects with a DeepgramError carrying the handshake's HTTP status,
 * with `signal`'s reason when aborted, or when the socket closes before opening.
 */
export async function openLiveConnection (client: DeepgramClient, query: LiveQuery, connectTimeoutMs: number, signal: AbortSignal | undefined): Promise<LiveConnection> {
  signal?.throwIfAborted()
  // Aborting this controller makes the SDK close the socket (close frame 1000 "aborted") at any stage.
  const controller = new AbortController()
  const close = (): void => { controller.abort() }
  const socket = await client.listen.v1.connect({ ...query, reconnectAttempts: 0, connectionTimeoutInSeconds: connectTimeoutMs / 1000, abortSignal: controller.signal })
  if (signal?.aborted === true) {
    close()
    throw signal.reason
  }
  const events = new AsyncQueue<LiveEvent>()
  return await new Promise<LiveConnection>((resolve, reject) => {
    let opened = false
    const onAbort = (): void => { close(); reject(signal?.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
    const settle = (error?: Error): void => {
      signal?.removeEventListener('abort', onAbort)
      if (error === undefined) {
        opened = true
        resolve({ socket, events, close })
      } else {
        close()
        reject(error)
      }
    }
    socket.on('open', () => { settle() })
    socket.on('message', (message) => {
      const event = toEvent(message)
      if (event !== undefined) events.offer(event)
    })
    socket.on('error', (error) => {
      const failure = liveSocketError(error.message)
      if (opened) events.offer({ type: 'failed', error: failure })
      else settle(failure)
    })
    socket.on('close', (event) => {
      // The SDK reports a failed connection as a close followed by the error: let the error land first.
      queueMicrotask(() => {
        if (opened) events.offer({ type: 'closed', code: event.code, reason: event.reason ?? '' })
        else settle(liveSocketError(`closed before opening (${event.code})`))
      })
    })
    socket.connect()
  })
}

/**
 * Deepgram's server messages: `Results` become results, with their words (interims with no text carry
 * nothing and are dropped); `Metadata`, `SpeechStarted` and `UtteranceEnd` need no action here. Deepgram reports
 * errors on this socket as close frames (1008 DATA-..., 1011 NET-...), not as messages.
 */
function toEvent (message: unknown): LiveEvent | undefined {
  if (message === null || typeof message !== 'object') return undefined
  const m = message as { type?: unknown }
  switch (m.type) {
    case 'Results': {
      const results = message as { is_final?: boolean, channel?: { alternatives?: Array<{ transcript?: string, confidence?: number, words?: DeepgramWord[] }> } }
      const best = results.channel?.alternatives?.[0]
      const text = best?.transcript ?? ''
      const isFinal = results.is_final === true
      if (!isFinal && text === '') return undefined
      const words = toSTTWords(best?.words)
      return { type: 'result', result: { text, isFinal, ...(best?.confidence !== undefined ? { confidence: best.confidence } : {}), ...(words !== undefined ? { words } : {}), raw: message } }
    }
    default:
      return undefined
  }
}
