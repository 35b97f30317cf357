import type { FastifyInstance } from 'fastify'
import type { DeviceMedia } from '../../lib/device/device-media.js'
import { DEVICE_FRAME_MS } from '../../lib/device/device-codec.js'
import { DeviceProtocolError, parseAudioFormat, type DeviceAudioFormat } from '../../lib/device/device-protocol.js'
import { LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import { relayOf } from '../../lib/realtime/session-mode.js'
import { setStreamingAudio } from '../../lib/signaling/audio-streaming.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'
import type { DeviceStreams } from './device-streams.js'

interface SignalingStream {
  media: DeviceMedia
  /** The session the stream's media is announced for (a `reconnect` moves it). */
  sessionId: string
}

function formatOf (message: Record<string, unknown>): DeviceAudioFormat {
  try {
    return parseAudioFormat(message)
  } catch (err) {
    if (err instanceof DeviceProtocolError) throw new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE('audio-stream-start', err.message)
    throw err
  }
}

/**
 * Device audio over the signaling WebSocket itself (ours): after `audio-stream-start { codec, sampleRate }`
 * the client's binary frames are its microphone, and the answer comes back as binary frames with `mark`
 * and `clear` text messages, acknowledged by `played`, as on the device socket (the same DeviceStreams).
 * The published client's messages are untouched. A session streams or has WebRTC media, never both:
 * `audio-stream-start` with a peer, or an `offer` while streaming, is refused with INVALID_MESSAGE.
 */
export function attachSignalingAudio (fastify: FastifyInstance, streams: DeviceStreams, log: Logger): void {
  const signaling = fastify.llmrtcSignaling
  const byConnection = new Map<ConnectionContext, SignalingStream>()

  function stop (ctx: ConnectionContext): void {
    const stream = byConnection.get(ctx)
    if (stream === undefined) return
    byConnection.delete(ctx)
    setStreamingAudio(ctx, false)
    streams.close(stream.sessionId, stream.media)
  }

  signaling.handle('audio-stream-start', (message, ctx) => {
    const format = formatOf(message)
    if (relayOf(ctx.session) !== undefined) throw new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE('audio-stream-start', 'this session is in realtime (speech-to-speech) mode, where the microphone is heard over WebRTC only')
    if (fastify.hasDecorator('llmrtcTransport') && fastify.llmrtcTransport.peerFor(ctx) !== undefined) {
      throw new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE('audio-stream-start', 'this session has WebRTC media: a session streams its audio over WebRTC or over the WebSocket, not both')
    }
    // A second start changes the codec: the stream restarts.
    stop(ctx)
    const connection = ctx.connection
    connection.send({ type: 'audio-stream-started', codec: format.codec, sampleRate: format.sampleRate, frameMs: DEVICE_FRAME_MS })
    const media = streams.open(ctx.session.id, format, {
      sendAudio: (frame) => { connection.sendBinary(frame) },
      sendControl: (control) => { if (control.type !== 'ready') connection.send(control) }
    })
    byConnection.set(ctx, { media, sessionId: ctx.session.id })
    setStreamingAudio(ctx, true)
    ctx.session.transport = 'device'
    ctx.log.info({ codec: format.codec, sampleRate: format.sampleRate }, 'audio stream started on the signaling socket')
  })
  signaling.handle('played', (message, ctx) => { byConnection.get(ctx)?.media.receivePlayed(message.mark) })
  signaling.handle('audio-stream-stop', (_message, ctx) => { stop(ctx) })
  signaling.handleBinary((data, ctx) => {
    const stream = byConnection.get(ctx)
    if (stream === undefined) return false
    streams.receive(stream.media, data)
    return true
  })
  signaling.on('close', (ctx) => { stop(ctx) })
  // `reconnect` on a streaming connection: the stream goes on for the resumed session.
  signaling.on('rebound', (ctx, previous) => {
    const stream = byConnection.get(ctx)
    if (stream === undefined || stream.sessionId !== previous.id) return
    streams.move(previous.id, ctx.session.id)
    stream.sessionId = ctx.session.id
    ctx.session.transport = 'device'
  })
  log.debug('device audio over the signaling WebSocket on')
}
