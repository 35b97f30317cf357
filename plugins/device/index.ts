import { EventEmitter } from 'node:events'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { WebSocket } from 'ws'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { systemClock } from '../../lib/clock.js'
import { createDeviceCodec } from '../../lib/device/device-codec.js'
import { DeviceMedia } from '../../lib/device/device-media.js'
import { DeviceProtocolError, deviceReady, parseDeviceControl, type DeviceServerControl } from '../../lib/device/device-protocol.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_SERVER_DRAINING, clientErrorOf } from '../../lib/errors.js'
import { childLoggerOptions, type Logger } from '../../lib/logger.js'
import type { Session } from '../../lib/sessions/session.js'
import type { MediaTransportEvents } from '../../lib/transport/media-transport.js'
import { ensureWebSocket } from '../signaling/route.js'

/** Options of the `llmrtc-device` plugin (docs/protocol.md, "Device audio over WebSocket"). */
export interface LLMRTCDeviceOptions {
  /** The device WebSocket's path (default '/device'), behind the routes' prefix. */
  path?: string
  /** How long a socket may stay open without a valid `start`, in ms (default 10000). */
  startTimeoutMs?: number
}

/** Every key of LLMRTCDeviceOptions (tsc keeps it complete): any other key is refused. */
export const DEVICE_OPTION_KEYS: Record<keyof LLMRTCDeviceOptions, true> = { path: true, startTimeoutMs: true }

/** The devices' media transport: what the pipeline listens to beside WebRTC and phone calls. */
export class DeviceTransport extends EventEmitter<MediaTransportEvents> {}

/** Close codes of the device socket. */
const CLOSE_NORMAL = 1000
const CLOSE_GOING_AWAY = 1001
const CLOSE_INVALID = 1007
const CLOSE_POLICY = 1008
const CLOSE_TRY_AGAIN_LATER = 1013

/**
 * Devices that cannot run WebRTC (ESP32, Raspberry Pi, native apps, bridges) stream their microphone over
 * a WebSocket of their own: a `start` text frame chooses the codec, binary frames carry audio both ways,
 * JSON text frames carry control and the session's messages. Each connection is a session whose media the
 * pipeline listens to (`fastify.llmrtcPipeline.listen`), with server VAD, turn-taking and barge-in
 * (`clear`); `played` acknowledgements make "played" mean heard. The upgrade takes the signaling
 * WebSocket's Origin check and authentication. Closing the socket ends the session.
 */
