import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { systemClock, type Clock, type TimerHandle } from '../clock.js'
import { LLMRTC_ERR_SESSION_CLOSED, LLMRTC_ERR_SESSION_LIMIT } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import { MemorySessionStore } from './memory-session-store.js'
import { Session, type SessionConnection } from './session.js'
import type { SessionStore } from './session-store.js'

export interface SessionManagerOptions {
  /** Pinned first message of every conversation (default ''). */
  systemPrompt?: string
  /** Non-system messages kept per conversation (default 20). */
  historyLimit?: number
  /** A session with no client activity for this long expires, in ms (default 30 min). */
  idleTtlMs?: number
  /** A disconnected session is kept this long for `reconnect`, in ms (default 2 min). */
  reconnectGraceMs?: number
  /** Most sessions held at once, connected or waiting for reconnect (default 1000). */
  maxSessions?: number
  /** How often expiry is checked, in ms (default 5 s). */
  sweepIntervalMs?: number
  store?: SessionStore
  clock?: Clock
  log?: Logger
}

export type SessionEndReason = 'idle-timeout' | 'reconnect-grace-expired' | 'replaced' | 'closed' | 'shutdown'

export interface SessionManagerEvents {
  /** A session ended; its connection (if any) should be told and closed. */
  ended: [session: Session, reason: SessionEndReason]
}

export interface ResumeResult {
  session: Session
  historyRecovered: boolean
}

export type ResumeFailure = 'not-found' | 'expired' | 'forbidden'

/** How many ended session ids are remembered to tell "expired" from "never existed". */
const REMEMBERED_ENDINGS = 1000

/**
 * Owns the live sessions of this process: creation with unguessable ids, limits, idle expiry, the
 * reconnect grace period, and persistence to a `SessionStore`.
 */
export class SessionManager extends EventEmitter<SessionManagerEvents> {
  readonly #sessions = new Map<string, Session>()
  readonly #recentlyEnded = new Map<string, number>()
  readonly #store: SessionStore
  readonly #clock: Clock
  readonly #log: Logger
  readonly #systemPrompt: string
  readonly #historyLimit: number
  readonly idleTtlMs: number
  readonly reconnectGraceMs: number
  readonly maxSessions: number
  readonly #sweeper: TimerHandle
  #closed = false

  constructor (options: SessionManagerOptions = {}) {
    super()
    this.#clock = options.clock ?? systemClock
    this.#store = options.store ?? new MemorySessionStore(this.#clock)
    this.#log = options.log ?? silentLogger
    this.#systemPrompt = options.systemPrompt ?? ''
    this.#historyLimit = options.historyLimit ?? 20
    this.idleTtlMs = options.idleTtlMs ?? 30 * 60_000
    this.reconnectGraceMs = options.reconnectGraceMs ?? 120_000
    this.maxSessions = options.maxSessions ?? 1000
    this.#sweeper = this.#clock.setInterval(() => { this.sweep() }, options.sweepIntervalMs ?? 5000)
  }

