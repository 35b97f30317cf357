import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { systemClock, type Clock, type TimerHandle } from '../clock.js'
import type { ChatMessage } from '../providers/types.js'
import { LLMRTC_ERR_SESSION_CLOSED, LLMRTC_ERR_SESSION_LIMIT } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import { MemorySessionStore } from './memory-session-store.js'
import { Session, type SessionConnection } from './session.js'
import type { SessionRecord, SessionStore } from './session-store.js'
import { unansweredQuestion } from './unanswered-question.js'

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

/**
 * Why a session left this server. `handed-off`: with a shared store, a disconnected session whose record
 * was written is kept only there (it may be resumed on any server); it did not end for the client.
 */
export type SessionEndReason = 'idle-timeout' | 'reconnect-grace-expired' | 'replaced' | 'closed' | 'shutdown' | 'handed-off' | 'user-idle'

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
  /** The store is shared with other servers (see `SessionStore.shared`). */
  readonly #shared: boolean
  /** Store writes in flight, awaited by `close()` before the store closes. */
  readonly #writes = new Set<Promise<boolean>>()
  #closed = false

  constructor (options: SessionManagerOptions = {}) {
    super()
    this.#clock = options.clock ?? systemClock
    this.#store = options.store ?? new MemorySessionStore(this.#clock)
    this.#shared = this.#store.shared === true
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

  /**
   * The session is reached through `connection` from now on. The record is written at once: a client whose
   * connection dies unseen (no close frame) before its first turn ends reconnects, perhaps to another
   * server, and must find its session there (the chaos bench found it missing).
   */
  bind (session: Session, connection: SessionConnection): void {
    session.connection = connection
    session.connectedAt = this.#clock.now()
    session.disconnectedAt = undefined
    this.touch(session)
    this.persist(session)
  }

  /**
   * The turn `turnId` put the user's words in the history and is about to ask the LLM: the record is
   * written now, with the turn marked open, so that a server that resumes the session after this one died
   * mid-turn answers it (docs/reliability.md). Not awaited: the write is on its way to the store before the
   * LLM request, and the answer does not wait for a round trip.
   */
  openTurn (session: Session, turnId: string): void {
    session.openTurn = turnId
    this.persist(session)
  }

  /** The turn ended here (answered, cancelled, failed or blocked): saved, with no turn open. */
  closeTurn (session: Session): void {
    session.openTurn = undefined
    this.persist(session)
  }

  /** The connection went away: keep the session for the reconnect grace period. */
  detach (session: Session, connection: SessionConnection): void {
    if (session.connection !== connection) return
    session.connection = undefined
    // The turn in progress is cancelled with the connection (plugins/pipeline): it is nobody's to answer.
    session.openTurn = undefined
    session.disconnectedAt = this.#clock.now()
    const written = this.#write(session)
    // With a shared store the record is where a disconnected session waits, so that no server keeps a
    // stale copy once the client resumed elsewhere. If the write failed, the copy here stays for the grace.
    if (this.#shared) {
      void written.then((ok) => { if (ok && !session.connected) this.end(session, 'handed-off') })
    }
  }

  /**
   * Saves what must survive a reconnect (after every turn, on disconnect and on resume). Failures are
   * logged, never thrown into a turn: the next write carries the whole record again.
   */
  persist (session: Session): void {
    void this.#write(session)
  }

  /**
   * Writes the record of every connected session and resolves once each write is done (or failed): a
   * server that is about to close its sockets calls it first, so a client that reconnects elsewhere at
   * once finds its session there, even one that has no finished turn yet.
   */
  async saveConnected (): Promise<void> {
    await Promise.all(this.list().filter(session => session.connected).map(async session => await this.#write(session)))
  }

  /** Resolves true once written; a connected session's record lives `idleTtlMs`, a disconnected one's the rest of its grace. */
  async #write (session: Session): Promise<boolean> {
    // A handed-off session may still finish the turn its disconnect cancelled: that write is kept (a
    // shared store refuses it if the session has been resumed since).
    if (session.closed && session.signal.reason !== 'handed-off') return false
    const now = this.#clock.now()
    const ttlMs = session.disconnectedAt === undefined ? this.idleTtlMs : Math.max(1, session.disconnectedAt + this.reconnectGraceMs - now)
    const write = this.#store.set(session.toRecord(), ttlMs).then(() => true, (err: unknown) => {
      this.#log.error({ err, sessionId: session.id }, 'session store write failed')
      return false
    })
    this.#writes.add(write)
    void write.finally(() => { this.#writes.delete(write) })
    return await write
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
      const question = await this.#takeOver(record)
      // Another request may have rehydrated it while the store answered.
      session = this.#sessions.get(id)
      if (session === undefined) {
        session = new Session({
          id: record.id,
          principal: record.principal,
          systemPrompt: this.#systemPrompt,
          historyLimit: this.#historyLimit,
          now: this.#clock.now(),
          record
        })
        // The record's own object, which the history holds: answered only while it is still the last message.
        if (question !== undefined && session.history.messages.at(-1) === question) session.unanswered = question
        this.#sessions.set(session.id, session)
      }
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
    // Connected again (bind writes the record): it lives idleTtlMs again, and in a shared store it now
    // carries this server's later activity, so a stale copy elsewhere cannot overwrite it.
    this.bind(session, connection)
    return { session, historyRecovered: true }
  }

  /**
   * The question of a record whose server stopped mid-turn, when this server is the one to answer it: the
   * store's `claim` on the turn's id makes that one server, once, however many resume the record. The
   * record written by the resume has no turn open, so a later resume does not find it either.
   */
  async #takeOver (record: SessionRecord): Promise<ChatMessage | undefined> {
    const question = unansweredQuestion(record)
    if (question === undefined || record.openTurn === undefined) return undefined
    const claim = this.#store.claim
    if (claim === undefined) return question
    const claimed = await claim.call(this.#store, `${record.id}:${record.openTurn}`, this.reconnectGraceMs + this.idleTtlMs).catch((err: unknown) => {
      this.#log.error({ err, sessionId: record.id }, 'session store claim failed: the unanswered question is left')
      return false
    })
    if (claimed) this.#log.info({ sessionId: record.id, turnId: record.openTurn }, 'resumed mid-turn: the question its server left unanswered is answered here')
    return claimed ? question : undefined
  }

  /** Ends a session: aborts its work, forgets it, deletes its record, and emits `ended`. Idempotent. */
  end (session: Session, reason: SessionEndReason): void {
    if (this.#sessions.get(session.id) !== session) return
    this.#sessions.delete(session.id)
    if (reason === 'idle-timeout' || reason === 'reconnect-grace-expired') this.#rememberEnded(session.id)
    session.end(reason)
    if (this.#deletesRecord(reason)) {
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
    await Promise.all([...this.#writes])
    await this.#store.close()
  }

  /**
   * Shutdown keeps records for a resume elsewhere. With a shared store, expiry timers do not delete
   * either: the record expires by its own TTL, and another server may have resumed the session since.
   */
  #deletesRecord (reason: SessionEndReason): boolean {
    if (reason === 'shutdown' || reason === 'handed-off') return false
    return !this.#shared || (reason !== 'idle-timeout' && reason !== 'reconnect-grace-expired')
  }

  #rememberEnded (id: string): void {
    this.#recentlyEnded.set(id, this.#clock.now())
    if (this.#recentlyEnded.size > REMEMBERED_ENDINGS) {
      const oldest = this.#recentlyEnded.keys().next().value
      if (oldest !== undefined) this.#recentlyEnded.delete(oldest)
    }
  }
}
