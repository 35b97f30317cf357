/**
 * A bounded async queue that is also an AsyncIterable: the one streaming abstraction of the core.
 * `push` resolves when there is room (backpressure), `close()` ends iteration after the queued items,
 * and an abort (the signal, or `abort()`) ends it at once, dropping what is queued.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = []
  readonly #capacity: number
  #closed = false
  #aborted = false
  #waitingReader: (() => void) | undefined
  readonly #waitingWriters: Array<() => void> = []

  /** @param capacity items held before `push` waits (default: unbounded) */
  constructor (capacity = Infinity, signal?: AbortSignal) {
    this.#capacity = capacity
    if (signal !== undefined) {
      if (signal.aborted) this.abort()
      else signal.addEventListener('abort', () => { this.abort() }, { once: true })
    }
  }

  get size (): number { return this.#items.length }
  get closed (): boolean { return this.#closed || this.#aborted }

  /** Adds an item, waiting while the queue is full. Items pushed after close or abort are dropped. */
  async push (item: T): Promise<void> {
    while (this.#items.length >= this.#capacity && !this.closed) {
      await new Promise<void>(resolve => { this.#waitingWriters.push(resolve) })
    }
    if (this.closed) return
    this.#items.push(item)
    this.#wakeReader()
  }

  /** Adds an item without waiting (for producers that must not block, e.g. the audio hot path). */
  offer (item: T): boolean {
    if (this.closed || this.#items.length >= this.#capacity) return false
    this.#items.push(item)
    this.#wakeReader()
    return true
  }

  /** No more items: iteration ends once the queued ones are read. */
  close (): void {
    this.#closed = true
    this.#wakeReader()
    this.#wakeWriters()
  }

  /** Ends iteration now and drops queued items. */
  abort (): void {
    this.#aborted = true
    this.#items.length = 0
    this.#wakeReader()
    this.#wakeWriters()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<T> {
    for (;;) {
      if (this.#aborted) return
      if (this.#items.length > 0) {
        const item = this.#items.shift() as T
        this.#wakeWriters()
        yield item
        continue
      }
      if (this.#closed) return
      await new Promise<void>(resolve => { this.#waitingReader = resolve })
    }
  }

  #wakeReader (): void {
    const reader = this.#waitingReader
    this.#waitingReader = undefined
    reader?.()
  }

  #wakeWriters (): void {
    for (const writer of this.#waitingWriters.splice(0)) writer()
  }
}
