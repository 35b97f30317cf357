import type { AudioFrame } from '../audio/audio-frame.js'
import { downmix } from '../audio/downmix.js'
import { PcmBuffer } from '../audio/pcm-buffer.js'
import { Resampler } from '../audio/resampler.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT } from '../errors.js'
import { LOUDNESS_HOLD_MS, LOUDNESS_QUIET_MS, LoudnessOnset, type LoudnessListener } from './loudness-onset.js'
import { SILERO_WINDOW_SAMPLES, type SileroVad, type SileroVadState } from './silero-vad.js'
import type { SpeechSegmenterOptions } from './segmenter-options.js'
import { SpeechSegmenter } from './speech-segmenter.js'
import { SPEECH_SAMPLE_RATE_HZ, type SpeechEvent } from './speech-events.js'

/** A backlog of unprocessed audio above this, in ms, is reported through `onBacklog`. */
export const BACKLOG_WARN_MS = 256
const SAMPLES_PER_MS = SPEECH_SAMPLE_RATE_HZ / 1000
const COMPACT_AFTER_SAMPLES = 16 * SILERO_WINDOW_SAMPLES
const LOUDNESS_HOLD_SAMPLES = LOUDNESS_HOLD_MS * SAMPLES_PER_MS
const LOUDNESS_QUIET_SAMPLES = LOUDNESS_QUIET_MS * SAMPLES_PER_MS

/** Segmentation options (see SpeechSegmenterOptions) and where the detector reports. */
export interface SpeechDetectorOptions extends SpeechSegmenterOptions {
  /** Receives every speech event of the stream, in order. Called synchronously; keep it short. */
  onEvent: (event: SpeechEvent) => void
  /**
   * Inference failed (LLMRTC_ERR_VAD, the detector then stops), or `onEvent` threw (the detector goes on).
   */
  onError: (error: Error) => void
  /**
   * Inference fell behind: `backlogMs` of audio wait for the VAD (more than BACKLOG_WARN_MS). Nothing
   * is dropped; called once each time the backlog crosses the mark.
   */
  onBacklog?: (backlogMs: number) => void
  /** Aborting it closes the detector (the session's or the server's signal). */
  signal?: AbortSignal
}

/**
 * Voice activity detection for one audio stream: downmixes and resamples each frame to 16 kHz mono, cuts
 * 512-sample windows, scores them with the shared Silero model (async, in order, batched with other
 * streams) and feeds a SpeechSegmenter. Per 10 ms frame it copies samples into reused buffers and
 * allocates nothing else; each window costs one promise.
 */
export class SpeechDetector {
  readonly #vad: SileroVad
  readonly #state: SileroVadState
  readonly #segmenter: SpeechSegmenter
  readonly #options: SpeechDetectorOptions
  readonly #queue = new PcmBuffer(8 * SILERO_WINDOW_SAMPLES)
  readonly #window = new Int16Array(SILERO_WINDOW_SAMPLES)
  #read = 0
  #mono = new Int16Array(960)
  #resampler: Resampler | undefined
  readonly #loudness = new LoudnessOnset()
  #loudnessListener: LoudnessListener | undefined
  /** Stream position (16 kHz samples) of the last loudness onset the VAD has not judged yet. */
  #loudAt: number | undefined
  /** Samples received so far (the VAD has scored `windows` × SILERO_WINDOW_SAMPLES of them). */
  #received = 0
  #pumping: Promise<void> | undefined
  #backlogReported = false
  #maxBacklogMs = 0
  #windows = 0
  #closed = false
  #failed = false

