import { LLMRTC_ERR_PROTOCOL_BINARY_FRAME, LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE, protocolCodeOf } from '../../lib/errors.js'
import { admitMessage } from '../../lib/limits/message-rate-limiter.js'
import { parseClientMessage } from '../../lib/protocol/parse-client-message.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'

/**
 * Handles a client message that arrived on the `data` channel. Validated exactly like a WebSocket
 * message; payload messages are handled here (`attachments`, and `ping`, answered on the WebSocket).
 * Signaling (`offer`, `ice`, `reconnect`) and `audio` belong to the WebSocket and are ignored here.
 */
export function handleChannelMessage (data: string | ArrayBuffer, ctx: ConnectionContext, maxMessageBytes: number): void {
  // The connection's message rate limit counts channel messages too (set by signaling).
  if (!admitMessage(ctx)) return
  // Size first, then binary, as on the WebSocket.
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
  if (size > maxMessageBytes) {
    sendError(ctx, new LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE(size, maxMessageBytes))
    return
  }
  if (typeof data !== 'string') {
    sendError(ctx, new LLMRTC_ERR_PROTOCOL_BINARY_FRAME())
    return
  }
  const parsed = parseClientMessage(data)
  if (parsed.kind === 'invalid') {
    sendError(ctx, parsed.error)
    return
  }
  if (parsed.kind === 'unknown') {
    ctx.log.debug({ messageType: parsed.type.slice(0, 64) }, 'unknown message type on the data channel ignored')
    return
  }
  const message = parsed.message
  switch (message.type) {
    case 'attachments':
      ctx.session.queueAttachments(message.attachments)
      break
    case 'ping':
      ctx.connection.send({ type: 'pong', timestamp: message.timestamp })
      break
    default:
      ctx.log.debug({ messageType: message.type }, 'message ignored on the data channel: it belongs on the WebSocket')
  }
}

function sendError (ctx: ConnectionContext, err: unknown): void {
  ctx.connection.send({ type: 'error', code: protocolCodeOf(err), message: (err as Error).message })
}