async function llmrtcDevice (fastify: FastifyInstance, opts: LLMRTCDeviceOptions): Promise<void> {
  refuseUnknownKeys(opts, [...Object.keys(DEVICE_OPTION_KEYS), ...FASTIFY_REGISTER_OPTION_KEYS], 'device.')
  const path = opts.path ?? '/device'
  if (typeof path !== 'string' || !path.startsWith('/')) throw new LLMRTC_ERR_OPTIONS_INVALID('device.path', 'a path starting with /', String(path))
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000
  if (!Number.isInteger(startTimeoutMs) || startTimeoutMs < 1) throw new LLMRTC_ERR_OPTIONS_INVALID('device.startTimeoutMs', 'an integer >= 1 (milliseconds)', String(startTimeoutMs))
  const sessions = fastify.llmrtcSessions
  const hooks = fastify.llmrtc.hooks
  const clock = fastify.llmrtcConfig.clock ?? systemClock
  const log = fastify.log.child({ plugin: 'llmrtc-device' }, childLoggerOptions) as Logger
  const transport = new DeviceTransport()
  /** Each live device connection's end, by session id. */
  const open = new Map<string, (reason: string, code: number) => void>()

  fastify.llmrtcPipeline.listen(transport)

  // A device's session ended elsewhere (idle timeout, shutdown): its socket closes with it.
  sessions.on('ended', (session) => { open.get(session.id)?.('session ended', CLOSE_GOING_AWAY) })

  function deviceSocket (socket: WebSocket, request: FastifyRequest): void {
    let session: Session | undefined
    let media: DeviceMedia | undefined
    let startedAt = 0
    const send = (message: object): void => { if (socket.readyState === 1) socket.send(JSON.stringify(message)) }
    const refuse = (code: number, message: string): void => {
      send({ type: 'error', code: 'INVALID_MESSAGE', message })
      socket.close(code, message.slice(0, 120))
    }
    const startTimer = setTimeout(() => { if (session === undefined) refuse(CLOSE_POLICY, 'no start message') }, startTimeoutMs)
    startTimer.unref()

    function end (reason: string, code: number): void {
      if (session === undefined || !open.has(session.id)) return
      open.delete(session.id)
      const ended = session
      media?.close()
      transport.emit('closed', ended.id)
      const endTime = clock.now()
      void hooks.run('onDisconnect', ended.id, { startTime: startedAt, endTime, durationMs: endTime - startedAt })
      if (socket.readyState <= 1) socket.close(code, reason)
      log.info({ sessionId: ended.id, reason }, 'device disconnected')
      sessions.end(ended, 'closed')
    }

    socket.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
      if (isBinary) {
        if (media === undefined || session === undefined) return
        sessions.touch(session)
        try {
          media.receiveAudio(bytes)
        } catch (err) {
          log.debug({ err }, 'device audio frame dropped: not decodable')
        }
        return
      }
      let control
      try {
        control = parseDeviceControl(bytes.toString('utf8'))
      } catch (err) {
        if (err instanceof DeviceProtocolError) {
          refuse(CLOSE_INVALID, err.message)
          return
        }
        throw err
      }
      if (control === undefined) return
      switch (control.type) {
        case 'start': {
          if (session !== undefined) return
          clearTimeout(startTimer)
          // While the server drains, new conversations go elsewhere.
          if (fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining) {
            send(clientErrorOf(new LLMRTC_ERR_SERVER_DRAINING()))
            socket.close(CLOSE_TRY_AGAIN_LATER, 'server draining')
            return
          }
          const codec = createDeviceCodec(control.codec, control.sampleRate)
          const created = sessions.create(request.llmrtcPrincipal ?? null)
          session = created
          created.data.device = { codec: control.codec, sampleRate: control.sampleRate }
          open.set(created.id, end)
          sessions.bind(created, {
            id: `device:${created.id}`,
            send: (message) => { send(message) },
            close: (code, reason) => { end(reason, code) }
          })
          media = new DeviceMedia({
            codec,
            sendAudio: (frame) => { if (socket.readyState === 1) socket.send(frame, { binary: true }) },
            sendControl: (message: DeviceServerControl) => { send(message) }
          })
          send(deviceReady(created.id, control))
          media.start()
          startedAt = clock.now()
          log.info({ sessionId: created.id, codec: control.codec, sampleRate: control.sampleRate }, 'device connected')
          void hooks.run('onConnection', created.id, `device:${created.id}`)
          transport.emit('media', created.id, media)
          break
        }
        case 'played':
          media?.receivePlayed(control.mark)
          break
        case 'stop':
          end('device stopped', CLOSE_NORMAL)
          break
      }
    })
    socket.on('close', () => {
      clearTimeout(startTimer)
      end('socket closed', CLOSE_NORMAL)
    })
    socket.on('error', (err) => { log.warn({ err }, 'device socket error') })
  }

  await ensureWebSocket(fastify)
  const guard = fastify.hasDecorator('llmrtcAuth') ? [fastify.llmrtcAuth.guardUpgrade] : []
  fastify.route({
    method: 'GET',
    url: path,
    onRequest: guard,
    handler: async (_request, reply) => await reply.code(426).send({ code: 'UPGRADE_REQUIRED', message: 'a WebSocket endpoint' }),
    wsHandler: deviceSocket
  })
  fastify.addHook('preClose', async function endDevices () {
    for (const end of [...open.values()]) end('server closing', CLOSE_GOING_AWAY)
  })
  log.info({ path: `${fastify.prefix}${path}` }, 'device audio WebSocket on')
}

export default fp(llmrtcDevice, {
  name: 'llmrtc-device',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-sessions', 'llmrtc-pipeline'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcSessions', 'llmrtcPipeline'] }
})
