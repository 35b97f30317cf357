import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { WebSocket } from 'ws'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { systemClock } from '../../lib/clock.js'
import type { DeviceMedia } from '../../lib/device/device-media.js'
import { DeviceProtocolError, deviceReady, parseDeviceControl, type DeviceStart } from '../../lib/device/device-protocol.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_SERVER_DRAINING, LLMRTC_ERR_SESSION_EXPIRED, LLMRTC_ERR_SESSION_NOT_FOUND, clientErrorOf } from '../../lib/errors.js'
import { childLoggerOptions, type Logger } from '../../lib/logger.js'
import type { Session, SessionConnection } from '../../lib/sessions/session.js'
import { callKeyPressed, offerKeypad } from '../../lib/telephony/call-dtmf.js'
import { ensureWebSocket } from '../signaling/route.js'
import { DeviceStreams } from './device-streams.js'
import { issueResumeToken, resumeTokenMatches } from './resume-token.js'
import { attachSignalingAudio } from './signaling-audio.js'

export { DeviceTransport } from './device-streams.js'

/** Options of the `llmrtc-device` plugin (docs/protocol.md, "Device audio over WebSocket"). */
export interface LLMRTCDeviceOptions {
  /** The device WebSocket's path (default '/device'), behind the routes' prefix. */
  path?: string
  /** How long a socket may stay open without a valid `start`, in ms (default 10000). */
  startTimeoutMs?: number
}

/** Every key of LLMRTCDeviceOptions (tsc keeps it complete): any other key is refused. */
export const DEVICE_OPTION_KEYS: Record<keyof LLMRTCDeviceOptions, true> = { path: true, startTimeoutMs: true }

/** Close codes of the device socket. */
const CLOSE_NORMAL = 1000
const CLOSE_GOING_AWAY = 1001
const CLOSE_NO_STATUS = 1005
const CLOSE_INVALID = 1007
const CLOSE_POLICY = 1008
const CLOSE_TRY_AGAIN_LATER = 1013
/** Binary frames held while a resume looks its session up (about a second of 20 ms frames). */
const MAX_HELD_FRAMES = 50

