import type { DeepgramClient } from '@deepgram/sdk'
import { retry } from '../retry.js'
import type { STTResult } from '../types.js'
import { isAborted, sttFailure, sttTimeout } from './deepgram-errors.js'
import { LiveAudioSender, type LiveSenderTiming } from './live-audio-sender.js'
import { openLiveConnection, type LiveConnection, type LiveQuery } from './live-connection.js'
import { loadDeepgramSDK } from './sdk.js'

export interface LiveSettings extends LiveSenderTiming {
  query: LiveQuery
  /** Deadline to open the WebSocket, in ms. */
  connectTimeoutMs: number
  /** Further connection attempts after a retryable failure (429, 5xx, connection refused). */
  maxRetries: number
  /** First backoff between attempts, in ms. */
  retryBaseDelayMs: number
}

/**
 * One utterance over Deepgram's live /v1/listen WebSocket: yields interim results (`isFinal: false`)
 * and final ones (`isFinal: true`) as they arrive, until Deepgram closes the socket after CloseStream.
 * The connection is retried (before any audio is read) on retryable failures. The last result is
 * always final: should Deepgram close with an interim pending, that interim is promoted.
 *
 * An abort through `signal` closes the socket at once and ends the iteration quietly. Failures are
 * LLMRTC_ERR_STT (HTTP status, close code) or LLMRTC_ERR_STT_TIMEOUT (connect or finalize deadline).
 */
export async function * transcribeLive (clientOf: () => Promise<DeepgramClient>, audio: AsyncIterable<Buffer>, settings: LiveSettings, signal: AbortSignal | undefined): AsyncIterable<STTResult> {
  if (isAborted(signal)) return
  const { DeepgramError, DeepgramTimeoutError } = await loadDeepgramSDK()
  const client = await clientOf()
  let connection: LiveConnection
  try {
    connection = await retry(async () => await openLiveConnection(client, settings.query, settings.connectTimeoutMs, signal), {
      retries: settings.maxRetries,
      baseDelayMs: settings.retryBaseDelayMs,
      ...(signal !== undefined ? { signal } : {})
    })
  } catch (error) {
    if (isAborted(signal)) return
    throw error instanceof DeepgramTimeoutError ? sttTimeout(settings.connectTimeoutMs, error) : sttFailure(error)
  }
  const { events } = connection
  let sender: LiveAudioSender | undefined
  // Closes the socket now, even while the consumer is not pulling.
  const onAbort = (): void => {
    sender?.stop()
    connection.close()
    events.abort()
  }
  let last: STTResult | undefined
  try {
    sender = new LiveAudioSender(connection, audio, settings)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (isAborted(signal)) onAbort()
    for await (const event of events) {
      switch (event.type) {
        case 'result':
          last = event.result
          yield event.result
          break
        case 'failed':
          // The socket's own failures are DeepgramErrors; the sender reports llmrtc errors and the input's errors.
          throw event.error instanceof DeepgramError ? sttFailure(event.error) : event.error
        case 'closed':
          // 1000 (or 1005, no status) after CloseStream is the normal end; anything else lost audio.
          if (!sender.closeStreamSent || (event.code !== 1000 && event.code !== 1005)) {
            throw sttFailure(new DeepgramError({ message: `connection closed (${event.code}${event.reason !== '' ? ` ${event.reason}` : ''})` }))
          }
          if (last?.isFinal !== true) yield { text: last?.text ?? '', isFinal: true, ...(last?.words !== undefined ? { words: last.words } : {}) }
          return
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    sender?.stop()
    connection.close()
    events.close()
  }
}
