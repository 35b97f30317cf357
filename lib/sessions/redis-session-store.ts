import type { Redis } from 'ioredis'
import { LLMRTC_ERR_SESSION_STORE } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import type { SessionRecord, SessionStore } from './session-store.js'
import { parseJsonObject } from '../json.js'

export interface RedisSessionStoreOptions {
  /** The ioredis client the records go through. */
  client: Redis
  /** Namespace of llmrtc's keys (default 'llmrtc:'): a record lives at `<keyPrefix>session:<id>`. */
  keyPrefix?: string
  /** The store owns the client: `connect()` connects it and `close()` quits it (default false). */
  ownsClient?: boolean
  /** Where the client points, for messages (host:port, never a password). */
  address?: string
  log?: Logger
}

export const DEFAULT_REDIS_KEY_PREFIX = 'llmrtc:'

/** Longest wait for a Redis to answer at start, in ms, beyond the client's own connect timeout. */
const CONNECT_DEADLINE_MS = 10_000

/**
 * Writes a record unless the stored one has later activity: a server holding a stale copy (its client
 * moved to another server) cannot overwrite what the other server wrote. The JSON starts with
 * `{"lastActivityAt":<n>` (see `serialize`), so the stored value is checked without decoding it.
 * KEYS[1] the key; ARGV: JSON, its lastActivityAt, TTL in ms. Returns 1 when written, 0 when refused.
 */
const SET_UNLESS_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^{"lastActivityAt":([-+%d%.eE]+)'))
  if stored and stored > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`

/**
 * Session records in Redis, as JSON strings under `<keyPrefix>session:<id>`, expiring after the TTL of
 * their last write (PX). Shared by every server that uses the same Redis and prefix, so a client can
 * resume on any of them.
 *
 * Failures reject with LLMRTC_ERR_SESSION_STORE (the cause is the Redis error); the SessionManager logs
 * them and carries on with the session in memory. A record that is not valid JSON of the expected
 * shape is logged and read as absent.
 */
export class RedisSessionStore implements SessionStore {
  readonly shared = true
  readonly keyPrefix: string
  readonly #client: Redis
  readonly #ownsClient: boolean
  readonly #address: string
  readonly #log: Logger
  #closed = false

  constructor (options: RedisSessionStoreOptions) {
    this.#client = options.client
    this.keyPrefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX
    this.#ownsClient = options.ownsClient ?? false
    this.#address = options.address ?? 'the given client'
    this.#log = options.log ?? silentLogger
  }

  get client (): Redis { return this.#client }

  key (id: string): string {
    return `${this.keyPrefix}session:${id}`
  }

  /**
   * Connects an owned client that is not connected yet, and rejects with LLMRTC_ERR_SESSION_STORE
   * (after stopping its reconnection attempts) when Redis does not answer. A client the caller owns is
   * left as it is.
   */
  async connect (): Promise<void> {
    const client = this.#client
    if (!this.#ownsClient || client.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(deadline)
        client.off('ready', onReady)
        client.off('error', fail)
        client.off('end', onEnd)
      }
      const fail = (err: Error): void => {
        cleanup()
        client.disconnect()
        reject(new LLMRTC_ERR_SESSION_STORE(`cannot reach Redis at ${this.#address} (REDIS_URL or the redis option): ${err.message}`, { cause: err }))
      }
      const onReady = (): void => { cleanup(); resolve() }
      const onEnd = (): void => { fail(new Error('connection closed')) }
      const deadline = setTimeout(() => { fail(new Error(`no answer within ${CONNECT_DEADLINE_MS} ms`)) }, CONNECT_DEADLINE_MS).unref()
      client.once('ready', onReady)
      client.once('error', fail)
      client.once('end', onEnd)
      if (client.status === 'wait') client.connect().catch(() => {}) // reported through the 'error' event
    })
  }

  async get (id: string): Promise<SessionRecord | undefined> {
    const text = await this.#command('GET', async () => await this.#client.get(this.key(id)))
    if (text === null) return undefined
    const record = parse(text, id)
    if (record === undefined) this.#log.warn({ sessionId: id }, 'unreadable session record in Redis: treated as not found')
    return record
  }

  async set (record: SessionRecord, ttlMs: number): Promise<void> {
    const px = Math.max(1, Math.ceil(ttlMs))
    const written = await this.#command('SET', async () => await this.#client.eval(SET_UNLESS_NEWER, 1, this.key(record.id), serialize(record), String(record.lastActivityAt), String(px)))
    if (written === 0) this.#log.debug({ sessionId: record.id }, 'session record not written: Redis holds later activity (the session moved to another server)')
  }

  /** `SET <keyPrefix>claim:<key> 1 PX <ttl> NX`: only the first server to ask gets OK. */
  async claim (key: string, ttlMs: number): Promise<boolean> {
    const px = Math.max(1, Math.ceil(ttlMs))
    return await this.#command('SET', async () => await this.#client.set(`${this.keyPrefix}claim:${key}`, '1', 'PX', px, 'NX')) === 'OK'
  }

  async delete (id: string): Promise<void> {
    await this.#command('DEL', async () => await this.#client.del(this.key(id)))
  }

  /** Quits an owned client, after the replies it waits for; idempotent. A caller's client stays open. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (!this.#ownsClient) return
    const client = this.#client
    if (client.status === 'end') return
    if (client.status !== 'ready') {
      client.disconnect()
      return
    }
    await client.quit().catch(() => { client.disconnect() })
  }

  async #command<T> (name: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      throw new LLMRTC_ERR_SESSION_STORE(`Redis ${name} failed: ${(err as Error).message}`, { cause: err })
    }
  }
}

/** JSON with lastActivityAt first, which the write script relies on. */
function serialize (record: SessionRecord): string {
  return JSON.stringify({
    lastActivityAt: record.lastActivityAt,
    id: record.id,
    principal: record.principal,
    createdAt: record.createdAt,
    data: record.data,
    history: record.history,
    ...(record.openTurn !== undefined ? { openTurn: record.openTurn } : {})
  })
}

function parse (text: string, id: string): SessionRecord | undefined {
  const r = parseJsonObject(text)
  if (r === undefined) return undefined
  const ok = r.id === id &&
    (r.principal === null || typeof r.principal === 'string') &&
    Array.isArray(r.history) &&
    r.data !== null && typeof r.data === 'object' && !Array.isArray(r.data) &&
    Number.isFinite(r.createdAt) && Number.isFinite(r.lastActivityAt)
  if (!ok) return undefined
  return {
    id,
    principal: r.principal as string | null,
    history: r.history as SessionRecord['history'],
    data: r.data as Record<string, unknown>,
    createdAt: r.createdAt as number,
    lastActivityAt: r.lastActivityAt as number,
    ...(typeof r.openTurn === 'string' ? { openTurn: r.openTurn } : {})
  }
}
