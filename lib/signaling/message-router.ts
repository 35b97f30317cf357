import type { ClientMessage } from '../protocol/client-messages.js'
import type { Logger } from '../logger.js'
import type { Session } from '../sessions/session.js'
import type { ClientConnection } from './client-connection.js'

/** What a message handler knows about the connection the message came from. */
export interface ConnectionContext {
  readonly connection: ClientConnection
  /** The session bound to the connection; `reconnect` may replace it. */
  session: Session
  /** Logger bound to the session id. */
  log: Logger
  /** The authenticated principal of the connection, or null. */
  readonly principal: string | null
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal
}

/** `offer` and its synonym `signal` share one handler, registered as `offer`. */
export type RoutedType = Exclude<ClientMessage['type'], 'signal'>

export type MessageHandler<T extends RoutedType> = (
  message: Extract<ClientMessage, { type: T | (T extends 'offer' ? 'signal' : never) }>,
  ctx: ConnectionContext
) => void | Promise<void>

type AnyHandler = (message: ClientMessage, ctx: ConnectionContext) => void | Promise<void>

/**
 * Routes validated client messages to one handler per type. Transport and pipeline plugins register
 * the handlers of the messages they own (`offer`/`ice`, `audio`), so signaling stays independent of them.
 * Handlers must return promptly: long work (a turn) is started, not awaited.
 */
export class MessageRouter {
  readonly #handlers = new Map<RoutedType, AnyHandler>()

  on<T extends RoutedType> (type: T, handler: MessageHandler<T>): void {
    this.#handlers.set(type, handler as unknown as AnyHandler)
  }

  has (type: RoutedType): boolean {
    return this.#handlers.has(type)
  }

  /** Runs the handler; returns false when no handler owns the type. Handler errors propagate. */
  async dispatch (message: ClientMessage, ctx: ConnectionContext): Promise<boolean> {
    const type: RoutedType = message.type === 'signal' ? 'offer' : message.type
    const handler = this.#handlers.get(type)
    if (handler === undefined) return false
    await handler(message, ctx)
    return true
  }
}
