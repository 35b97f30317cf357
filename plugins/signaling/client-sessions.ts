/**
 * Counts the live sessions each client created, for `maxSessionsPerClient`. A client is its principal
 * when the upgrade was authenticated, else its IP address: people behind one NAT (an office, a mobile
 * carrier) share an IP but not a principal. A session counts until it ends, so one that waits for its
 * reconnect still counts; a resumed session stays with the client that created it.
 */
export class ClientSessions {
  readonly #max: number
  readonly #clientOf = new Map<string, string>()
  readonly #counts = new Map<string, number>()

  /** `max` 0 means no limit. */
  constructor (max: number) {
    this.#max = max
  }

  /** The key a connection is counted under. */
  static clientOf (principal: string | null, ip: string): string {
    return principal !== null ? `principal:${principal}` : `ip:${ip}`
  }

  /** Whether `client` may create one more session. */
  admits (client: string): boolean {
    return this.#max === 0 || (this.#counts.get(client) ?? 0) < this.#max
  }

  add (sessionId: string, client: string): void {
    if (this.#max === 0) return
    this.#clientOf.set(sessionId, client)
    this.#counts.set(client, (this.#counts.get(client) ?? 0) + 1)
  }

  /** The session ended (idempotent). */
  remove (sessionId: string): void {
    const client = this.#clientOf.get(sessionId)
    if (client === undefined) return
    this.#clientOf.delete(sessionId)
    const count = (this.#counts.get(client) ?? 1) - 1
    if (count > 0) this.#counts.set(client, count)
    else this.#counts.delete(client)
  }
}
