import type { SessionMode } from '../protocol/server-messages.js'
import type { Session } from '../sessions/session.js'

/** What the pipeline plugin may ask of a session's relay. */
export interface RelayBinding {
  /** A typed user message, for the realtime model. */
  sendText: (text: string) => void
}

const relays = new WeakMap<Session, RelayBinding>()

/** The session's mode: `'realtime'` while a relay is bound to it, else `'pipeline'`. */
export function sessionModeOf (session: Session): SessionMode {
  return relays.has(session) ? 'realtime' : 'pipeline'
}

/** The relay bound to the session, if it is in realtime mode. */
export function relayOf (session: Session): RelayBinding | undefined {
  return relays.get(session)
}

/** Binds a relay to the session (realtime mode), or unbinds it (`undefined`: back to the pipeline). */
export function bindRelay (session: Session, relay: RelayBinding | undefined): void {
  if (relay === undefined) relays.delete(session)
  else relays.set(session, relay)
}
