import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import type { WebSocket, RawData } from 'ws'
import { systemClock } from '../../lib/clock.js'
import { LLMRTC_ERR_INTERNAL, LLMRTC_ERR_PROTOCOL_BINARY_FRAME, LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE, LLMRTC_ERR_RATE_LIMITED, LLMRTC_ERR_SESSION_CLIENT_LIMIT, clientErrorOf } from '../../lib/errors.js'
import { MessageRateLimiter, admitMessage, setMessageLimiter } from '../../lib/limits/message-rate-limiter.js'
import type { Logger } from '../../lib/logger.js'
import { parseClientMessage } from '../../lib/protocol/parse-client-message.js'
import { PROTOCOL_VERSION, type SessionMode } from '../../lib/protocol/server-messages.js'
import { sleep } from '../../lib/streams/sleep.js'
import { iceServersFor } from '../../lib/transport/ice-servers.js'
import type { Session } from '../../lib/sessions/session.js'
import { ClientConnection } from '../../lib/signaling/client-connection.js'
import { MessageRouter, type ConnectionContext, type MessageHandler, type RoutedType } from '../../lib/signaling/message-router.js'
import llmrtcAuth from '../auth/index.js'
import { registerBuiltinHandlers } from './builtin-handlers.js'
import { ClientSessions } from './client-sessions.js'
import { CLOSE_CODES } from './close-codes.js'
import { ConnectionHooks } from './connection-hooks.js'
import { chooseSessionAgent, keepAgentOnResume } from './session-agent-choice.js'
import llmrtcSignalingRoute, { setSignalingRouteHandlers } from './route.js'
import { publishError } from '../../lib/observability/channels.js'

const CLOSE_HANDSHAKE_GRACE_MS = 1000
const SAVE_BEFORE_CLOSE_MS = 2000
/** A message handler still running after this is logged (warn): the connection's later messages wait behind it. */
const SLOW_HANDLER_MS = 10_000

export interface SignalingEvents {
  /** A client connected and got `ready`. */
  open: [ctx: ConnectionContext]
  /** A client's socket closed (its session waits for reconnect). */
  close: [ctx: ConnectionContext]
  /** `reconnect` re-bound an earlier session to this connection; `previous` was dropped. */
  rebound: [ctx: ConnectionContext, previous: Session]
}

/** `fastify.llmrtcSignaling`: the WebSocket side of protocol v1. */
export interface LLMRTCSignalingDecorator extends EventEmitter<SignalingEvents> {
  /** Claims a client message type (transport: `offer`, `ice`; pipeline: `audio`). Replaces the previous handler. */
  handle: <T extends RoutedType>(type: T, handler: MessageHandler<T>) => void
  /** Open connections (a snapshot). */
  connections: () => ConnectionContext[]
  /** Serves plain HTTP GETs of the signaling path (default 404), e.g. the demo page. */
  servePage: (handler: (request: FastifyRequest, reply: FastifyReply) => unknown) => void
  /**
   * Decides each new connection's mode before `ready` (the relay plugin opens the realtime model's session
   * here): `ready` then carries `mode`, and the client's messages wait behind the choice. What it throws is
   * sent as the error, and the connection closes (1011).
   */
  chooseMode: (chooser: (ctx: ConnectionContext) => Promise<SessionMode>) => void
  /**
   * Claims binary frames (ours: a microphone streamed over this socket, plugins/device). The handler
   * returns false for a frame it does not take, which is then an error, as without a handler. Frames it
   * takes skip the message rate limit (a stream sends 50 a second).
   */
  handleBinary: (handler: (data: Buffer, ctx: ConnectionContext) => boolean) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcSignaling: LLMRTCSignalingDecorator
  }
}

/** Options of the `llmrtc-signaling` plugin. */
export interface LLMRTCSignalingOptions {
  /**
   * Add the signaling route (`GET <path>`, page and WebSocket) to this context (default true). The umbrella
   * passes false and registers `llmrtc-signaling-route` in its encapsulated routes context instead.
   */
  route?: boolean
}

