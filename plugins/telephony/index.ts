import { randomBytes, timingSafeEqual } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { WebSocket } from 'ws'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { systemClock } from '../../lib/clock.js'
import { LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import { childLoggerOptions, type Logger } from '../../lib/logger.js'
import type { Session } from '../../lib/sessions/session.js'
import { CallMedia } from '../../lib/telephony/call-media.js'
import type { CarrierAdapter } from '../../lib/telephony/carrier.js'
import { createPlivoAdapter } from '../../lib/telephony/plivo-adapter.js'
import { createTelnyxAdapter } from '../../lib/telephony/telnyx-adapter.js'
import { createTwilioAdapter } from '../../lib/telephony/twilio-adapter.js'
import type { MediaTransportEvents } from '../../lib/transport/media-transport.js'
import { ensureWebSocket } from '../signaling/route.js'

/** Twilio's account settings. */
export interface LLMRTCTwilioOptions {
  /** The account's auth token, which signs webhooks (default TWILIO_AUTH_TOKEN). */
  authToken?: string
  /** When given, webhooks of another account are refused (default TWILIO_ACCOUNT_SID). */
  accountSid?: string
}

/** Telnyx's account settings (a TeXML application). */
export interface LLMRTCTelnyxOptions {
  /** The account's webhook public key, base64 ed25519, which checks webhooks (default TELNYX_PUBLIC_KEY). */
  publicKey?: string
}

/** Plivo's account settings. */
export interface LLMRTCPlivoOptions {
  /** The account's auth token, which signs webhooks with X-Plivo-Signature-V3 (default PLIVO_AUTH_TOKEN). */
  authToken?: string
}

/**
 * Options of the `llmrtc-telephony` plugin: each carrier is on when its secret is given (option or env),
 * the plugin off when none is.
 */
export interface LLMRTCTelephonyOptions {
  twilio?: LLMRTCTwilioOptions
  telnyx?: LLMRTCTelnyxOptions
  plivo?: LLMRTCPlivoOptions
  /**
   * The server's public origin as the carrier reaches it, e.g. `https://voice.example.com` (default
   * TELEPHONY_PUBLIC_URL): webhook signatures cover the URL the carrier posted to, and the media
   * WebSocket's `wss:` URL is built from it. Behind a proxy or tunnel, the proxy's address.
   */
  publicUrl?: string
  /** Twilio's voice webhook path (default '/telephony/twilio/voice'), behind the routes' prefix. Other carriers: '/telephony/<carrier>/voice'. */
  webhookPath?: string
  /** Twilio's media WebSocket path (default '/telephony/twilio/media'), behind the routes' prefix. Other carriers: '/telephony/<carrier>/media'. */
  streamPath?: string
  /**
   * How long a call may take from its webhook to its stream's start before it is dropped, and a media
   * socket to start a known call before it is closed, in ms (default 30000).
   */
  streamTimeoutMs?: number
}

/** Every key of LLMRTCTelephonyOptions (tsc keeps it complete): any other key is refused. */
export const TELEPHONY_OPTION_KEYS: Record<keyof LLMRTCTelephonyOptions, true> = { twilio: true, telnyx: true, plivo: true, publicUrl: true, webhookPath: true, streamPath: true, streamTimeoutMs: true }
const TWILIO_OPTION_KEYS: Record<keyof LLMRTCTwilioOptions, true> = { authToken: true, accountSid: true }
const TELNYX_OPTION_KEYS: Record<keyof LLMRTCTelnyxOptions, true> = { publicKey: true }
const PLIVO_OPTION_KEYS: Record<keyof LLMRTCPlivoOptions, true> = { authToken: true }

/** One carrier the plugin answers: its adapter, its routes and how its webhook names the call. */
interface CarrierRoutes {
  adapter: CarrierAdapter
  webhookPath: string
  streamPath: string
  /** The call's id in the webhook's fields: the id the stream's start carries. */
  callIdField: string
  /** The caller's and the callee's numbers in the webhook's fields. */
  fromField: string
  toField: string
  /** Whether the webhook belongs to the configured account (beyond its signature). */
  accountMatches: (params: Record<string, string>) => boolean
}

function given (value: string | undefined): value is string {
  return value !== undefined && value !== ''
}

/** The phone calls' media transport: what the pipeline listens to beside WebRTC. */
export class CallTransport extends EventEmitter<MediaTransportEvents> {}

/** A call between its webhook and the end of its stream. */
interface Call {
  carrier: CarrierAdapter
  callId: string
  session: Session
  /** One-time: the stream's start must carry it; cleared once used. */
  token: string | undefined
  timer: NodeJS.Timeout | undefined
  socket: WebSocket | undefined
  media: CallMedia | undefined
  /** When the stream started (onConnection), for onDisconnect's timing. */
  startedAt: number | undefined
}

function sameToken (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function path (name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !value.startsWith('/')) throw new LLMRTC_ERR_OPTIONS_INVALID(`telephony.${name}`, 'a path starting with /', String(value))
  return value
}

/**
 * Phone calls through a carrier's media WebSocket (Twilio Media Streams), answered by the same pipeline
 * as WebRTC sessions. The voice webhook checks the carrier's signature, creates the call's session and
 * answers with markup that connects the call to the media WebSocket, passing a one-time per-call token;
 * the WebSocket takes only a stream whose start carries that token. The call's audio then goes to the
 * pipeline as a session's media (`fastify.llmrtcPipeline.listen`). The stream's stop, or its socket
 * closing, ends the session.
 */
async function llmrtcTelephony (fastify: FastifyInstance, opts: LLMRTCTelephonyOptions): Promise<void> {
  refuseUnknownKeys(opts, [...Object.keys(TELEPHONY_OPTION_KEYS), ...FASTIFY_REGISTER_OPTION_KEYS], 'telephony.')
  refuseUnknownKeys(opts.twilio, Object.keys(TWILIO_OPTION_KEYS), 'telephony.twilio.')
  refuseUnknownKeys(opts.telnyx, Object.keys(TELNYX_OPTION_KEYS), 'telephony.telnyx.')
  refuseUnknownKeys(opts.plivo, Object.keys(PLIVO_OPTION_KEYS), 'telephony.plivo.')
  const config = fastify.llmrtcConfig
  const env = config.env
  const twilioToken = opts.twilio?.authToken ?? env.TWILIO_AUTH_TOKEN
  const telnyxKey = opts.telnyx?.publicKey ?? env.TELNYX_PUBLIC_KEY
  const plivoToken = opts.plivo?.authToken ?? env.PLIVO_AUTH_TOKEN
  if (!given(twilioToken) && !given(telnyxKey) && !given(plivoToken)) return
  const accountSid = opts.twilio?.accountSid ?? env.TWILIO_ACCOUNT_SID
  const publicUrl = opts.publicUrl ?? env.TELEPHONY_PUBLIC_URL
  let origin: URL
  try {
    origin = new URL(publicUrl ?? '')
    if (origin.protocol !== 'https:' && origin.protocol !== 'http:') throw new TypeError('not http(s)')
  } catch {
    throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.publicUrl', 'the public http(s) origin the carrier reaches (or TELEPHONY_PUBLIC_URL)', String(publicUrl))
  }
  const publicBase = origin.href.replace(/\/+$/, '')
  const webhookPath = path('webhookPath', opts.webhookPath, '/telephony/twilio/voice')
  const streamPath = path('streamPath', opts.streamPath, '/telephony/twilio/media')
  const streamTimeoutMs = opts.streamTimeoutMs ?? 30_000
  if (!Number.isInteger(streamTimeoutMs) || streamTimeoutMs < 1) throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.streamTimeoutMs', 'an integer >= 1 (milliseconds)', String(streamTimeoutMs))
  const carriers: CarrierRoutes[] = []
  if (given(twilioToken)) {
    carriers.push({
      adapter: createTwilioAdapter({ authToken: twilioToken }),
      webhookPath,
      streamPath,
      callIdField: 'CallSid',
      fromField: 'From',
      toField: 'To',
      accountMatches: (params) => !given(accountSid) || params.AccountSid === accountSid
    })
  }
  // Telnyx's TeXML webhook names the call CallSid ("v3:..."), the id the stream's start carries as call_control_id.
  if (given(telnyxKey)) {
    carriers.push({ adapter: createTelnyxAdapter({ publicKey: telnyxKey }), webhookPath: '/telephony/telnyx/voice', streamPath: '/telephony/telnyx/media', callIdField: 'CallSid', fromField: 'From', toField: 'To', accountMatches: () => true })
  }
  if (given(plivoToken)) {
    carriers.push({ adapter: createPlivoAdapter({ authToken: plivoToken }), webhookPath: '/telephony/plivo/voice', streamPath: '/telephony/plivo/media', callIdField: 'CallUUID', fromField: 'From', toField: 'To', accountMatches: () => true })
  }
  const sessions = fastify.llmrtcSessions
  const hooks = fastify.llmrtc.hooks
  const clock = config.clock ?? systemClock
  const log = fastify.log.child({ plugin: 'llmrtc-telephony' }, childLoggerOptions) as Logger
  const transport = new CallTransport()
  const calls = new Map<string, Call>()
  const callsBySession = new Map<string, Call>()

  fastify.llmrtcPipeline.listen(transport)

  /** Calls are known by carrier and id: two carriers' ids never meet. */
  function callKey (carrier: CarrierAdapter, callId: string): string {
    return `${carrier.name}:${callId}`
  }

  /** Ends the call: its media, its socket and its session. Idempotent. */
  function endCall (call: Call, reason: string): void {
    const key = callKey(call.carrier, call.callId)
    if (calls.get(key) !== call) return
    calls.delete(key)
    callsBySession.delete(call.session.id)
    if (call.timer !== undefined) clearTimeout(call.timer)
    if (call.media !== undefined) {
      call.media.close()
      transport.emit('closed', call.session.id)
    }
    if (call.startedAt !== undefined) {
      const endTime = clock.now()
      void hooks.run('onDisconnect', call.session.id, { startTime: call.startedAt, endTime, durationMs: endTime - call.startedAt })
    }
    if (call.socket !== undefined && call.socket.readyState <= 1) call.socket.close(1000, 'call ended')
    log.info({ carrier: call.carrier.name, callId: call.callId, sessionId: call.session.id, reason }, 'call ended')
    sessions.end(call.session, 'closed')
  }

  // A call's session ended elsewhere (idle timeout, shutdown, handed off): the call ends with it.
  sessions.on('ended', (session) => {
    const call = callsBySession.get(session.id)
    if (call !== undefined) endCall(call, 'session ended')
  })

  function startCall (carrier: CarrierRoutes, callId: string, params: Record<string, string>): Call {
    const session = sessions.create(null)
    session.data.call = { carrier: carrier.adapter.name, callId, from: params[carrier.fromField], to: params[carrier.toField] }
    const call: Call = { carrier: carrier.adapter, callId, session, token: randomBytes(24).toString('base64url'), timer: undefined, socket: undefined, media: undefined, startedAt: undefined }
    sessions.bind(session, {
      id: `call:${callId}`,
      // A call has no data channel: protocol messages have no one to read them, but errors are logged.
      send: (message) => { if (message.type === 'error') log.warn({ callId, sessionId: session.id, code: message.code, message: message.message }, 'error on a call') },
      close: () => { endCall(call, 'connection closed') }
    })
    call.timer = setTimeout(() => { endCall(call, 'the stream never started') }, streamTimeoutMs)
    call.timer.unref()
    calls.set(callKey(carrier.adapter, callId), call)
    callsBySession.set(session.id, call)
    return call
  }

  /** The webhook's fields: a form (Twilio, Plivo, Telnyx TeXML) or a JSON object; values other than strings are dropped. */
  function webhookParams (request: FastifyRequest, rawBody: Buffer): Record<string, string> {
    const text = rawBody.toString('utf8')
    if (/json/i.test(String(request.headers['content-type'] ?? ''))) {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return {}
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {}
      return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
    }
    return Object.fromEntries(new URLSearchParams(text))
  }

  async function voiceWebhook (carrier: CarrierRoutes, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { adapter } = carrier
    // The raw bytes: Telnyx signs the body exactly as sent.
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const params = webhookParams(request, rawBody)
    const url = `${publicBase}${request.url}`
    const valid = await adapter.verifyWebhook({ url, headers: request.headers, rawBody, params })
    if (!valid || !carrier.accountMatches(params)) {
      log.warn({ carrier: adapter.name, url }, 'voice webhook refused: bad or missing signature')
      return await reply.code(403).send()
    }
    const callId = params[carrier.callIdField]
    if (callId === undefined || callId === '') return await reply.code(400).send()
    const key = callKey(adapter, callId)
    // While the server drains, new calls go elsewhere: the carrier tries the number's fallback URL.
    if (fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining && !calls.has(key)) {
      return await reply.code(503).header('retry-after', '5').send()
    }
    // A retried webhook gets the same answer while the stream has not started.
    const call = calls.get(key) ?? startCall(carrier, callId, params)
    if (call.token === undefined) return await reply.code(409).send()
    const streamUrl = `${publicBase.replace(/^http/, 'ws')}${fastify.prefix}${carrier.streamPath}`
    const answer = adapter.answer(streamUrl, { token: call.token })
    log.info({ carrier: adapter.name, callId, sessionId: call.session.id }, 'call answered')
    return await reply.type(answer.contentType).send(answer.body)
  }

  function mediaSocket (adapter: CarrierAdapter, socket: WebSocket): void {
    let call: Call | undefined
    // A socket that does not start a known call in time is not kept open.
    const startTimer = setTimeout(() => { if (call === undefined) socket.close(1008, 'no stream start') }, streamTimeoutMs)
    startTimer.unref()
    socket.on('message', (data, isBinary) => {
      if (isBinary) return
      let event
      try {
        event = adapter.parse(data.toString())
      } catch {
        socket.close(1007, 'malformed message')
        return
      }
      if (event === undefined) return
      if (call === undefined) {
        if (event.type !== 'start') return
        const pending = calls.get(callKey(adapter, event.callId))
        const token = event.parameters.token
        if (pending?.token === undefined || token === undefined || !sameToken(token, pending.token) || pending.socket !== undefined) {
          log.warn({ carrier: adapter.name, callId: event.callId }, 'media stream refused: unknown call or wrong token')
          socket.close(1008, 'unknown call or token')
          return
        }
        clearTimeout(startTimer)
        call = pending
        call.token = undefined
        if (call.timer !== undefined) clearTimeout(call.timer)
        call.timer = undefined
        call.socket = socket
        const media = new CallMedia({
          adapter,
          streamId: event.streamId,
          law: event.law,
          sampleRateHz: event.sampleRateHz,
          // The output keeps real time on the monotonic clock, as the WebRTC track's does.
          send: (message) => { if (socket.readyState === 1) socket.send(message) }
        })
        call.media = media
        media.start()
        log.info({ callId: call.callId, sessionId: call.session.id }, 'call media started')
        // The call is the session's connection, as a signaling WebSocket is: the same hooks pair.
        call.startedAt = clock.now()
        void hooks.run('onConnection', call.session.id, `call:${call.callId}`)
        transport.emit('media', call.session.id, media)
        return
      }
      switch (event.type) {
        case 'media':
          sessions.touch(call.session)
          call.media?.receiveAudio(event.payload)
          break
        case 'mark':
          call.media?.receiveMark(event.name)
          break
        case 'dtmf':
          log.debug({ callId: call.callId, digit: event.digit }, 'DTMF (not used yet)')
          break
        case 'stop':
          endCall(call, 'stream stopped')
          break
        default:
          break
      }
    })
    socket.on('close', () => {
      clearTimeout(startTimer)
      if (call !== undefined) endCall(call, 'socket closed')
    })
    socket.on('error', (err) => { log.warn({ err }, 'media socket error') })
  }

  await ensureWebSocket(fastify)
  // Routes in their own context: the form parser (signatures need the raw bytes) stays theirs.
  await fastify.register(async function telephonyRoutes (routes) {
    routes.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_request, body, done) => { done(null, body) })
    // A JSON webhook is kept as bytes too (Telnyx signs the body exactly as sent); voiceWebhook parses it.
    routes.removeContentTypeParser('application/json')
    routes.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_request, body, done) => { done(null, body) })
    for (const carrier of carriers) {
      routes.post(carrier.webhookPath, async (request, reply) => await voiceWebhook(carrier, request, reply))
      routes.get(carrier.streamPath, { websocket: true }, (socket) => { mediaSocket(carrier.adapter, socket) })
    }
  })
  fastify.addHook('preClose', async function endCalls () {
    for (const call of [...calls.values()]) endCall(call, 'server closing')
  })
  for (const carrier of carriers) {
    log.info({ carrier: carrier.adapter.name, webhook: `${publicBase}${fastify.prefix}${carrier.webhookPath}` }, 'telephony: calls answered')
  }
}

export default fp(llmrtcTelephony, {
  name: 'llmrtc-telephony',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-sessions', 'llmrtc-pipeline'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcSessions', 'llmrtcPipeline'] }
})
