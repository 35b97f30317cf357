import type { Session } from '../sessions/session.js'

/** What ownership needs of a SessionManager. */
export interface OwnedSessionSource {
  get: (id: string) => Session | undefined
  on: (event: 'ended', listener: (session: Session) => void) => unknown
  off: (event: 'ended', listener: (session: Session) => void) => unknown
}

/** Ended session ids remembered, for events published after the end (a turn cancelled by it). */
const REMEMBERED_ENDINGS = 1000

/** The open ownerships of this process (one per app with metrics or tracing). */
const openOwnerships = new Set<SessionOwnership>()

/**
 * Tells the events of one app's sessions from those of other llmrtc apps in the process (channels are
 * process-wide, session ids are random UUIDs): a session is this app's while its manager holds it, and
 * for the next REMEMBERED_ENDINGS endings after it ended, unless another app of the process holds it then
 * (resumed there through a shared session store).
 */
export class SessionOwnership {
  readonly #sessions: OwnedSessionSource
  readonly #ended = new Set<string>()
  readonly #onEnded = (session: Session): void => {
    this.#ended.add(session.id)
    if (this.#ended.size > REMEMBERED_ENDINGS) {
      for (const id of this.#ended) {
        this.#ended.delete(id)
        break
      }
    }
  }

  constructor (sessions: OwnedSessionSource) {
    this.#sessions = sessions
    sessions.on('ended', this.#onEnded)
    openOwnerships.add(this)
  }

  /** Whether the session is (or recently was) this app's. */
  owns (sessionId: string): boolean {
    if (this.#sessions.get(sessionId) !== undefined) return true
    if (!this.#ended.has(sessionId)) return false
    // Ended here, and resumed since by another app of this process (a shared session store): its events are that app's.
    for (const other of openOwnerships) {
      if (other !== this && other.#sessions.get(sessionId) !== undefined) return false
    }
    return true
  }

  /** Stops listening to the manager (idempotent). */
  close (): void {
    this.#sessions.off('ended', this.#onEnded)
    this.#ended.clear()
    openOwnerships.delete(this)
  }
}