  /** Throws LLMRTC_ERR_OPTIONS_INVALID for bad segmentation options. */
  constructor (vad: SileroVad, options: SpeechDetectorOptions) {
    this.#vad = vad
    this.#options = options
    this.#state = vad.createState()
    this.#segmenter = new SpeechSegmenter(options, (event) => {
      try {
        options.onEvent(event)
      } catch (error) {
        options.onError(error as Error)
      }
    })
    if (options.signal?.aborted === true) this.close()
    options.signal?.addEventListener('abort', () => { this.close() }, { once: true })
  }

  /** Audio received but not yet scored, in ms. */
  get backlogMs (): number {
    return (this.#queue.length - this.#read) / SAMPLES_PER_MS
  }

  /** Largest backlog seen, in ms. */
  get maxBacklogMs (): number {
    return this.#maxBacklogMs
  }

  /** Windows scored so far (32 ms each). */
  get windows (): number {
    return this.#windows
  }

  /**
   * Adds a frame of s16 audio at any supported rate (48 kHz and 16 kHz are usual), mono or interleaved.
   * Returns at once; events follow asynchronously. Throws LLMRTC_ERR_AUDIO_INVALID_FORMAT for a frame
   * whose sample count does not match its channels.
   */
  push (frame: AudioFrame): void {
    if (this.#closed || this.#failed) return
    const { samples, channels, sampleRateHz, samplesPerChannel } = frame
    if (!(channels >= 1) || samples.length !== channels * samplesPerChannel) {
      throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`a frame of ${samples.length} samples cannot hold ${samplesPerChannel} × ${channels} channels`)
    }
    if (channels > 1 && this.#mono.length < samplesPerChannel) this.#mono = new Int16Array(samplesPerChannel)
    let mono = downmix(samples, channels, this.#mono)
    if (sampleRateHz !== SPEECH_SAMPLE_RATE_HZ) {
      if (this.#resampler?.inputRateHz !== sampleRateHz) this.#resampler = new Resampler(sampleRateHz, SPEECH_SAMPLE_RATE_HZ)
      mono = this.#resampler.process(mono)
    }
    this.#received += mono.length
    // Always measured (0.2 µs a frame), listened to or not: the background is current when an answer starts.
    if (this.#loudness.push(mono)) this.#loudnessOnset()
    this.#queue.append(mono)
    this.#checkBacklog()
    if (this.#pumping === undefined && this.#queue.length - this.#read >= SILERO_WINDOW_SAMPLES) {
      this.#pumping = this.#pump().finally(() => { this.#pumping = undefined })
    }
  }

  /** The end-of-speech wait of the current utterance, in ms (see SpeechSegmenter). */
  get endOfSpeechSilenceMs (): number {
    return this.#segmenter.endOfSpeechSilenceMs
  }

  /** Moves the end-of-speech wait of the current utterance (adaptive end of turn); may end it now. */
  setEndOfSpeechSilenceMs (ms: number): void {
    if (this.#closed || this.#failed) return
    this.#segmenter.setEndOfSpeechSilenceMs(ms)
  }

  /** Lets speech start at a lower probability while set (see SpeechSegmenter.setOnsetThreshold). */
  setOnsetThreshold (threshold: number | undefined): void {
    this.#segmenter.setOnsetThreshold(threshold)
  }

  /**
   * While set, `listener` hears of each loudness onset (see LoudnessOnset) as its frame arrives, before the
   * VAD has scored it, and of its lapse when the VAD started no speech in LOUDNESS_HOLD_MS of audio after
   * it and the sound has ended. Undefined stops it.
   */
  setLoudnessOnset (listener: LoudnessListener | undefined): void {
    this.#loudnessListener = listener
    this.#loudAt = undefined
  }

  /** Resolves once every complete window pushed so far has been scored and its events emitted. */
  async drain (): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping
  }

  /** End of stream: drains, then ends an open utterance (speech-end, or speech-cancelled if unconfirmed). */
  async flush (): Promise<void> {
    await this.drain()
    if (!this.#closed && !this.#failed) this.#segmenter.flush()
  }

  /** Stops at once (also when `signal` aborts): no event is emitted after this. Idempotent. The shared model stays open. */
  close (): void {
    this.#closed = true
  }

  async #pump (): Promise<void> {
    while (!this.#closed && !this.#failed && this.#queue.length - this.#read >= SILERO_WINDOW_SAMPLES) {
      this.#window.set(this.#queue.view(this.#read, this.#read + SILERO_WINDOW_SAMPLES))
      this.#read += SILERO_WINDOW_SAMPLES
      if (this.#read >= COMPACT_AFTER_SAMPLES) {
        this.#queue.discard(this.#read)
        this.#read = 0
      }
      let probability: number
      try {
        probability = await this.#vad.detect(this.#state, this.#window)
      } catch (error) {
        if (this.#closed) return
        this.#failed = true
        this.#options.onError(error as Error)
        return
      }
      if (this.#closed) return
      this.#windows++
      this.#segmenter.push(this.#window, probability)
      if (this.#loudAt !== undefined) this.#judgeLoudness(this.#loudAt)
      this.#checkBacklog()
    }
  }

  #loudnessOnset (): void {
    const listener = this.#loudnessListener
    if (listener === undefined || this.#segmenter.inSpeech) return
    this.#loudAt = this.#received
    this.#tell(listener, 'onset')
  }

  /** The VAD decides a loudness onset: it started speech (the pipeline hears that), or not within the hold, and the sound ended. */
  #judgeLoudness (loudAt: number): void {
    if (this.#segmenter.inSpeech) {
      this.#loudAt = undefined
    } else if (this.#windows * SILERO_WINDOW_SAMPLES >= loudAt + LOUDNESS_HOLD_SAMPLES && this.#loudness.quietSamples >= LOUDNESS_QUIET_SAMPLES) {
      this.#loudAt = undefined
      if (this.#loudnessListener !== undefined) this.#tell(this.#loudnessListener, 'lapsed')
    }
  }

  #tell (listener: LoudnessListener, event: keyof LoudnessListener): void {
    try {
      listener[event]()
    } catch (error) {
      this.#options.onError(error as Error)
    }
  }

  #checkBacklog (): void {
    const backlogMs = this.backlogMs
    if (backlogMs > this.#maxBacklogMs) this.#maxBacklogMs = backlogMs
    if (backlogMs > BACKLOG_WARN_MS) {
      if (!this.#backlogReported) {
        this.#backlogReported = true
        this.#options.onBacklog?.(backlogMs)
      }
    } else if (backlogMs < SILERO_WINDOW_SAMPLES / SAMPLES_PER_MS) {
      this.#backlogReported = false
    }
  }
}
