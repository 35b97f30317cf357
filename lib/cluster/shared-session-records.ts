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
  /** Keys taken with `claim`, to when they expire (epoch ms). */
  readonly #claims = new Map<string, number>()
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

  /** True for the first worker to claim `key` (the Redis store's SET NX), false until `ttlMs` has passed. */
  claim (key: string, ttlMs: number): boolean {
    const expiresAt = this.#claims.get(key)
    if (expiresAt !== undefined && expiresAt > this.#clock.now()) return false
    this.#claims.set(key, this.#clock.now() + ttlMs)
    return true
  }

  close (): void {
    this.#clock.clearInterval(this.#sweeper)
    this.#records.clear()
    this.#claims.clear()
  }

  #sweep (): void {
    const now = this.#clock.now()
    for (const [id, entry] of this.#records) if (entry.expiresAt <= now) this.#records.delete(id)
    for (const [key, expiresAt] of this.#claims) if (expiresAt <= now) this.#claims.delete(key)
  }
}
