import type { ChatMessage } from '../providers/types.js'

/** What survives of a session between connections (and, with a shared store, between servers). */
export interface SessionRecord {
  id: string
  /** The authenticated principal that owns the session, or null when authentication is off. */
  principal: string | null
  /** Conversation messages, without the system prompt. */
  history: ChatMessage[]
  /** Free-form state that must survive a reconnect (playbook stage and context, ...). */
  data: Record<string, unknown>
  /** Epoch milliseconds. */
  createdAt: number
  /** Epoch milliseconds of the last client activity. */
  lastActivityAt: number
  /**
   * The id of the turn whose user message is saved and whose answer is not: written when the user's words
   * enter the history (before the LLM is asked), cleared when the turn ends or the client leaves the
   * server. Still set when another server loads the record, it means the server that ran the turn stopped
   * without ending it (killed): see `unansweredQuestion` and docs/reliability.md.
   */
  openTurn?: string
}

/**
 * Where session records live. The in-memory store is the default; a shared store (Redis) lets a client
 * resume on another server. Implementations expire records after `ttlMs` on their own; a shared store
 * should refuse to replace a record whose `lastActivityAt` is later than the one being written.
 */
export interface SessionStore {
  /**
   * True when other servers read and write the same records (Redis). The SessionManager then keeps no
   * copy of a disconnected session once its record is written: the store is where it waits for a
   * `reconnect`, on any server, until its TTL ends (see docs/deployment.md).
   */
  readonly shared?: boolean
  get: (id: string) => Promise<SessionRecord | undefined>
  set: (record: SessionRecord, ttlMs: number) => Promise<void>
  delete: (id: string) => Promise<void>
  /**
   * Takes `key` for the first caller across every server that shares the store: resolves true once, then
   * false until `ttlMs` has passed. Without it, a store's records alone decide (one process, or a race
   * of two servers loading one record at the same moment left open).
   */
  claim?: (key: string, ttlMs: number) => Promise<boolean>
  close: () => Promise<void>
}
