import type { Session } from '../sessions/session.js'

/** What ownership needs of a SessionManager. */
export interface OwnedSessionSource {
  get: (id: string) => Session | undefined
  on: (event: 'ended', listener: (session: Session) => void) => unknown
  off: (event: 'ended', listener: (session: Session) => void) => unknown
}

/** Ended session ids remembered, for events published after the end (a turn cancelled by it). */
const REMEMBERED_ENDINGS = 1000

/**
 * Tells the events of one app's sessions from those of other llmrtc apps in the process (channels are
 * process-wide, session ids are random UUIDs): a session is this app's while its manager holds it, and
 * for the next REMEMBERED_ENDINGS endings after it ended.
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
  }

  /** Whether the session is (or recently was) this app's. */
  owns (sessionId: string): boolean {
    return this.#sessions.get(sessionId) !== undefined || this.#ended.has(sessionId)
  }

  /** Stops listening to the manager (idempotent). */
  close (): void {
    this.#sessions.off('ended', this.#onEnded)
    this.#ended.clear()
  }
}
