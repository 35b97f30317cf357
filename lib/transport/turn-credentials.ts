import { createHmac } from 'node:crypto'
import type { IceServer } from '../protocol/server-messages.js'

/** A TURN server that uses coturn's REST API scheme (`use-auth-secret` + `static-auth-secret`). */
export interface TurnRestConfig {
  /** The shared secret (coturn's `static-auth-secret`). Never logged. */
  secret: string
  /** TURN URLs the credentials are valid for, e.g. `turn:turn.example.com:3478?transport=udp`. */
  urls: string[]
  /** Lifetime of each credential, in seconds. */
  ttlSeconds: number
}

/**
 * Time-limited TURN credentials (the "TURN REST API" scheme coturn implements):
 * username `${expiryEpochSeconds}:${user}`, credential base64(HMAC-SHA1(secret, username)).
 * The TURN server recomputes the HMAC and rejects the username once its expiry has passed.
 *
 * @param user identifies the client in the TURN server's logs; not a secret, and it must not be a
 *   capability either (never the session id, which resumes a session).
 * @param nowMs current epoch time in milliseconds.
 */
export function createTurnCredentials (config: TurnRestConfig, user: string, nowMs: number): IceServer {
  const expiryEpochSeconds = Math.floor(nowMs / 1000) + config.ttlSeconds
  const username = `${expiryEpochSeconds}:${user}`
  const credential = createHmac('sha1', config.secret).update(username).digest('base64')
  return { urls: config.urls.length === 1 ? config.urls[0] as string : [...config.urls], username, credential }
}
