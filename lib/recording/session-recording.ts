import { open } from 'node:fs/promises'
import type { Clock } from '../clock.js'
import type { AudioFrame } from '../audio/audio-frame.js'
import { AudioSink, wavHeader, type AudioDestination, type RecordingFormat } from './audio-sink.js'
import { StereoRecorder } from './stereo-recorder.js'
import { TranscriptBuilder, type RedactToolCall } from './transcript-builder.js'
import type { SessionTranscript, TranscriptRecordingInfo } from './transcript-types.js'

export interface SessionRecordingOptions {
  sessionId: string
  clock: Clock
  format: RecordingFormat
  sampleRateHz: number
  opusBitrate?: number
  maxBufferedBytes?: number
  redactToolCall?: RedactToolCall
  /** The sink or the encoder failed, or a redactor threw: reported, and the call goes on. */
  onError: (error: Error) => void
}

/**
 * One session's recording: the transcript (always) and, once `startAudio()` gave it a destination, the
 * stereo audio (user left, assistant right) streamed there. Frames before that, or after a sink failed,
 * are ignored; nothing here ever throws into the call.
 */
export class SessionRecording {
  readonly transcript: TranscriptBuilder
  readonly #o: SessionRecordingOptions
  #recorder: StereoRecorder | undefined
  #sink: AudioSink | undefined
  #file: string | undefined
  #ended = false

  constructor (options: SessionRecordingOptions) {
    this.#o = options
    this.transcript = new TranscriptBuilder({
      sessionId: options.sessionId,
      startedAt: options.clock.now(),
      ...(options.redactToolCall !== undefined ? { redactToolCall: options.redactToolCall } : {}),
      onRedactError: (err) => { options.onError(err instanceof Error ? err : new Error(String(err))) }
    })
  }

  /** Whether audio is being recorded. */
  get recordingAudio (): boolean { return this.#recorder !== undefined && this.#sink?.failed !== true }

  /** The audio sink (for its counters), once started. */
  get sink (): AudioSink | undefined { return this.#sink }

  /** Starts the audio: from now on, frames are placed on the clock and streamed to `destination`. */
  startAudio (destination: AudioDestination, file?: string): void {
    if (this.#ended || this.#recorder !== undefined) return
    const o = this.#o
    this.#file = file
    const sink = new AudioSink(destination, {
      format: o.format,
      sampleRateHz: o.sampleRateHz,
      ...(o.maxBufferedBytes !== undefined ? { maxBufferedBytes: o.maxBufferedBytes } : {}),
      ...(o.opusBitrate !== undefined ? { opusBitrate: o.opusBitrate } : {}),
      onError: o.onError
    })
    this.#sink = sink
    this.#recorder = new StereoRecorder({ sampleRateHz: o.sampleRateHz, clock: o.clock, write: (pcm) => { sink.write(pcm) } })
  }

  /** A microphone frame (the user's side). */
  user (frame: AudioFrame): void {
    this.#recorder?.push('user', frame.samples, frame.sampleRateHz, frame.channels)
  }

  /** A frame of the assistant's audio as sent to the user. */
  assistant (pcm: Int16Array, sampleRateHz: number): void {
    this.#recorder?.push('assistant', pcm, sampleRateHz)
  }

  /** Ends the recording and builds the transcript; resolves once the audio's destination has it all. */
  async end (): Promise<SessionTranscript> {
    this.#ended = true
    const endedAt = this.#o.clock.now()
    const recorder = this.#recorder
    const sink = this.#sink
    let info: TranscriptRecordingInfo | undefined
    if (recorder !== undefined && sink !== undefined) {
      recorder.close()
      await sink.end()
      const bytesPerMs = this.#o.sampleRateHz * 4 / 1000
      info = {
        format: this.#o.format,
        sampleRateHz: this.#o.sampleRateHz,
        channels: ['user', 'assistant'],
        startedAt: recorder.startedAt,
        durationMs: Math.round((sink.receivedBytes - sink.droppedBytes) / bytesPerMs),
        droppedMs: Math.round(sink.droppedBytes / bytesPerMs),
        ...(this.#file !== undefined ? { file: this.#file } : {}),
        ...(sink.failed ? { failed: true } : {})
      }
      if (this.#file !== undefined && this.#o.format === 'wav' && !sink.failed) await this.#fixWavHeader(this.#file, sink.receivedBytes - sink.droppedBytes)
    }
    return await this.transcript.build(endedAt, info)
  }

  /** A file's WAV header gets its real sizes (the streamed one says "unknown", which some players mind). */
  async #fixWavHeader (path: string, dataBytes: number): Promise<void> {
    try {
      const handle = await open(path, 'r+')
      try {
        await handle.write(wavHeader(this.#o.sampleRateHz, dataBytes), 0, 44, 0)
      } finally {
        await handle.close()
      }
    } catch (err) {
      this.#o.onError(err as Error)
    }
  }
}
