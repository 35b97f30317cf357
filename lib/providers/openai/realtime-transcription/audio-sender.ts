import { Resampler } from '../../../audio/resampler.js'
import type { RealtimeConnection } from './connection.js'
import { sttFailure, sttTimeout } from './errors.js'
import { appendAudio, commitAudio, MIN_COMMIT_BYTES, REALTIME_SAMPLE_RATE_HZ } from './events.js'

/**
 * The sending half of a realtime transcription: each input chunk (s16le mono at `inputRateHz`, 16 kHz
 * from the pipeline) is resampled to 24 kHz and appended; at the end of the input (llmrtc's VAD decided
 * the utterance is over) the buffer is committed, which starts the transcription, and the final
 * transcript must come within `finalizeTimeoutMs`. Failures and that deadline are reported on the
 * connection's event queue, so the reader sees them in order with the transcription events.
 */
export class RealtimeAudioSender {
  #committed = false
  #stopped = false
  #sentBytes = 0
  #deadline: NodeJS.Timeout | undefined
  readonly #connection: RealtimeConnection
  readonly #input: AsyncIterator<Buffer>
  readonly #resampler: Resampler | undefined
  readonly #finalizeTimeoutMs: number

  constructor (connection: RealtimeConnection, audio: AsyncIterable<Buffer>, inputRateHz: number, finalizeTimeoutMs: number) {
    this.#connection = connection
    this.#input = audio[Symbol.asyncIterator]()
    this.#resampler = inputRateHz === REALTIME_SAMPLE_RATE_HZ ? undefined : new Resampler(inputRateHz, REALTIME_SAMPLE_RATE_HZ)
    this.#finalizeTimeoutMs = finalizeTimeoutMs
    void this.#pump()
  }

  /** True once the whole input was appended and committed: the final transcript is then expected. */
  get committed (): boolean {
    return this.#committed
  }

  /** Bytes of 24 kHz audio appended so far. */
  get sentBytes (): number {
    return this.#sentBytes
  }

  /** Stops sending, ends the input, and clears the deadline (idempotent). */
  stop (): void {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#deadline)
    this.#input.return?.().catch(() => {})
  }

  async #pump (): Promise<void> {
    const { events } = this.#connection
    let sending = false
    let odd: Buffer | undefined
    try {
      for (;;) {
        const next = await this.#input.next()
        if (this.#stopped) return
        if (next.done === true) break
        // A chunk may end mid-sample: carry its last byte into the next one.
        let bytes = odd !== undefined ? Buffer.concat([odd, next.value]) : next.value
        odd = bytes.length % 2 === 1 ? Buffer.from(bytes.subarray(bytes.length - 1)) : undefined
        if (odd !== undefined) bytes = bytes.subarray(0, bytes.length - 1)
        if (bytes.length === 0) continue
        const pcm = this.#to24kHz(bytes)
        if (pcm.length === 0) continue
        sending = true
        this.#connection.send(appendAudio(pcm))
        sending = false
        this.#sentBytes += pcm.length
      }
      if (this.#sentBytes < MIN_COMMIT_BYTES) {
        // The API refuses to commit under 100 ms (input_audio_buffer_commit_empty): there is no speech to wait for.
        events.offer({ type: 'empty' })
        return
      }
      sending = true
      this.#connection.send(commitAudio())
      this.#committed = true
      const timeoutMs = this.#finalizeTimeoutMs
      this.#deadline = setTimeout(() => { events.offer({ type: 'failed', error: sttTimeout(timeoutMs) }) }, timeoutMs).unref()
    } catch (error) {
      // A send fails when the socket is no longer open (an OpenAI failure); the input's own errors pass through.
      if (!this.#stopped) events.offer({ type: 'failed', error: sending ? sttFailure(error) : error })
    }
  }

  /** The chunk as 24 kHz s16le (base64-encoded at once by the caller, so a view of the resampler's buffer will do). */
  #to24kHz (bytes: Buffer): Buffer {
    if (this.#resampler === undefined) return bytes
    // Int16Array needs an even byte offset: copy the rare chunk that sits on an odd one.
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : Buffer.from(bytes)
    const out = this.#resampler.process(new Int16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2))
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
  }
}
