import type { ServerMessage, TTSChunkMessage } from '../protocol/server-messages.js'
import type { AudioOutput, FrameListener } from '../transport/media-transport.js'

interface HeldChunk {
  message: TTSChunkMessage
  ms: number
  mark: string | undefined
}

/**
 * The audio output of a session with no WebRTC track: each chunk goes to the client at once as a
 * `tts-chunk` message (base64 PCM s16le mono at the TTS's own rate), and the client plays it. There is
 * no server-side pacing, so audio counts as played when sent.
 *
 * `pause()` holds later chunks on the server (encoded at `write()`, so the caller may reuse its buffer)
 * and `resume()` sends them in order; audio the client already received keeps playing there, since the
 * server cannot reach into the client's playback buffer.
 */
export class WebSocketAudioOutput implements AudioOutput {
  readonly #send: (message: ServerMessage) => void
  readonly #listeners = new Set<(mark: string) => void>()
  readonly #held: HeldChunk[] = []
  readonly #drains: Array<() => void> = []
  /** `onFrame()` listeners; replaced, never mutated, so a chunk iterates a snapshot without copying it. */
  #frameListeners: readonly FrameListener[] = []
  #playedMs = 0
  #paused = false

  constructor (send: (message: ServerMessage) => void) {
    this.#send = send
  }

  /** True while paused chunks are held. */
  get playing (): boolean { return this.#held.length > 0 }
  get playedMs (): number { return this.#playedMs }
  get paused (): boolean { return this.#paused }

  write (pcm: Int16Array, sampleRateHz: number, mark?: string): void {
    const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64')
    const chunk = { message: { type: 'tts-chunk', format: 'pcm', sampleRate: sampleRateHz, data } as const, ms: pcm.length * 1000 / sampleRateHz, mark }
    if (this.#paused) {
      this.#held.push(chunk)
      return
    }
    this.#sendChunk(chunk)
    this.#tap(pcm, sampleRateHz)
  }

  /**
   * Taps the audio sent: each `tts-chunk`'s PCM at the TTS's rate, when it is sent (a chunk held by a
   * pause when `resume()` sends it). The array may be the writer's own buffer: copy it to keep it.
   */
  onFrame (listener: FrameListener): () => void {
    this.#frameListeners = [...this.#frameListeners, listener]
    return () => { this.#frameListeners = this.#frameListeners.filter(l => l !== listener) }
  }

  /** Resolves at once unless chunks are held by a pause: then when they are sent or dropped. */
  async drain (): Promise<void> {
    if (this.#held.length === 0) return
    await new Promise<void>(resolve => { this.#drains.push(resolve) })
  }

  /** Drops the held chunks (returns their ms) and ends a pause. */
  clear (): number {
    let dropped = 0
    for (const chunk of this.#held) dropped += chunk.ms
    this.#held.length = 0
    this.#paused = false
    this.#settleDrains()
    return dropped
  }

  pause (): void {
    this.#paused = true
  }

  resume (): void {
    if (!this.#paused) return
    this.#paused = false
    // A listener may pause again from a mark: what is still held stays held, in order.
    while (!this.#paused && this.#held.length > 0) {
      const chunk = this.#held.shift() as HeldChunk
      this.#sendChunk(chunk)
      // Held chunks keep only their base64: decoded again for a tap (rare: a tap while paused).
      if (this.#frameListeners.length > 0) {
        const bytes = Buffer.from(chunk.message.data, 'base64')
        this.#tap(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2), chunk.message.sampleRate)
      }
    }
    if (this.#held.length === 0) this.#settleDrains()
  }

  onPlayed (listener: (mark: string) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  #sendChunk (chunk: HeldChunk): void {
    this.#send(chunk.message)
    this.#playedMs += chunk.ms
    if (chunk.mark !== undefined) for (const listener of this.#listeners) listener(chunk.mark)
  }

  #tap (pcm: Int16Array, sampleRateHz: number): void {
    const listeners = this.#frameListeners
    for (let i = 0; i < listeners.length; i++) (listeners[i] as FrameListener)(pcm, sampleRateHz)
  }

  #settleDrains (): void {
    for (const resolve of this.#drains.splice(0)) resolve()
  }
}
