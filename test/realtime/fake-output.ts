import type { AudioOutput } from '../../lib/transport/media-transport.js'

/**
 * An AudioOutput whose playout moves only when told (`play(ms)`), so a test decides exactly how much of
 * the model's speech was heard before a barge-in.
 */
export class FakeOutput implements AudioOutput {
  writtenMs = 0
  playedMs = 0
  clears = 0
  #drains: Array<() => void> = []

  write (pcm: Int16Array, sampleRateHz: number): void { this.writtenMs += pcm.length * 1000 / sampleRateHz }
  get playing (): boolean { return this.writtenMs > this.playedMs }
  readonly paused = false
  pause (): void {}
  resume (): void {}
  async drain (): Promise<void> {
    if (!this.playing) return
    await new Promise<void>(resolve => this.#drains.push(resolve))
  }

  clear (): number {
    this.clears++
    const dropped = this.writtenMs - this.playedMs
    this.writtenMs = this.playedMs
    this.#settle()
    return dropped
  }

  /** Plays `ms` more of the queue (all of it by default). */
  play (ms = Infinity): void {
    this.playedMs = Math.min(this.writtenMs, this.playedMs + ms)
    if (!this.playing) this.#settle()
  }

  onPlayed (): () => void { return () => {} }

  #settle (): void { for (const resolve of this.#drains.splice(0)) resolve() }
}
