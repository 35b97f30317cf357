import { EventEmitter } from 'node:events'
import type { Logger } from '../../lib/logger.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'
import type { MediaTransport, MediaTransportEvents, SessionMedia } from '../../lib/transport/media-transport.js'
import type { PeerSession } from './peer-session.js'

interface Entry {
  peer: PeerSession
  /** The session the peer was created for (a later `reconnect` re-binds the connection, not the peer). */
  sessionId: string
}

/**
 * `fastify.llmrtcTransport`: the live peers, one per connection and at most one per session, and the
 * MediaTransport events the pipeline listens to. Every `media` for a session comes after the `closed`
 * of its previous peer.
 */
export class WebRTCTransport extends EventEmitter<MediaTransportEvents> implements MediaTransport {
  readonly available: boolean
  readonly #log: Logger
  readonly #byConnection = new Map<ConnectionContext, Entry>()
  readonly #bySession = new Map<string, Entry>()

  constructor (available: boolean, log: Logger) {
    super()
    this.available = available
    this.#log = log
  }

  /** Open peers (0 once every client left: leak checks). */
  get peerCount (): number { return this.#byConnection.size }

  media (sessionId: string): SessionMedia | undefined {
    const entry = this.#bySession.get(sessionId)
    return entry?.peer.hasMedia === true ? entry.peer : undefined
  }

  /** The connection's current peer. */
  peerFor (ctx: ConnectionContext): PeerSession | undefined {
    return this.#byConnection.get(ctx)?.peer
  }

  /** Adopts a new peer for the connection's current session; any previous peer of either is closed first. */
  add (ctx: ConnectionContext, peer: PeerSession): void {
    this.close(ctx)
    const previous = this.#bySession.get(ctx.session.id)
    if (previous !== undefined) this.#closeEntry(previous)
    const entry: Entry = { peer, sessionId: ctx.session.id }
    this.#byConnection.set(ctx, entry)
    this.#bySession.set(entry.sessionId, entry)
  }

  /** The peer's microphone arrived: announce its media. */
  announceMedia (peer: PeerSession): void {
    for (const entry of this.#bySession.values()) {
      if (entry.peer === peer) this.#emitSafely('media', entry.sessionId, peer)
    }
  }

  /** Closes the connection's peer, if any, and emits `closed`. */
  close (ctx: ConnectionContext): void {
    const entry = this.#byConnection.get(ctx)
    if (entry !== undefined) this.#closeEntry(entry)
  }

  closeAll (): void {
    for (const entry of [...this.#byConnection.values()]) this.#closeEntry(entry)
  }

  #closeEntry (entry: Entry): void {
    for (const [ctx, candidate] of this.#byConnection) {
      if (candidate === entry) this.#byConnection.delete(ctx)
    }
    if (this.#bySession.get(entry.sessionId) === entry) this.#bySession.delete(entry.sessionId)
    entry.peer.close()
    this.#emitSafely('closed', entry.sessionId)
  }

  // Listeners run inside wrtc callbacks and signaling events: a throwing one must not crash the process.
  #emitSafely<K extends keyof MediaTransportEvents> (event: K, ...args: MediaTransportEvents[K]): void {
    try {
      (this.emit as (event: K, ...a: MediaTransportEvents[K]) => boolean)(event, ...args)
    } catch (err) {
      this.#log.error({ err, event }, 'media transport listener failed')
    }
  }
}
