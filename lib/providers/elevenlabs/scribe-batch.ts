import type { ElevenLabsClient } from '@elevenlabs/elevenlabs-js'
import { isWav } from '../../audio/wav.js'
import { linkSignals } from '../../streams/link-signals.js'
import { retry } from '../retry.js'
import type { STTResult } from '../types.js'
import { isAborted, scribeFailure, scribeTimeout } from './scribe-errors.js'

/** What one batch transcription needs. */
export interface ScribeBatchSettings {
  /** Batch model (scribe_v1). */
  model: string
  /** ISO-639 language code; undefined lets Scribe detect it. */
  language: string | undefined
  /** Deadline of the whole request, retries included, in ms. */
  requestTimeoutMs: number
  maxRetries: number
  retryBaseDelayMs: number
}

/**
 * `POST /v1/speech-to-text` (multipart: `model_id`, `file`, `language_code`) through the SDK, retried on
 * retryable failures within `requestTimeoutMs`. The SDK's own retries are off: llmrtc's honour the signal.
 * `confidence` is Scribe's language probability (Scribe gives no transcript confidence).
 */
export async function transcribeBatch (client: ElevenLabsClient, audio: Buffer, settings: ScribeBatchSettings, signal: AbortSignal | undefined): Promise<STTResult> {
  signal?.throwIfAborted()
  const deadline = AbortSignal.timeout(settings.requestTimeoutMs)
  const link = signal !== undefined ? linkSignals(signal, deadline) : undefined
  const joined = link?.signal ?? deadline
  const file = isWav(audio)
    ? { data: audio, filename: 'utterance.wav', contentType: 'audio/wav' }
    : { data: audio, filename: 'utterance.bin', contentType: 'application/octet-stream' }
  try {
    const data = await retry(async () => await client.speechToText.convert({
      modelId: settings.model,
      file,
      ...(settings.language !== undefined ? { languageCode: settings.language } : {})
    }, { abortSignal: joined, maxRetries: 0, timeoutInSeconds: settings.requestTimeoutMs / 1000 + 1 }), {
      retries: settings.maxRetries,
      baseDelayMs: settings.retryBaseDelayMs,
      signal: joined
    })
    const text = typeof data.text === 'string' ? data.text.trim() : ''
    const confidence = (data as { languageProbability?: unknown }).languageProbability
    return { text, isFinal: true, ...(typeof confidence === 'number' ? { confidence } : {}), raw: data }
  } catch (error) {
    if (isAborted(signal)) throw signal?.reason
    if (deadline.aborted) throw scribeTimeout(settings.requestTimeoutMs, error)
    throw scribeFailure(error, settings.requestTimeoutMs)
  } finally {
    link?.dispose()
  }
}
