/**
 * An append-only, growable buffer of s16 samples. Growing copies into a new, larger array, so views
 * handed out earlier stay valid and unchanged: a segment's audio can be shared without copies.
 */
export class PcmBuffer {
  #data: Int16Array
  #length = 0

  /** @param capacity initial capacity in samples */
  constructor (capacity: number) {
    this.#data = new Int16Array(Math.max(16, capacity))
  }

  /** Number of samples held. */
  get length (): number {
    return this.#length
  }

  append (samples: Int16Array): void {
    const needed = this.#length + samples.length
    if (needed > this.#data.length) {
      const grown = new Int16Array(Math.max(needed, this.#data.length * 2))
      grown.set(this.#data.subarray(0, this.#length))
      this.#data = grown
    }
    this.#data.set(samples, this.#length)
    this.#length = needed
  }

  /** A view of samples [start, end). */
  view (start = 0, end = this.#length): Int16Array {
    return this.#data.subarray(start, end)
  }

  /** Drops the first `count` samples (moves the rest to the front: invalidates earlier views). */
  discard (count: number): void {
    const n = Math.min(count, this.#length)
    this.#data.copyWithin(0, n, this.#length)
    this.#length -= n
  }
}
