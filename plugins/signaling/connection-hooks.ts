import type { Clock } from '../../lib/clock.js'
import type { HookRegistry } from '../../lib/hooks/hook-registry.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'

/**
 * Fires `onConnection`/`onDisconnect` in pairs: once per binding of a session to a connection. A
 * reconnect ends the fresh session's binding and starts the resumed one's; a takeover (the resumed
 * session was still bound elsewhere) ends the old connection's binding before the new one starts.
 */
export class ConnectionHooks {
  readonly #bindings = new Map<ConnectionContext, { sessionId: string, since: number }>()
  readonly #hooks: HookRegistry
  readonly #clock: Clock

  constructor (hooks: HookRegistry, clock: Clock) {
    this.#hooks = hooks
    this.#clock = clock
  }

  bound (ctx: ConnectionContext): void {
    this.#bindings.set(ctx, { sessionId: ctx.session.id, since: this.#clock.now() })
    void this.#hooks.run('onConnection', ctx.session.id, ctx.connection.id)
  }

  unbound (ctx: ConnectionContext): void {
    const binding = this.#bindings.get(ctx)
    if (binding === undefined) return
    this.#bindings.delete(ctx)
    const endTime = this.#clock.now()
    void this.#hooks.run('onDisconnect', binding.sessionId, { startTime: binding.since, endTime, durationMs: endTime - binding.since })
  }

  /** `ctx` now holds a resumed session: its fresh session's binding ends, as does any other connection's binding of the resumed one. */
  rebound (ctx: ConnectionContext): void {
    for (const [other, binding] of this.#bindings) {
      if (other !== ctx && binding.sessionId === ctx.session.id) this.unbound(other)
    }
    this.unbound(ctx)
    this.bound(ctx)
  }
}
