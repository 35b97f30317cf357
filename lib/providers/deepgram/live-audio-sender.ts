import { sttFailure, sttTimeout } from './deepgram-errors.js'
import type { LiveConnection } from './live-connection.js'

export interface LiveSenderTiming {
  /** A KeepAlive goes out at each tick of this period (ms) during which no audio was sent. */
  keepAliveIntervalMs: number
  /** After CloseStream: how long (ms) the last results and the close may take. */
  finalizeTimeoutMs: number
}

/**
 * The sending half of a live transcription: audio chunks as binary frames, KeepAlive while the input
 * is idle, and at the end of input `Finalize` (Deepgram flushes what it holds as final results) then
 * `CloseStream` (Deepgram sends the rest, Metadata, and closes). Failures and the final deadline are
 * reported on the connection's event queue, so the reader sees them in order with the results.
 */
export class LiveAudioSender {
  #closeStreamSent = false
  #stopped = false
  #sentSinceTick = false
  readonly #connection: LiveConnection
  readonly #timing: LiveSenderTiming
  readonly #input: AsyncIterator<Buffer>
  readonly #keepAlive: NodeJS.Timeout
  #deadline: NodeJS.Timeout | undefined

  constructor (connection: LiveConnection, audio: AsyncIterable<Buffer>, timing: LiveSenderTiming) {
    this.#connection = connection
    this.#timing = timing
    this.#input = audio[Symbol.asyncIterator]()
    this.#keepAlive = setInterval(() => { this.#tick() }, timing.keepAliveIntervalMs).unref()
    void this.#pump()
  }

  /** True once the whole input was sent and CloseStream went out: a close is then expected. */
  get closeStreamSent (): boolean {
    return this.#closeStreamSent
  }

  /** Stops sending and clears the timers (idempotent). */
  stop (): void {
    if (this.#stopped) return
    this.#stopped = true
    clearInterval(this.#keepAlive)
    clearTimeout(this.#deadline)
    if (!this.#closeStreamSent) Promise.resolve(this.#input.return?.()).catch(() => {})
  }

  async #pump (): Promise<void> {
    const { socket, events } = this.#connection
    let sending = false
    try {
      for (;;) {
        const next = await this.#input.next()
        if (this.#stopped) return
        if (next.done === true) break
        // A zero-length binary frame is Deepgram's legacy end-of-stream signal: never send one.
        if (next.value.length === 0) continue
        sending = true
        socket.sendMedia(next.value)
        sending = false
        this.#sentSinceTick = true
      }
      sending = true
      socket.sendFinalize({ type: 'Finalize' })
      socket.sendCloseStream({ type: 'CloseStream' })
      this.#closeStreamSent = true
      clearInterval(this.#keepAlive)
      const timeoutMs = this.#timing.finalizeTimeoutMs
      this.#deadline = setTimeout(() => { events.offer({ type: 'failed', error: sttTimeout(timeoutMs) }) }, timeoutMs).unref()
    } catch (error) {
      // A send fails when the socket is no longer open (a Deepgram failure); the input's own errors pass through.
      if (!this.#stopped) events.offer({ type: 'failed', error: sending ? sttFailure(error) : error })
    }
  }

  #tick (): void {
    if (!this.#sentSinceTick && !this.#stopped && !this.#closeStreamSent) {
      try {
        this.#connection.socket.sendKeepAlive({ type: 'KeepAlive' })
      } catch {
        // The socket is no longer open: its close event reports why.
      }
    }
    this.#sentSinceTick = false
  }
}
