import { LLMRTC_ERR_SESSION_STORE } from '../errors.js'
import type { ClusterRequest } from '../cluster/cluster-worker.js'
import type { SessionRecord, SessionStore } from './session-store.js'

/** The channel to the process that holds the records (a `ClusterWorker`, or a fake in tests). */
export interface SessionRecordsChannel {
  request: (body: ClusterRequest) => Promise<unknown>
}

/**
 * The default store of a worker of `LLMRTCServer({ workers })` without Redis: the records live in the
 * cluster's primary (`SharedSessionRecords`), so a client that reconnects to another worker of the same
 * machine resumes there. `shared`: like Redis, a disconnected session waits in the store, not in the worker
 * that served it. Failures reject with LLMRTC_ERR_SESSION_STORE (the cause is the IPC error); the
 * SessionManager logs them and carries on, as with Redis.
 */
export class ClusterSessionStore implements SessionStore {
  readonly shared = true
  readonly #channel: SessionRecordsChannel

  constructor (channel: SessionRecordsChannel) {
    this.#channel = channel
  }

  async get (id: string): Promise<SessionRecord | undefined> {
    const record = await this.#request('get', { op: 'store-get', sessionId: id })
    return record === null || record === undefined ? undefined : record as SessionRecord
  }

  async set (record: SessionRecord, ttlMs: number): Promise<void> {
    await this.#request('set', { op: 'store-set', record, ttlMs })
  }

  async delete (id: string): Promise<void> {
    await this.#request('delete', { op: 'store-delete', sessionId: id })
  }

  async claim (key: string, ttlMs: number): Promise<boolean> {
    return await this.#request('claim', { op: 'store-claim', key, ttlMs }) === true
  }

  /** The records stay with the primary, for the other workers. */
  async close (): Promise<void> {}

  async #request (name: string, body: ClusterRequest): Promise<unknown> {
    try {
      return await this.#channel.request(body)
    } catch (err) {
      throw new LLMRTC_ERR_SESSION_STORE(`cluster ${name} failed: ${(err as Error).message}`, { cause: err })
    }
  }
}
