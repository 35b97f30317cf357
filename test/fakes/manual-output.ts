import type { AudioOutput } from '../../lib/transport/media-transport.js'

/** An audio output whose playback moves only when the test calls `play(ms)` (and not while paused). */
export class ManualOutput implements AudioOutput {
  readonly #queue: Array<{ ms: number, mark: string | undefined }> = []
  readonly #listeners = new Set<(mark: string) => void>()
  readonly #drains: Array<() => void> = []
  #playedMs = 0
  #paused = false
  writtenMs = 0

  get playing (): boolean { return this.#queue.length > 0 }
  get playedMs (): number { return this.#playedMs }
  get paused (): boolean { return this.#paused }
  get queuedMs (): number { return this.#queue.reduce((sum, c) => sum + c.ms, 0) }

  write (pcm: Int16Array, sampleRateHz: number, mark?: string): void {
    const ms = pcm.length * 1000 / sampleRateHz
    this.writtenMs += ms
    this.#queue.push({ ms, mark })
  }

  async drain (): Promise<void> {
    if (this.#queue.length === 0) return
    await new Promise<void>(resolve => { this.#drains.push(resolve) })
  }

  clear (): number {
    const dropped = this.queuedMs
    this.#queue.length = 0
    this.#paused = false
    this.#settle()
    return dropped
  }

  pause (): void { this.#paused = true }
  resume (): void { this.#paused = false }

  onPlayed (listener: (mark: string) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** Plays `ms` of queued audio (all of it by default); nothing while paused. */
  play (ms = Infinity): void {
    if (this.#paused) return
    let left = ms
    while (left > 0 && this.#queue.length > 0) {
      const chunk = this.#queue[0] as { ms: number, mark: string | undefined }
      const step = Math.min(left, chunk.ms)
      chunk.ms -= step
      left -= step
      this.#playedMs += step
      if (chunk.ms <= 0) {
        this.#queue.shift()
        if (chunk.mark !== undefined) for (const listener of this.#listeners) listener(chunk.mark)
      }
    }
    this.#settle()
  }

  #settle (): void {
    if (this.#queue.length === 0) for (const resolve of this.#drains.splice(0)) resolve()
  }
}
