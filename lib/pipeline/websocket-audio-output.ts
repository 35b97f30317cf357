import type { ServerMessage } from '../protocol/server-messages.js'
import type { AudioOutput } from '../transport/media-transport.js'

/**
 * The audio output of a session with no WebRTC track: each chunk goes to the client at once as a
 * `tts-chunk` message (base64 PCM s16le mono at the TTS's own rate), and the client plays it. There is
 * no server-side pacing, so audio counts as played when sent.
 */
export class WebSocketAudioOutput implements AudioOutput {
  readonly #send: (message: ServerMessage) => void
  readonly #listeners = new Set<(mark: string) => void>()
  #playedMs = 0

  constructor (send: (message: ServerMessage) => void) {
    this.#send = send
  }

  get playing (): boolean { return false }
  get playedMs (): number { return this.#playedMs }

  write (pcm: Int16Array, sampleRateHz: number, mark?: string): void {
    const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64')
    this.#send({ type: 'tts-chunk', format: 'pcm', sampleRate: sampleRateHz, data })
    this.#playedMs += pcm.length * 1000 / sampleRateHz
    if (mark !== undefined) for (const listener of this.#listeners) listener(mark)
  }

  async drain (): Promise<void> {}

  clear (): number {
    return 0
  }

  onPlayed (listener: (mark: string) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }
}
