import type { ElevenLabs, ElevenLabsClient } from '@elevenlabs/elevenlabs-js'
import { linkSignals } from '../../streams/link-signals.js'
import { retry } from '../retry.js'
import { fromRestError } from './errors.js'
import { wireVoiceSettings, type ResolvedOptions } from './options.js'
import { lazyElevenLabsClient } from './sdk.js'

type VoiceSettings = ElevenLabs.VoiceSettings

/** What one REST request speaks, and how. */
export interface RestRequest {
  text: string
  voiceId: string
  model: string
  speed: number | undefined
  /** The text spoken just before on the same utterance, for continuity (`previous_text`). */
  previousText?: string
  /** `mp3_44100_128` instead of PCM. */
  mp3?: boolean
}

/**
 * Speech over REST `POST /v1/text-to-speech/{voice_id}/stream` through the official SDK (which has no
 * multi-context input streaming, so the WebSocket is spoken directly): the fallback when the WebSocket
 * cannot be opened, and `speak()`. Retries (429, 5xx, connection errors) are llmrtc's, before the
 * response headers only; `requestTimeoutMs` bounds the wait for them. Errors become ElevenLabsError.
 */
export class ElevenLabsREST {
  readonly #client: () => Promise<ElevenLabsClient>
  readonly #o: ResolvedOptions

  constructor (options: ResolvedOptions) {
    this.#o = options
    this.#client = lazyElevenLabsClient(options.apiKey, options.baseURL)
  }

  /** The response body: raw PCM s16le at `sampleRateHz` (or MP3), as it is synthesised. */
  async stream (request: RestRequest, signal: AbortSignal | undefined): Promise<AsyncIterable<Uint8Array>> {
    signal?.throwIfAborted()
    const deadline = new AbortController()
    const timer = setTimeout(() => { deadline.abort() }, this.#o.requestTimeoutMs).unref()
    // Also aborts the body's download later (barge-in): not disposed here.
    const joined = signal !== undefined ? linkSignals(signal, deadline.signal).signal : deadline.signal
    const voiceSettings = wireVoiceSettings(this.#o.voiceSettings, request.speed)
    const body = {
      text: request.text,
      modelId: request.model,
      outputFormat: (request.mp3 === true ? 'mp3_44100_128' : `pcm_${this.#o.sampleRateHz}`) as 'pcm_24000',
      ...(this.#o.language !== undefined ? { languageCode: this.#o.language } : {}),
      ...(request.previousText !== undefined && request.previousText !== '' ? { previousText: request.previousText } : {}),
      ...(voiceSettings !== undefined ? { voiceSettings: restVoiceSettings(voiceSettings) } : {})
    }
    try {
      const client = await this.#client()
      return await retry(async () => await client.textToSpeech.stream(request.voiceId, body, { abortSignal: joined, maxRetries: 0, timeoutInSeconds: Math.ceil(this.#o.requestTimeoutMs / 1000) }), {
        retries: this.#o.retries,
        baseDelayMs: this.#o.retryDelayMs,
        signal: joined
      })
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason
      if (deadline.signal.aborted) throw fromRestError(Object.assign(new Error('timed out'), { name: 'ElevenLabsTimeoutError', cause: error }))
      throw fromRestError(error)
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The SDK's camelCase voice settings, without the unset ones (the SDK would send them as null). */
function restVoiceSettings (wire: Record<string, number | boolean>): VoiceSettings {
  const names: Record<string, keyof VoiceSettings> = { stability: 'stability', similarity_boost: 'similarityBoost', style: 'style', use_speaker_boost: 'useSpeakerBoost', speed: 'speed' }
  return Object.fromEntries(Object.entries(wire).map(([key, value]) => [names[key] ?? key, value])) as VoiceSettings
}
