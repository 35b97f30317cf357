import type { AudioFormat, ElevenLabsClient, RealtimeConnection } from '@elevenlabs/elevenlabs-js'
import { AsyncQueue } from '../../streams/async-queue.js'
import { retry } from '../retry.js'
import type { STTResult } from '../types.js'
import { isAborted, realtimeMessageError, realtimeSocketError, scribeFailure, scribeTimeout } from './scribe-errors.js'
import { loadElevenLabsSDK, type ElevenLabsSDK } from './sdk.js'

/** What one realtime utterance needs. */
export interface ScribeRealtimeSettings {
  /** Realtime model (scribe_v2_realtime). */
  model: string
  /** ISO-639 language code; undefined lets Scribe detect it. */
  language: string | undefined
  /** Sample rate of the s16le mono input, in Hz (one of Scribe's pcm_* rates). */
  sampleRateHz: number
  /** Whether partial transcripts are yielded as interim results. */
  interimResults: boolean
  /** Deadline to open the socket and receive `session_started`, in ms. */
  connectTimeoutMs: number
  /** After the manual commit: deadline for the committed transcript, in ms. */
  commitTimeoutMs: number
  /** Further connection attempts after a retryable failure (429, 5xx, connection refused). */
  maxRetries: number
  /** First backoff between attempts, in ms. */
  retryBaseDelayMs: number
}

type ScribeEvent =
  | { type: 'partial', text: string, raw: unknown }
  | { type: 'committed', text: string, raw: unknown }
  | { type: 'failed', error: unknown }
  | { type: 'closed' }

/** The PCM rates Scribe realtime takes; each is the SDK's `AudioFormat` `pcm_<rate>`. */
const PCM_RATES = new Set([8000, 16000, 22050, 24000, 44100, 48000])

/** Whether Scribe realtime takes s16le PCM at this rate. */
export function isScribePcmRate (sampleRateHz: number): boolean {
  return PCM_RATES.has(sampleRateHz)
}

/**
 * One utterance over Scribe's realtime WebSocket (`/v1/speech-to-text/realtime`, through the SDK) with
 * `commit_strategy=manual`: Scribe's own VAD never ends the segment. Audio goes out as
 * `input_audio_chunk` messages (base64 PCM + `sample_rate`); `partial_transcript`s are yielded as
 * interim results. At the end of the input (llmrtc's VAD decided the turn is over) one commit is sent,
 * and the `committed_transcript` that answers it is the final result; the socket is then closed.
 *
 * The connection is retried (before any audio is read) on retryable failures. An abort closes the
 * socket at once and ends the iteration quietly. Failures are LLMRTC_ERR_STT (HTTP status of the
 * handshake, Scribe's error message type, a connection lost before the commit was answered) or
 * LLMRTC_ERR_STT_TIMEOUT (connect or commit deadline).
 */
