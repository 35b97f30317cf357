import { systemClock, type Clock } from '../clock.js'
import type { SessionRecord, SessionStore } from './session-store.js'

/** The default store: a Map in this process, entries expiring lazily at read time. */
export class MemorySessionStore implements SessionStore {
  readonly #records = new Map<string, { record: SessionRecord, expiresAt: number }>()
  readonly #claims = new Map<string, number>()
  readonly #clock: Clock

  constructor (clock: Clock = systemClock) {
    this.#clock = clock
  }

  get size (): number { return this.#records.size }

  async get (id: string): Promise<SessionRecord | undefined> {
    const entry = this.#records.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= this.#clock.now()) {
      this.#records.delete(id)
      return undefined
    }
    return structuredClone(entry.record)
  }

  async set (record: SessionRecord, ttlMs: number): Promise<void> {
    this.#records.set(record.id, { record: structuredClone(record), expiresAt: this.#clock.now() + ttlMs })
  }

  async delete (id: string): Promise<void> {
    this.#records.delete(id)
  }

  async claim (key: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now()
    const expiresAt = this.#claims.get(key)
    if (expiresAt !== undefined && expiresAt > now) return false
    // Expired claims go when a new one is taken: the map holds at most the claims of one TTL.
    for (const [claimed, until] of this.#claims) if (until <= now) this.#claims.delete(claimed)
    this.#claims.set(key, now + ttlMs)
    return true
  }

  async close (): Promise<void> {
    this.#claims.clear()
    this.#records.clear()
  }
}
