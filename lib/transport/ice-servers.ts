import type { IceServer } from '../protocol/server-messages.js'
import { createTurnCredentials } from './turn-credentials.js'

/** The slice of the resolved llmrtc options that decides the ICE servers. */
export interface IceServerSettings {
  /** Static ICE servers (STUN, or TURN with a fixed password). */
  iceServers: IceServer[]
  /** coturn REST API secret; when set, a TURN entry with fresh credentials is added. */
  turnSecret: string | undefined
  turnUrls: string[]
  /** Lifetime of generated TURN credentials, in seconds. */
  turnTtlSeconds: number
}

/**
 * The ICE servers for one connection: the static list, plus freshly minted TURN credentials when a
 * TURN secret is configured. Used both for `ready` (the client) and for the server's own peer.
 *
 * @param user names the connection in TURN logs (the connection id: random, and not a session capability).
 * @param nowMs epoch milliseconds.
 */
export function iceServersFor (settings: IceServerSettings, user: string, nowMs: number): IceServer[] {
  if (settings.turnSecret === undefined || settings.turnUrls.length === 0) return settings.iceServers
  const turn = createTurnCredentials({ secret: settings.turnSecret, urls: settings.turnUrls, ttlSeconds: settings.turnTtlSeconds }, user, nowMs)
  return [...settings.iceServers, turn]
}