export async function * transcribeRealtime (clientOf: () => Promise<ElevenLabsClient>, audio: AsyncIterable<Buffer>, settings: ScribeRealtimeSettings, signal: AbortSignal | undefined): AsyncIterable<STTResult> {
  if (isAborted(signal)) return
  const sdk = await loadElevenLabsSDK()
  const client = await clientOf()
  const { ElevenLabsError, ElevenLabsTimeoutError } = sdk
  let session: ScribeSession
  try {
    session = await retry(async () => await openSession(sdk, client, settings, signal), {
      retries: settings.maxRetries,
      baseDelayMs: settings.retryBaseDelayMs,
      ...(signal !== undefined ? { signal } : {})
    })
  } catch (error) {
    if (isAborted(signal)) return
    throw error instanceof ElevenLabsTimeoutError ? scribeTimeout(settings.connectTimeoutMs, error) : scribeFailure(error, settings.connectTimeoutMs)
  }
  const { connection, events } = session
  const sender = new ScribeAudioSender(connection, audio, events, settings.commitTimeoutMs)
  const onAbort = (): void => {
    sender.stop()
    connection.close()
    events.abort()
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  if (isAborted(signal)) onAbort()
  try {
    for await (const event of events) {
      switch (event.type) {
        case 'partial':
          if (settings.interimResults && event.text !== '') yield { text: event.text, isFinal: false, raw: event.raw }
          break
        case 'committed':
          // A commit Scribe answers before ours (it never should with manual commits) is not the end.
          if (!sender.committed) break
          yield { text: event.text, isFinal: true, raw: event.raw }
          return
        case 'failed':
          throw event.error instanceof ElevenLabsError ? scribeFailure(event.error, settings.commitTimeoutMs) : event.error
        case 'closed':
          if (sender.nothingSent) {
            yield { text: '', isFinal: true }
            return
          }
          throw scribeFailure(new ElevenLabsError({ message: 'connection closed before the transcript was committed' }), settings.commitTimeoutMs)
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    sender.stop()
    connection.close()
    events.close()
  }
}

interface ScribeSession {
  connection: RealtimeConnection
  /** Every message after `session_started`, and the close, in order. */
  events: AsyncQueue<ScribeEvent>
}

/**
 * Opens the socket and waits for `session_started`. Every later message lands on `events`. Rejects
 * with an ElevenLabsError (handshake status, or the error message Scribe sent), an
 * ElevenLabsTimeoutError past `connectTimeoutMs`, or `signal`'s reason.
 */
async function openSession (sdk: ElevenLabsSDK, client: ElevenLabsClient, settings: ScribeRealtimeSettings, signal: AbortSignal | undefined): Promise<ScribeSession> {
  signal?.throwIfAborted()
  const { CommitStrategy, ElevenLabsError, ElevenLabsTimeoutError, RealtimeEvents } = sdk
  const format = (PCM_RATES.has(settings.sampleRateHz) ? `pcm_${settings.sampleRateHz}` : 'pcm_16000') as AudioFormat
  const connection = await client.speechToText.realtime.connect({
    modelId: settings.model,
    audioFormat: format,
    sampleRate: settings.sampleRateHz,
    commitStrategy: CommitStrategy.MANUAL,
    ...(settings.language !== undefined ? { languageCode: settings.language } : {})
  })
  // One queue per attempt: a failed attempt's late close must not reach the next one's reader.
  const events = new AsyncQueue<ScribeEvent>()
  return await new Promise<ScribeSession>((resolve, reject) => {
    let started = false
    const fail = (error: unknown): void => {
      if (started) {
        events.offer({ type: 'failed', error })
        return
      }
      started = true
      cleanup()
      connection.close()
      reject(error)
    }
    const onAbort = (): void => { fail(signal?.reason) }
    const timer = setTimeout(() => { fail(new ElevenLabsTimeoutError('Scribe realtime session did not start')) }, settings.connectTimeoutMs).unref()
    const cleanup = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    connection.on(RealtimeEvents.SESSION_STARTED, () => {
      if (started) return
      started = true
      cleanup()
      resolve({ connection, events })
    })
    connection.on(RealtimeEvents.PARTIAL_TRANSCRIPT, (message) => { events.offer({ type: 'partial', text: message.text ?? '', raw: message }) })
    connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT, (message) => { events.offer({ type: 'committed', text: message.text ?? '', raw: message }) })
    connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT_WITH_TIMESTAMPS, (message) => { events.offer({ type: 'committed', text: message.text ?? '', raw: message }) })
    // The SDK emits both socket errors (Error objects) and Scribe's error messages on this event.
    connection.on(RealtimeEvents.ERROR, (error: unknown) => {
      const messageType = (error as { message_type?: unknown } | null)?.message_type
      if (typeof messageType === 'string') fail(realtimeMessageError(messageType, String((error as { error?: unknown }).error ?? '')))
      else fail(realtimeSocketError(error))
    })
    connection.on(RealtimeEvents.CLOSE, () => {
      // ws reports a refused handshake as an error followed by the close: let the error land first.
      queueMicrotask(() => {
        if (started) events.offer({ type: 'closed' })
        else fail(new ElevenLabsError({ message: 'connection closed before the session started' }))
      })
    })
  })
}

/**
 * The sending half: each input chunk as an `input_audio_chunk`, then one commit at the end of input,
 * then the commit deadline. Failures are reported on the event queue, in order with the results.
 */
class ScribeAudioSender {
  #committed = false
  #sentAudio = false
  #inputDone = false
  #stopped = false
  #deadline: NodeJS.Timeout | undefined
  readonly #connection: RealtimeConnection
  readonly #input: AsyncIterator<Buffer>
  readonly #events: AsyncQueue<ScribeEvent>
  readonly #commitTimeoutMs: number

  constructor (connection: RealtimeConnection, audio: AsyncIterable<Buffer>, events: AsyncQueue<ScribeEvent>, commitTimeoutMs: number) {
    this.#connection = connection
    this.#input = audio[Symbol.asyncIterator]()
    this.#events = events
    this.#commitTimeoutMs = commitTimeoutMs
    void this.#pump()
  }

  /** True once the commit went out: its committed transcript ends the utterance. */
  get committed (): boolean { return this.#committed }

  /** True when the input ended without any audio (nothing to commit). */
  get nothingSent (): boolean { return this.#inputDone && !this.#sentAudio }

  /** Stops sending and clears the deadline (idempotent). */
  stop (): void {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#deadline)
    if (!this.#inputDone) Promise.resolve(this.#input.return?.()).catch(() => {})
  }

  async #pump (): Promise<void> {
    let sending = false
    try {
      for (;;) {
        const next = await this.#input.next()
        if (this.#stopped) return
        if (next.done === true) break
        if (next.value.length === 0) continue
        sending = true
        this.#connection.send({ audioBase64: next.value.toString('base64') })
        sending = false
        this.#sentAudio = true
      }
      this.#inputDone = true
      if (!this.#sentAudio) {
        // Nothing to transcribe: a commit of no audio is an error for Scribe. Close; the reader ends empty.
        this.#connection.close()
        return
      }
      sending = true
      this.#connection.commit()
      this.#committed = true
      const timeoutMs = this.#commitTimeoutMs
      this.#deadline = setTimeout(() => { this.#events.offer({ type: 'failed', error: scribeTimeout(timeoutMs) }) }, timeoutMs).unref()
    } catch (error) {
      this.#inputDone = true
      // A send fails when the socket is no longer open (its close reports why); the input's own errors pass through.
      if (!this.#stopped) this.#events.offer({ type: 'failed', error: sending ? realtimeSocketError(error) : error })
    }
  }
}
