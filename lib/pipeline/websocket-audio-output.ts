import type { ServerMessage, TTSChunkMessage } from '../protocol/server-messages.js'
import type { AudioOutput } from '../transport/media-transport.js'

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
    if (this.#paused) this.#held.push(chunk)
    else this.#sendChunk(chunk)
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
    while (!this.#paused && this.#held.length > 0) this.#sendChunk(this.#held.shift() as HeldChunk)
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

  #settleDrains (): void {
    for (const resolve of this.#drains.splice(0)) resolve()
  }
}
