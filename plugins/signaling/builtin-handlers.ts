import type { FastifyInstance } from 'fastify'
import { clientErrorOf, LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE, LLMRTC_ERR_SESSION_EXPIRED, LLMRTC_ERR_SESSION_NOT_FOUND, LLMRTC_ERR_WEBRTC_UNAVAILABLE } from '../../lib/errors.js'
import type { Session } from '../../lib/sessions/session.js'
import type { ConnectionContext, MessageRouter } from '../../lib/signaling/message-router.js'

/** The handlers signaling owns itself: heartbeat, reconnect, attachments, and WebRTC's absence. */
export function registerBuiltinHandlers (
  fastify: FastifyInstance,
  router: MessageRouter,
  onRebound: (ctx: ConnectionContext, previous: Session) => void
): void {
  const sessions = fastify.llmrtcSessions

  router.on('ping', (message, ctx) => {
    ctx.connection.send({ type: 'pong', timestamp: message.timestamp })
  })

  router.on('attachments', (message, ctx) => {
    // Not push(...list): a list of ~150k items (2 MB, under maxMessageBytes) overflows the call stack.
    ctx.session.queueAttachments(message.attachments)
  })

  router.on('reconnect', async (message, ctx) => {
    const current = ctx.session
    if (message.sessionId === current.id) {
      ctx.connection.send({ type: 'reconnect-ack', success: true, sessionId: current.id, historyRecovered: true })
      return
    }
    let result
    try {
      result = await sessions.resume(message.sessionId, ctx.connection, ctx.principal)
    } catch (err) {
      // The session limit was reached while rehydrating from a shared store.
      ctx.connection.send({ type: 'reconnect-ack', success: false, sessionId: current.id, historyRecovered: false })
      ctx.connection.send(clientErrorOf(err))
      return
    }
    if (typeof result === 'string') {
      ctx.log.info({ outcome: result }, 'reconnect refused')
      ctx.connection.send({ type: 'reconnect-ack', success: false, sessionId: current.id, historyRecovered: false })
      // A session owned by another principal is reported as not found: its existence is not revealed.
      ctx.connection.send(clientErrorOf(result === 'expired' ? new LLMRTC_ERR_SESSION_EXPIRED() : new LLMRTC_ERR_SESSION_NOT_FOUND()))
      return
    }
    // The fresh session created for this connection is dropped in favour of the resumed one.
    current.connection = undefined
    sessions.end(current, 'replaced')
    ctx.session = result.session
    ctx.log = ctx.log.child({ sessionId: result.session.id })
    onRebound(ctx, current)
    ctx.log.info({ previousSessionId: current.id }, 'session resumed')
    ctx.connection.send({ type: 'reconnect-ack', success: true, sessionId: result.session.id, historyRecovered: result.historyRecovered })
  })

  // Streamed audio over this socket is plugins/device's: without it, a start is refused and the rest ignored.
  router.on('audio-stream-start', () => { throw new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE('audio-stream-start', 'device audio is not enabled on this server (the device option)') })
  router.on('played', () => {})
  router.on('audio-stream-stop', () => {})

  // Until a transport plugin claims them, offers and candidates say WebRTC is missing.
  const unavailable = (): never => { throw new LLMRTC_ERR_WEBRTC_UNAVAILABLE('no WebRTC transport is registered') }
  router.on('offer', unavailable)
  router.on('ice', unavailable)
}