async function llmrtcSignaling (fastify: FastifyInstance, opts: LLMRTCSignalingOptions): Promise<void> {
  const config = fastify.llmrtcConfig
  const clock = config.clock ?? systemClock
  const hooks = fastify.llmrtc.hooks
  const sessions = fastify.llmrtcSessions
  const log = fastify.log.child({ plugin: 'llmrtc-signaling' })
  const router = new MessageRouter()
  const open = new Set<ConnectionContext>()
  const sockets = new Set<WebSocket>()

  const decorator = Object.assign(new EventEmitter<SignalingEvents>(), {
    handle: <T extends RoutedType>(type: T, handler: MessageHandler<T>) => { router.on(type, handler) },
    connections: () => [...open],
    servePage: (_handler: (request: FastifyRequest, reply: FastifyReply) => unknown): void => {},
    chooseMode: (chooser: (ctx: ConnectionContext) => Promise<SessionMode>): void => { modeChooser = chooser },
    handleBinary: (handler: (data: Buffer, ctx: ConnectionContext) => boolean): void => { binaryHandler = handler }
  })
  let binaryHandler: ((data: Buffer, ctx: ConnectionContext) => boolean) | undefined
  let modeChooser: ((ctx: ConnectionContext) => Promise<SessionMode>) | undefined
  const connectionHooks = new ConnectionHooks(hooks, clock)
  registerBuiltinHandlers(fastify, router, (ctx, previous) => {
    connectionHooks.rebound(ctx)
    keepAgentOnResume(ctx.session, previous)
    decorator.emit('rebound', ctx, previous)
  })
  fastify.decorate('llmrtcSignaling', decorator)

  // Sockets close before the server stops, with 1001 (going away), so clients know to reconnect elsewhere.
  // Added before @fastify/websocket registers its own preClose (which closes without a code), so it runs first.
  // Each connected session's record is written first (for at most SAVE_BEFORE_CLOSE_MS: a store that does
  // not answer does not hold the shutdown), so a client that reconnects elsewhere at once finds it.
  fastify.addHook('preClose', async function closeSockets () {
    const saved = new AbortController()
    void sessions.saveConnected().finally(() => { saved.abort() })
    await sleep(SAVE_BEFORE_CLOSE_MS, saved.signal)
    for (const ctx of open) ctx.connection.close(CLOSE_CODES.goingAway, 'server shutting down')
  })
  // A client that does not answer the close handshake would hold its socket (and the process) for
  // ws's 30 s close timeout: give the handshake a moment, then cut what is left.
  let allClosed: (() => void) | undefined
  fastify.addHook('onClose', async function terminateSockets () {
    if (sockets.size > 0) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, CLOSE_HANDSHAKE_GRACE_MS)
        allClosed = () => { clearTimeout(timer); resolve() }
      })
    }
    for (const socket of sockets) socket.terminate()
  })

  // The upgrade's origin check and authentication: whoever registers signaling gets them.
  if (!fastify.hasDecorator('llmrtcAuth')) await fastify.register(llmrtcAuth)
  const clients = new ClientSessions(config.maxSessionsPerClient)

  // A session that ends while connected (idle expiry) tells its client why, then closes.
  sessions.on('ended', (session, reason) => {
    clients.remove(session.id)
    const connection = session.connection
    if (connection === undefined || reason === 'replaced') return
    if (reason === 'idle-timeout') {
      connection.send({ type: 'error', code: 'SESSION_EXPIRED', message: 'The session expired after being idle' })
      connection.close(CLOSE_CODES.sessionExpired, 'session expired')
    } else if (reason === 'shutdown') {
      connection.close(CLOSE_CODES.goingAway, 'server shutting down')
    } else if (reason === 'user-idle') {
      connection.close(CLOSE_CODES.normal, 'user idle')
    }
  })

  // A plain GET on the signaling path (no upgrade) is served by whoever set a page (the demo page), else 404.
  let page: (request: FastifyRequest, reply: FastifyReply) => unknown = async (_request, reply) => await reply.code(404).send()
  decorator.servePage = (handler) => { page = handler }

  setSignalingRouteHandlers(decorator, { page: async (request, reply) => await page(request, reply), socket: signalingSocket })
  if (opts?.route !== false) await fastify.register(llmrtcSignalingRoute)

  function signalingSocket (socket: WebSocket, request: FastifyRequest): void {
    // Listeners are attached synchronously, before any await, so no early message is lost.
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      if (sockets.size === 0) allClosed?.()
    })
    const controller = new AbortController()
    const connection = new ClientConnection(socket, (err) => { log.debug({ err }, 'send failed') })
    const principal = request.llmrtcPrincipal
    // `injectWS` requests have no address.
    const client = ClientSessions.clientOf(principal, request.ip ?? 'unknown')
    let session: Session
    try {
      if (!clients.admits(client)) throw new LLMRTC_ERR_SESSION_CLIENT_LIMIT(config.maxSessionsPerClient)
      session = sessions.create(principal)
    } catch (err) {
      connection.send(clientErrorOf(err))
      const code = (err as { code?: string }).code
      const full = code === 'LLMRTC_ERR_SESSION_LIMIT' || code === 'LLMRTC_ERR_SESSION_CLIENT_LIMIT'
      if (code === 'LLMRTC_ERR_SESSION_CLIENT_LIMIT') log.info({ limit: config.maxSessionsPerClient, by: principal !== null ? 'principal' : 'ip' }, 'connection refused: client session limit')
      socket.close(full ? CLOSE_CODES.tryAgainLater : CLOSE_CODES.goingAway, full ? 'session limit' : 'server shutting down')
      return
    }
    clients.add(session.id, client)
    sessions.bind(session, connection)
    const ctx: ConnectionContext = {
      connection,
      session,
      log: log.child({ sessionId: session.id }) as Logger,
      principal,
      signal: controller.signal
    }
    open.add(ctx)
    if (config.maxMessagesPerSecond > 0) {
      // WebSocket and data-channel messages draw from one bucket (plugins/webrtc/channel-messages.ts).
      setMessageLimiter(ctx, new MessageRateLimiter({
        perSecond: config.maxMessagesPerSecond,
        burst: config.messageBurst,
        now: clock.now,
        onLimited: () => {
          ctx.log.debug({ perSecond: config.maxMessagesPerSecond }, 'messages dropped: rate limit')
          enqueue(() => { sendError(new LLMRTC_ERR_RATE_LIMITED('messages', `${config.maxMessagesPerSecond} per second`)) })
        }
      }))
    }
    let queue: Promise<void> = Promise.resolve()

    let heartbeat = clock.setTimeout(onHeartbeatTimeout, config.heartbeatTimeoutMs)
    function onHeartbeatTimeout (): void {
      ctx.log.info({ timeoutMs: config.heartbeatTimeoutMs }, 'heartbeat timeout: closing connection')
      connection.close(CLOSE_CODES.heartbeatTimeout, 'heartbeat timeout')
    }

    socket.on('message', function onMessage (data: RawData, isBinary: boolean) {
      clock.clearTimeout(heartbeat)
      heartbeat = clock.setTimeout(onHeartbeatTimeout, config.heartbeatTimeoutMs)
      sessions.touch(ctx.session)
      const size = byteLength(data)
      if (isBinary && size <= config.maxMessageBytes && binaryHandler?.(toBuffer(data), ctx) === true) return
      if (!admitMessage(ctx)) return
      if (size > config.maxMessageBytes) {
        enqueue(() => { sendError(new LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE(size, config.maxMessageBytes)) })
        return
      }
      if (isBinary) {
        // A frame right behind the message that starts a stream is taken once that message was handled.
        enqueue(() => { if (binaryHandler?.(toBuffer(data), ctx) !== true) sendError(new LLMRTC_ERR_PROTOCOL_BINARY_FRAME()) })
        return
      }
      const parsed = parseClientMessage(toText(data))
      if (parsed.kind === 'invalid') {
        ctx.log.debug({ code: (parsed.error as { code?: string }).code }, 'invalid message')
        enqueue(() => { sendError(parsed.error) })
        return
      }
      if (parsed.kind === 'unknown') {
        ctx.log.debug({ messageType: parsed.type.slice(0, 64) }, 'unknown message type ignored')
        return
      }
      enqueue(async () => {
        const slow = clock.setTimeout(() => {
          ctx.log.warn({ messageType: parsed.message.type, afterMs: SLOW_HANDLER_MS }, 'a message handler is still running: this connection\'s later messages wait behind it')
        }, SLOW_HANDLER_MS)
        try {
          const handled = await router.dispatch(parsed.message, ctx)
          if (!handled) sendError(new LLMRTC_ERR_INTERNAL(`no handler for "${parsed.message.type}" messages is registered on this server`))
        } catch (err) {
          ctx.log.warn({ err, messageType: parsed.message.type }, 'message handler failed')
          sendError(err)
        } finally {
          clock.clearTimeout(slow)
        }
      })
    })

    // One message at a time per connection, answered in order: an offer after `reconnect` sees the
    // resumed session.
    function enqueue (task: () => void | Promise<void>): void {
      queue = queue.then(async () => {
        if (!controller.signal.aborted) await task()
      })
    }

    socket.on('error', (err) => { ctx.log.debug({ err }, 'socket error') })

    socket.on('close', function onClose () {
      controller.abort()
      clock.clearTimeout(heartbeat)
      open.delete(ctx)
      const current = ctx.session
      sessions.detach(current, connection)
      connectionHooks.unbound(ctx)
      decorator.emit('close', ctx)
      ctx.log.info('client disconnected')
    })

    function sendError (err: unknown): void {
      const message = clientErrorOf(err)
      connection.send(message)
      // Answers to a bad message never reach onError: counted here (metrics), as component 'signaling'.
      publishError({ code: message.code, component: 'signaling', sessionId: ctx.session.id, timestamp: clock.now() })
    }

    function opened (): void {
      const chooser = modeChooser
      if (chooser === undefined) {
        announce(undefined)
        return
      }
      enqueue(async () => {
        let mode: SessionMode
        try {
          mode = await chooser(ctx)
        } catch (err) {
          ctx.log.error({ err }, 'no mode for this session: connection closed')
          sendError(err)
          sessions.end(session, 'closed')
          connection.close(CLOSE_CODES.internalError, 'no mode for this session')
          return
        }
        if (!controller.signal.aborted) announce(mode)
      })
    }
    function announce (mode: SessionMode | undefined): void {
      connection.send({ type: 'ready', id: session.id, protocolVersion: PROTOCOL_VERSION, iceServers: iceServersFor(config, connection.id, clock.now()), ...(mode !== undefined ? { mode } : {}) })
      ctx.log.info('client connected')
      decorator.emit('open', ctx)
      connectionHooks.bound(ctx)
    }
    const agentForSession = config.agentForSession
    if (agentForSession === undefined) {
      opened()
      return
    }
    // The client's messages wait in the queue behind the choice, so the session's first turn has its agent.
    enqueue(async () => {
      try {
        await chooseSessionAgent(agentForSession, ctx, request, config)
      } catch (err) {
        ctx.log.error({ err }, 'agentForSession failed: connection closed')
        sendError(err)
        sessions.end(session, 'closed')
        connection.close(CLOSE_CODES.internalError, 'no agent for this session')
        return
      }
      if (!controller.signal.aborted) opened()
    })
  }
}

function byteLength (data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0)
  return data instanceof ArrayBuffer ? data.byteLength : data.length
}

function toBuffer (data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? Buffer.from(data) : data
}

function toText (data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return data instanceof ArrayBuffer ? Buffer.from(data).toString('utf8') : data.toString('utf8')
}

export default fp(llmrtcSignaling, {
  name: 'llmrtc-signaling',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-sessions'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcSessions'] }
})