/**
 * Devices that cannot run WebRTC (ESP32, Raspberry Pi, native apps, bridges) stream their microphone over
 * a WebSocket of their own: a `start` text frame chooses the codec, binary frames carry audio both ways,
 * JSON text frames carry control and the session's messages. Each connection is a session whose media the
 * pipeline listens to (`fastify.llmrtcPipeline.listen`), with server VAD, turn-taking and barge-in
 * (`clear`); `played` acknowledgements make "played" mean heard. The upgrade takes the signaling
 * WebSocket's Origin check and authentication. `stop` or a clean close ends the session; a dropped socket
 * leaves it for the reconnect grace, and a `start` with its id and resume token takes it up again. The
 * same streams run over the signaling socket too (`audio-stream-start`, ./signaling-audio.ts).
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
  const streams = new DeviceStreams(log)
  /** Closes each live device connection, by session id (the connection the session is bound to). */
  const open = new Map<string, (reason: string, code: number) => void>()

  fastify.llmrtcPipeline.listen(streams.transport)
  attachSignalingAudio(fastify, streams, log)

  // A device's session ended elsewhere (idle timeout, shutdown): its socket closes with it.
  sessions.on('ended', (session) => { open.get(session.id)?.('session ended', CLOSE_GOING_AWAY) })

  function deviceSocket (socket: WebSocket, request: FastifyRequest): void {
    const principal = request.llmrtcPrincipal ?? null
    let session: Session | undefined
    let media: DeviceMedia | undefined
    let startedAt = 0
    /** A `start` is being served (a resume reads the session store): binary frames wait for it. */
    let starting = false
    let finished = false
    const held: Buffer[] = []
    const send = (message: object): void => { if (socket.readyState === 1) socket.send(JSON.stringify(message)) }
    const refuse = (code: number, message: string): void => {
      send({ type: 'error', code: 'INVALID_MESSAGE', message })
      socket.close(code, message.slice(0, 120))
    }
    const startTimer = setTimeout(() => { if (session === undefined) refuse(CLOSE_POLICY, 'no start message') }, startTimeoutMs)
    startTimer.unref()
    const closeSocket = (reason: string, code: number): void => { end(reason, code, 'closed') }
    const connection: SessionConnection = {
      id: `device:${randomUUID()}`,
      send: (message) => { send(message) },
      close: (code, reason) => { closeSocket(reason, code) }
    }

    /**
     * This socket's part is over. `outcome`: 'ended' ends the session, 'detached' keeps it for the
     * reconnect grace, 'closed' only closes this socket's media (another socket resumed the session).
     */
    function end (reason: string, code: number, outcome: 'ended' | 'detached' | 'closed'): void {
      if (session === undefined || finished) return
      finished = true
      const ended = session
      if (open.get(ended.id) === closeSocket) open.delete(ended.id)
      // The turn in progress stops (history keeps what was heard) before the media goes.
      if (outcome === 'detached') fastify.llmrtcPipeline.for(ended).cancelTurn()
      if (media !== undefined) streams.close(ended.id, media)
      const endTime = clock.now()
      void hooks.run('onDisconnect', ended.id, { startTime: startedAt, endTime, durationMs: endTime - startedAt })
      if (socket.readyState <= 1) socket.close(code, reason)
      log.info({ sessionId: ended.id, reason }, 'device disconnected')
      if (outcome === 'ended') {
        sessions.end(ended, 'closed')
      } else if (outcome === 'detached') {
        // The session waits for the device to come back.
        sessions.detach(ended, connection)
      }
    }

    /** A fresh session for this device, or the one it resumes; undefined when the socket closed meanwhile. */
    async function sessionFor (start: DeviceStart): Promise<{ session: Session, resumed: boolean } | undefined> {
      if (start.sessionId === undefined || start.token === undefined) return { session: sessions.create(principal), resumed: false }
      const failure = await resume(start.sessionId, start.token)
      if (socket.readyState !== 1) {
        if (typeof failure !== 'string') sessions.detach(failure, connection)
        return undefined
      }
      if (typeof failure !== 'string') return { session: failure, resumed: true }
      log.info({ outcome: failure }, 'device resume refused')
      // As for `reconnect`: a session of another principal, or a wrong token, is "not found".
      send(clientErrorOf(failure === 'expired' ? new LLMRTC_ERR_SESSION_EXPIRED() : new LLMRTC_ERR_SESSION_NOT_FOUND()))
      return { session: sessions.create(principal), resumed: false }
    }

    async function resume (id: string, token: string): Promise<Session | 'not-found' | 'expired' | 'forbidden'> {
      const local = sessions.get(id)
      // The token is checked before resuming: a resume closes the socket the session is bound to.
      const data = local?.data ?? (await sessions.store.get(id).catch(() => undefined))?.data
      if (data === undefined) return 'not-found'
      if (!resumeTokenMatches(data, token)) return 'forbidden'
      const result = await sessions.resume(id, connection, principal)
      return typeof result === 'string' ? result : result.session
    }

    async function start (control: DeviceStart): Promise<void> {
      // While the server drains, new conversations go elsewhere.
      if (fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining) {
        send(clientErrorOf(new LLMRTC_ERR_SERVER_DRAINING()))
        socket.close(CLOSE_TRY_AGAIN_LATER, 'server draining')
        return
      }
      const chosen = await sessionFor(control)
      if (chosen === undefined) return
      const current = chosen.session
      session = current
      current.transport = 'device'
      // A device with a keypad: collect_digits, as on a phone call (before the media makes the pipeline).
      if (control.keypad === true) offerKeypad(current, clock)
      const token = issueResumeToken(current.data, { codec: control.codec, sampleRate: control.sampleRate })
      open.set(current.id, closeSocket)
      if (!chosen.resumed) sessions.bind(current, connection)
      else sessions.persist(current)
      send(deviceReady(current.id, control, token, chosen.resumed))
      media = streams.open(current.id, control, {
        sendAudio: (frame) => { if (socket.readyState === 1) socket.send(frame, { binary: true }) },
        sendControl: (message) => { send(message) }
      })
      startedAt = clock.now()
      log.info({ sessionId: current.id, codec: control.codec, sampleRate: control.sampleRate, resumed: chosen.resumed }, 'device connected')
      void hooks.run('onConnection', current.id, connection.id)
      for (const frame of held.splice(0)) streams.receive(media, frame)
    }

    socket.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
      if (isBinary) {
        if (starting && media === undefined) {
          if (held.length < MAX_HELD_FRAMES) held.push(bytes)
          return
        }
        if (media === undefined || session === undefined || finished) return
        sessions.touch(session)
        streams.receive(media, bytes)
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
          if (starting) return
          starting = true
          clearTimeout(startTimer)
          start(control).catch((err: unknown) => {
            // The session limit was reached (or the manager closed).
            log.info({ err }, 'device start refused')
            send(clientErrorOf(err))
            if (socket.readyState <= 1) socket.close(CLOSE_TRY_AGAIN_LATER, 'no session')
          })
          break
        }
        case 'played':
          media?.receivePlayed(control.mark)
          break
        case 'stop':
          end('device stopped', CLOSE_NORMAL, 'ended')
          break
        case 'dtmf':
          // A key before the session exists has nowhere to go.
          if (session !== undefined && !finished) callKeyPressed(session, control.digit, { hooks, keyPressed: fastify.llmrtcPipeline.keyPressed, log, clock })
          break
      }
    })
    socket.on('close', (code) => {
      clearTimeout(startTimer)
      // The device closed cleanly: the conversation is over. A dropped connection may come back.
      const clean = code === CLOSE_NORMAL || code === CLOSE_NO_STATUS
      end('socket closed', CLOSE_NORMAL, clean ? 'ended' : 'detached')
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
    streams.closeAll()
  })
  log.info({ path: `${fastify.prefix}${path}` }, 'device audio WebSocket on')
}

export default fp(llmrtcDevice, {
  name: 'llmrtc-device',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-sessions', 'llmrtc-pipeline', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcSessions', 'llmrtcPipeline', 'llmrtcSignaling'] }
})