  get size (): number { return this.#sessions.size }
  get store (): SessionStore { return this.#store }

  get (id: string): Session | undefined {
    return this.#sessions.get(id)
  }

  /** Every live session (a snapshot). */
  list (): Session[] {
    return [...this.#sessions.values()]
  }

  /** Creates a session with a fresh UUID v4. Throws LLMRTC_ERR_SESSION_LIMIT when full. */
  create (principal: string | null = null): Session {
    if (this.#closed) throw new LLMRTC_ERR_SESSION_CLOSED()
    if (this.#sessions.size >= this.maxSessions) throw new LLMRTC_ERR_SESSION_LIMIT(this.maxSessions)
    const session = new Session({
      id: randomUUID(),
      principal,
      systemPrompt: this.#systemPrompt,
      historyLimit: this.#historyLimit,
      now: this.#clock.now()
    })
    this.#sessions.set(session.id, session)
    return session
  }

  /** Records client activity (any message), which keeps the session from idling out. */
  touch (session: Session): void {
    session.lastActivityAt = this.#clock.now()
  }

  bind (session: Session, connection: SessionConnection): void {
    session.connection = connection
    session.connectedAt = this.#clock.now()
    session.disconnectedAt = undefined
    this.touch(session)
  }

  /** The connection went away: keep the session for the reconnect grace period. */
  detach (session: Session, connection: SessionConnection): void {
    if (session.connection !== connection) return
    session.connection = undefined
    session.disconnectedAt = this.#clock.now()
    this.persist(session)
  }

  /** Saves what must survive a reconnect; failures are logged, never thrown into a turn. */
  persist (session: Session): void {
    if (session.closed) return
    this.#store.set(session.toRecord(), this.idleTtlMs).catch((err: unknown) => {
      this.#log.error({ err, sessionId: session.id }, 'session store write failed')
    })
  }

  /**
   * Re-binds an earlier session to `connection`. The caller's current session is not touched: the
   * caller drops it on success. Never creates a session under the requested id.
   */
  async resume (id: string, connection: SessionConnection, principal: string | null): Promise<ResumeResult | ResumeFailure> {
    let session = this.#sessions.get(id)
    if (session === undefined) {
      if (this.#recentlyEnded.has(id)) return 'expired'
      const record = await this.#store.get(id).catch((err: unknown) => {
        this.#log.error({ err }, 'session store read failed')
        return undefined
      })
      if (record === undefined) return 'not-found'
      if (record.principal !== principal) return 'forbidden'
      if (this.#sessions.size >= this.maxSessions) throw new LLMRTC_ERR_SESSION_LIMIT(this.maxSessions)
      // Another request may have rehydrated it while the store answered.
      session = this.#sessions.get(id) ?? new Session({
        id: record.id,
        principal: record.principal,
        systemPrompt: this.#systemPrompt,
        historyLimit: this.#historyLimit,
        now: this.#clock.now(),
        record
      })
      this.#sessions.set(session.id, session)
    }
    if (session.principal !== principal) return 'forbidden'
    if (this.#clock.now() - session.lastActivityAt > this.idleTtlMs) {
      this.end(session, 'idle-timeout')
      return 'expired'
    }
    const previous = session.connection
    if (previous !== undefined && previous !== connection) {
      previous.close(4001, 'session resumed elsewhere') // CLOSE_CODES.resumedElsewhere
    }
    this.bind(session, connection)
    return { session, historyRecovered: true }
  }

  /** Ends a session: aborts its work, forgets it, deletes its record, and emits `ended`. Idempotent. */
  end (session: Session, reason: SessionEndReason): void {
    if (this.#sessions.get(session.id) !== session) return
    this.#sessions.delete(session.id)
    if (reason === 'idle-timeout' || reason === 'reconnect-grace-expired') this.#rememberEnded(session.id)
    session.end(reason)
    if (reason !== 'shutdown') {
      this.#store.delete(session.id).catch((err: unknown) => {
        this.#log.error({ err, sessionId: session.id }, 'session store delete failed')
      })
    }
    this.emit('ended', session, reason)
  }

  /** Expires idle sessions and reaps disconnected ones whose grace is over. Runs on a timer. */
  sweep (): void {
    const now = this.#clock.now()
    for (const session of this.#sessions.values()) {
      if (session.disconnectedAt !== undefined && now - session.disconnectedAt >= this.reconnectGraceMs) {
        this.end(session, 'reconnect-grace-expired')
      } else if (now - session.lastActivityAt >= this.idleTtlMs) {
        this.end(session, 'idle-timeout')
      }
    }
  }

  /** Ends every session (their records stay in the store for a resume elsewhere) and stops the sweeper. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#clock.clearInterval(this.#sweeper)
    for (const session of this.list()) {
      if (!session.connected) continue
      this.persist(session)
    }
    for (const session of this.list()) this.end(session, 'shutdown')
    await this.#store.close()
  }

  #rememberEnded (id: string): void {
    this.#recentlyEnded.set(id, this.#clock.now())
    if (this.#recentlyEnded.size > REMEMBERED_ENDINGS) {
      const oldest = this.#recentlyEnded.keys().next().value
      if (oldest !== undefined) this.#recentlyEnded.delete(oldest)
    }
  }
}
