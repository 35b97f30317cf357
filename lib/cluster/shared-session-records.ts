import { systemClock, type Clock, type TimerHandle } from '../clock.js'
import type { SessionRecord } from '../sessions/session-store.js'

/** How often expired records are dropped even when nobody reads them, in ms. */
const SWEEP_INTERVAL_MS = 60_000

/**
 * The session records of every worker of one machine, held by the cluster's primary (the workers reach
 * them through `ClusterSessionStore`). Same rules as the Redis store: a record expires `ttlMs` after its
 * last write, and a write never replaces a record with later activity (a worker holding a stale copy of a
 * session that moved to another worker cannot overwrite it).
 */
export class SharedSessionRecords {
  readonly #records = new Map<string, { record: SessionRecord, expiresAt: number }>()
  readonly #clock: Clock
  readonly #sweeper: TimerHandle

  constructor (clock: Clock = systemClock) {
    this.#clock = clock
    this.#sweeper = clock.setInterval(() => { this.#sweep() }, SWEEP_INTERVAL_MS)
  }

  get size (): number { return this.#records.size }

  get (id: string): SessionRecord | undefined {
    const entry = this.#records.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= this.#clock.now()) {
      this.#records.delete(id)
      return undefined
    }
    return entry.record
  }

  /** Returns false when the stored record has later activity (nothing written). */
  set (record: SessionRecord, ttlMs: number): boolean {
    const current = this.get(record.id)
    if (current !== undefined && current.lastActivityAt > record.lastActivityAt) return false
    this.#records.set(record.id, { record, expiresAt: this.#clock.now() + ttlMs })
    return true
  }

  delete (id: string): void {
    this.#records.delete(id)
  }

  close (): void {
    this.#clock.clearInterval(this.#sweeper)
    this.#records.clear()
  }

  #sweep (): void {
    const now = this.#clock.now()
    for (const [id, entry] of this.#records) if (entry.expiresAt <= now) this.#records.delete(id)
  }
}
