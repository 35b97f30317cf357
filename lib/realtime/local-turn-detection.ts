import type { AudioFrame } from '../audio/audio-frame.js'
import type { SpeechDetector, SpeechDetectorOptions } from '../vad/speech-detector.js'
import { SPEECH_SAMPLE_RATE_HZ, type SpeechEvent } from '../vad/speech-events.js'
import { MicrophoneBridge } from './microphone-bridge.js'

/** Makes a speech detector on llmrtc's Silero VAD (the `vad` plugin's `createDetector`, or one on a model of its own). */
export type CreateSpeechDetector = (options: SpeechDetectorOptions) => SpeechDetector

export interface LocalTurnDetectionOptions {
  createDetector: CreateSpeechDetector
  /** The provider's input rate: the utterances are resampled to it. */
  inputRateHz: number
  /** The utterance's audio for the provider (PCM s16 mono at `inputRateHz`; a view: use it before returning). */
  append: (pcm: Int16Array) => void
  /** The user is speaking (confirmed speech, not a blip): barge-in, `speech-start`. */
  onSpeechStart: () => void
  /** The utterance is over (`durationMs` long) and all of it was appended: commit it and answer. */
  onSpeechEnd: (durationMs: number) => void
  /** The VAD failed (it stops), or a handler threw. */
  onError: (error: Error) => void
}

/**
 * llmrtc's own turn detection for relay mode (`turnDetection: { type: 'llmrtc' }`): the microphone goes
 * through a Silero speech detector, and only utterances reach the provider. Speech is announced once it is
 * confirmed (`minSpeechMs` of speech, as the pipeline's barge-in waits for), and then the pre-roll and
 * the speech so far are appended; the rest follows as it is scored; at the end of speech the relay commits.
 * A blip (speech-cancelled) appends nothing, so the provider never gets a turn of coughs or silence.
 */
export class LocalTurnDetection {
  readonly #o: LocalTurnDetectionOptions
  readonly #detector: SpeechDetector
  readonly #toProvider: MicrophoneBridge
  /** The pre-roll of speech that is not confirmed yet. */
  #held: Int16Array | undefined
  #speaking = false

  constructor (options: LocalTurnDetectionOptions) {
    this.#o = options
    this.#toProvider = new MicrophoneBridge(options.inputRateHz)
    this.#detector = options.createDetector({ onEvent: (event) => { this.#event(event) }, onError: options.onError })
  }

  /** A microphone frame (any rate the transport gives). */
  push (frame: AudioFrame): void {
    this.#detector.push(frame)
  }

  /** Resolves once every frame pushed so far was scored and its events handled. */
  async drain (): Promise<void> {
    await this.#detector.drain()
  }

  /** Stops listening (idempotent). */
  close (): void {
    this.#detector.close()
  }

  #event (event: SpeechEvent): void {
    switch (event.type) {
      case 'speech-start':
        this.#held = event.preRoll
        break
      case 'speech-audio':
        if (!this.#speaking) {
          this.#speaking = true
          this.#o.onSpeechStart()
          if (this.#held !== undefined) this.#append(this.#held)
          this.#held = undefined
        }
        this.#append(event.samples)
        break
      case 'speech-end':
        this.#held = undefined
        if (!this.#speaking) return
        this.#speaking = false
        this.#o.onSpeechEnd(event.durationMs)
        break
      case 'speech-cancelled':
        this.#held = undefined
        this.#speaking = false
        break
    }
  }

  #append (samples: Int16Array): void {
    const pcm = this.#toProvider.convert({ samples, sampleRateHz: SPEECH_SAMPLE_RATE_HZ, channels: 1, samplesPerChannel: samples.length })
    if (pcm.length > 0) this.#o.append(pcm)
  }
}
