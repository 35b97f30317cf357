import { retry } from '../../retry.js'
import type { STTResult } from '../../types.js'
import { RealtimeAudioSender } from './audio-sender.js'
import { openRealtimeConnection, type RealtimeConnection } from './connection.js'
import { isAborted, RealtimeSocketError, serverError, sttFailure } from './errors.js'
import { sessionUpdate, type TranscriptionSessionSettings } from './events.js'

export interface RealtimeTranscriptionSettings {
  url: URL
  apiKey: string
  session: TranscriptionSessionSettings
  /** Sample rate of the input, in Hz (resampled to 24 kHz). */
  inputRateHz: number
  /** Yield the growing transcript (`isFinal: false`) as deltas arrive. */
  interimResults: boolean
  connectTimeoutMs: number
  finalizeTimeoutMs: number
  maxRetries: number
  retryBaseDelayMs: number
}

/**
 * One utterance over a realtime transcription session: `session.update`, the audio appended as it comes,
 * one commit at the end of the input, then the transcript's deltas as interim results (the text so far)
 * and `…transcription.completed` as the one final result, after which the socket is closed. The
 * connection is retried (before any audio is read) on retryable failures: 429, 5xx, connection errors.
 *
 * An abort through `signal` closes the socket at once (1000 "aborted") and ends the iteration quietly.
 * Failures are LLMRTC_ERR_STT (HTTP status, a server `error` event, a failed transcription, a lost
 * connection) or LLMRTC_ERR_STT_TIMEOUT (the connect or final-transcript deadline).
 */
export async function * transcribeRealtime (audio: AsyncIterable<Buffer>, settings: RealtimeTranscriptionSettings, signal: AbortSignal | undefined): AsyncIterable<STTResult> {
  if (isAborted(signal)) return
  let connection: RealtimeConnection
  try {
    connection = await retry(async () => await openRealtimeConnection(settings.url, settings.apiKey, settings.connectTimeoutMs, signal), {
      retries: settings.maxRetries,
      baseDelayMs: settings.retryBaseDelayMs,
      ...(signal !== undefined ? { signal } : {})
    })
  } catch (error) {
    if (isAborted(signal)) return
    throw error instanceof RealtimeSocketError ? sttFailure(error) : error
  }
  const { events } = connection
  let sender: RealtimeAudioSender | undefined
  // Closes the socket now, even while the consumer is not pulling.
  const onAbort = (): void => {
    sender?.stop()
    connection.close('aborted')
    events.abort()
  }
  let itemId: string | undefined
  let interim = ''
  try {
    connection.send(sessionUpdate(settings.session))
    sender = new RealtimeAudioSender(connection, audio, settings.inputRateHz, settings.finalizeTimeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (isAborted(signal)) onAbort()
    for await (const item of events) {
      switch (item.type) {
        case 'failed':
          throw item.error instanceof RealtimeSocketError ? sttFailure(item.error) : item.error
        case 'closed':
          throw sttFailure(new RealtimeSocketError(`connection closed (${item.code}${item.reason !== '' ? ` ${item.reason}` : ''})`))
        case 'empty':
          yield { text: '', isFinal: true }
          return
        case 'server': {
          const event = item.event
          switch (event.type) {
            case 'error':
              throw sttFailure(serverError(event.error))
            case 'conversation.item.input_audio_transcription.failed':
              throw sttFailure(serverError(event.error))
            case 'input_audio_buffer.committed':
              itemId = event.item_id
              break
            case 'conversation.item.input_audio_transcription.delta':
              if (itemId !== undefined && event.item_id !== itemId) break
              interim += event.delta ?? ''
              if (settings.interimResults && interim.trim() !== '') yield { text: interim, isFinal: false, raw: event }
              break
            case 'conversation.item.input_audio_transcription.completed':
              if (itemId !== undefined && event.item_id !== itemId) break
              yield { text: event.transcript, isFinal: true, raw: event }
              return
          }
        }
      }
    }
  } catch (error) {
    if (isAborted(signal)) return
    throw error instanceof RealtimeSocketError ? sttFailure(error) : error
  } finally {
    signal?.removeEventListener('abort', onAbort)
    sender?.stop()
    connection.close()
    events.close()
  }
}
