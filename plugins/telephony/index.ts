import { randomBytes, timingSafeEqual } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { WebSocket } from 'ws'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { systemClock } from '../../lib/clock.js'
import { LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import { childLoggerOptions, type Logger } from '../../lib/logger.js'
import { publishCallEnd, publishCallStart, type CallOutcome } from '../../lib/observability/channels.js'
import { relayOf } from '../../lib/realtime/session-mode.js'
import type { Session } from '../../lib/sessions/session.js'
import { CallMedia } from '../../lib/telephony/call-media.js'
import { callKeyPressed, closeKeypad, offerKeypad } from '../../lib/telephony/call-dtmf.js'
import type { CarrierAdapter, CarrierName } from '../../lib/telephony/carrier.js'
import type { AnsweringMachineResult, CarrierControl } from '../../lib/telephony/carrier-control.js'
import { createTwilioControl, parseTwilioMachineDetection } from '../../lib/telephony/twilio-control.js'
import { serverAgentOf, setAgentChoice } from '../../lib/agent/agent-choice.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import { createPlivoAdapter } from '../../lib/telephony/plivo-adapter.js'
import type { G711Law } from '../../lib/telephony/g711.js'
import { createTelnyxAdapter } from '../../lib/telephony/telnyx-adapter.js'
import { createTwilioAdapter } from '../../lib/telephony/twilio-adapter.js'
import type { MediaTransportEvents } from '../../lib/transport/media-transport.js'
import { ensureWebSocket } from '../signaling/route.js'
import { CallControl, transferTargetsOf, unconfiguredTelephony, type LLMRTCTelephony } from './call-control.js'
import { plivoControlOf, telnyxControlOf, TransferTargets } from './carrier-controls.js'
import { parseTelnyxMachineDetection } from '../../lib/telephony/telnyx-control.js'
import { parsePlivoMachineDetection, plivoTransferXml } from '../../lib/telephony/plivo-control.js'

declare module '../hooks/index.js' {
  interface LLMRTCDecorator {
    /**
     * Phone calls placed and controlled by server code (plugin llmrtc-telephony): `call({ to, from, agent })`,
     * `hangup(sessionId)`, `transfer(sessionId, to)`. Without a carrier with call control, each rejects with
     * LLMRTC_ERR_CALL_CONTROL.
     */
    telephony: LLMRTCTelephony
  }
}

/** Twilio's account settings. */
export interface LLMRTCTwilioOptions {
  /** The account's auth token, which signs webhooks (default TWILIO_AUTH_TOKEN). */
  authToken?: string
  /** When given, webhooks of another account are refused (default TWILIO_ACCOUNT_SID). */
  accountSid?: string
  /**
   * Twilio signs the media WebSocket's upgrade request (X-Twilio-Signature over the `wss:` URL): a bad
   * signature is always refused (403). A missing one is refused only when this is true (default false:
   * the per-call token still guards the stream, and a proxy that strips headers keeps working).
   */
  requireStreamSignature?: boolean
  /**
   * The REST API's origin for call control (default `https://api.twilio.com`): an egress proxy, or a local
   * mock in tests. Call control (end_call, transfer_call, outbound calls) needs `accountSid` too.
   */
  apiBaseUrl?: string
}

/** Telnyx's account settings (a TeXML application). */
export interface LLMRTCTelnyxOptions {
  /** The account's webhook public key, base64 ed25519, which checks webhooks (default TELNYX_PUBLIC_KEY). */
  publicKey?: string
  /** An API key (default TELNYX_API_KEY): with `accountSid`, call control through the TeXML REST API. */
  apiKey?: string
  /** The account id, the `AccountSid` of TeXML webhooks (default TELNYX_ACCOUNT_SID): call control needs it. */
  accountSid?: string
  /** The TeXML application id (default TELNYX_APPLICATION_ID): outbound calls are placed through it. */
  applicationId?: string
  /** The REST API's base URL for call control (default `https://api.telnyx.com/v2`): a proxy, or a mock in tests. */
  apiBaseUrl?: string
  /**
   * The G.711 law asked of Telnyx's stream both ways (default 'mulaw', PCMU; 'alaw', PCMA, where calls are
   * A-law and a transcoding hop is better avoided). The law the stream's start names is the one used.
   */
  law?: G711Law
}

/** Plivo's account settings. */
export interface LLMRTCPlivoOptions {
  /** The account's auth token, which signs webhooks with X-Plivo-Signature-V3 (default PLIVO_AUTH_TOKEN). */
  authToken?: string
  /** The auth id (default PLIVO_AUTH_ID): with the token, call control through the Voice REST API. */
  authId?: string
  /** The REST API's origin for call control (default `https://api.plivo.com`): a proxy, or a mock in tests. */
  apiBaseUrl?: string
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
  /**
   * The numbers (E.164) and SIP URIs the `transfer_call` tool may reach (default none: the tool is not
   * offered). The LLM never dials anything else; server code (`fastify.llmrtc.telephony.transfer`) may.
   */
  transferTargets?: string[]
}

/** Every key of LLMRTCTelephonyOptions (tsc keeps it complete): any other key is refused. */
export const TELEPHONY_OPTION_KEYS: Record<keyof LLMRTCTelephonyOptions, true> = { twilio: true, telnyx: true, plivo: true, publicUrl: true, webhookPath: true, streamPath: true, streamTimeoutMs: true, transferTargets: true }
const TWILIO_OPTION_KEYS: Record<keyof LLMRTCTwilioOptions, true> = { authToken: true, accountSid: true, requireStreamSignature: true, apiBaseUrl: true }
const TELNYX_OPTION_KEYS: Record<keyof LLMRTCTelnyxOptions, true> = { publicKey: true, apiKey: true, accountSid: true, applicationId: true, apiBaseUrl: true, law: true }
const PLIVO_OPTION_KEYS: Record<keyof LLMRTCPlivoOptions, true> = { authToken: true, authId: true, apiBaseUrl: true }

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
  /** Call control through the carrier's REST API (end_call, transfer_call, outbound calls), when configured. */
  control?: CarrierControl
  /** The field of an outbound call's answer webhook that holds the id its dial returned (default callIdField; Plivo: RequestUUID). */
  dialIdField?: string
  /** The answering-machine detection result of the carrier's callback, when the carrier sends one. */
  machineDetection?: (params: Record<string, string>) => AnsweringMachineResult | undefined
}

/** The stream-ended webhook's path, after the carrier's voice webhook path. */
const STREAM_ENDED_PATH = '/stream-ended'

/** Call statuses (Twilio, Telnyx TeXML, Plivo) of a call that is over: its stream-ended webhook hangs up. */
const CALL_OVER_STATUSES = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled', 'cancel'])

/** Where Plivo fetches a transfer's dial XML, behind the routes' prefix. */
const PLIVO_TRANSFER_PATH = '/telephony/plivo/transfer'

/** Where a carrier posts answering-machine detection results, behind the routes' prefix. */
function machineDetectionPath (carrier: CarrierName): string {
  return `/telephony/${carrier}/amd`
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
  /** Ends the call if its stream does not start in time, or, once its socket dropped, if none resumes it within the reconnect grace. */
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
 * closing normally, ends the session; a socket that drops (no stop, no normal close) holds the call for
 * the sessions' reconnect grace, and the carrier's stream-ended webhook (`<Connect action>` or a
 * `<Redirect>`) gets a new token for a new socket that resumes the same session.
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
  if (!given(twilioToken) && !given(telnyxKey) && !given(plivoToken)) {
    fastify.llmrtc.telephony = unconfiguredTelephony()
    return
  }
  const accountSid = opts.twilio?.accountSid ?? env.TWILIO_ACCOUNT_SID
  const requireStreamSignature = opts.twilio?.requireStreamSignature ?? false
  if (typeof requireStreamSignature !== 'boolean') throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.twilio.requireStreamSignature', 'a boolean', String(requireStreamSignature))
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
      accountMatches: (params) => !given(accountSid) || params.AccountSid === accountSid,
      // Call control needs the account SID (REST resources are named under it).
      ...(given(accountSid) ? { control: createTwilioControl({ accountSid, authToken: twilioToken, ...(opts.twilio?.apiBaseUrl !== undefined ? { baseUrl: opts.twilio.apiBaseUrl } : {}) }) } : {}),
      machineDetection: parseTwilioMachineDetection
    })
  }
  // Telnyx's TeXML webhook names the call CallSid ("v3:..."), the id the stream's start carries as call_control_id.
  if (given(telnyxKey)) {
    const control = telnyxControlOf(opts.telnyx, env)
    carriers.push({ adapter: createTelnyxAdapter({ publicKey: telnyxKey, ...(opts.telnyx?.law !== undefined ? { law: opts.telnyx.law } : {}) }), webhookPath: '/telephony/telnyx/voice', streamPath: '/telephony/telnyx/media', callIdField: 'CallSid', fromField: 'From', toField: 'To', accountMatches: () => true, ...(control !== undefined ? { control } : {}), machineDetection: parseTelnyxMachineDetection })
  }
  // Plivo transfers point the call at a one-time URL of ours that answers the dial XML.
  const plivoTransfers = new TransferTargets()
  if (given(plivoToken)) {
    const control = plivoControlOf(opts.plivo, plivoToken, env, (target) => `${publicBase}${fastify.prefix}${PLIVO_TRANSFER_PATH}?id=${plivoTransfers.issue(target)}`)
    carriers.push({ adapter: createPlivoAdapter({ authToken: plivoToken }), webhookPath: '/telephony/plivo/voice', streamPath: '/telephony/plivo/media', callIdField: 'CallUUID', fromField: 'From', toField: 'To', accountMatches: () => true, ...(control !== undefined ? { control } : {}), dialIdField: 'RequestUUID', machineDetection: parsePlivoMachineDetection })
  }
  const sessions = fastify.llmrtcSessions
  const hooks = fastify.llmrtc.hooks
  const clock = config.clock ?? systemClock
  const log = fastify.log.child({ plugin: 'llmrtc-telephony' }, childLoggerOptions) as Logger
  const transport = new CallTransport()
  const calls = new Map<string, Call>()
  const callsBySession = new Map<string, Call>()
  const controls = new Map<CarrierName, CarrierControl>()
  for (const carrier of carriers) if (carrier.control !== undefined) controls.set(carrier.adapter.name, carrier.control)
  const callControl = new CallControl({
    controls,
    transferTargets: transferTargetsOf(opts.transferTargets),
    hooks,
    log,
    now: () => clock.now(),
    callOf: (sessionId) => {
      const call = callsBySession.get(sessionId)
      return call === undefined ? undefined : { carrier: call.carrier.name, callId: call.callId, session: call.session, media: call.media }
    },
    endCall: (sessionId, reason) => {
      const call = callsBySession.get(sessionId)
      if (call !== undefined) endCall(call, reason)
    },
    answerUrl: (name, outboundId) => {
      const carrier = carriers.find(c => c.adapter.name === name)
      return carrier === undefined ? undefined : `${publicBase}${fastify.prefix}${carrier.webhookPath}?outbound=${outboundId}`
    },
    machineDetectionUrl: (name) => carriers.some(c => c.adapter.name === name && c.machineDetection !== undefined) ? `${publicBase}${fastify.prefix}${machineDetectionPath(name)}` : undefined,
    serverAgent: () => serverAgentOf(config) ?? { tools: new ToolRegistry(config.tools), playbook: config.playbook },
    draining: () => fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining,
    outboundTimeoutMs: 10 * 60_000
  })
  fastify.llmrtc.telephony = callControl.api

  fastify.llmrtcPipeline.listen(transport)

  /** Calls are known by carrier and id: two carriers' ids never meet. */
  function callKey (carrier: CarrierAdapter, callId: string): string {
    return `${carrier.name}:${callId}`
  }

  /** Ends the call: its media, its socket and its session. Idempotent. `outcome` is counted in metrics. */
  function endCall (call: Call, reason: string, outcome: CallOutcome = 'completed'): void {
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
    publishCallEnd(call.session.id, call.carrier.name, outcome)
    closeKeypad(call.session)
    sessions.end(call.session, 'closed')
  }

  // A call's session ended elsewhere (idle timeout, shutdown, handed off): the call ends with it.
  sessions.on('ended', (session) => {
    const call = callsBySession.get(session.id)
    if (call !== undefined) endCall(call, 'session ended', 'ended')
  })

  function startCall (carrier: CarrierRoutes, callId: string, params: Record<string, string>): Call {
    const session = sessions.create(null)
    session.transport = 'call'
    session.data.call = { carrier: carrier.adapter.name, callId, from: params[carrier.fromField], to: params[carrier.toField] }
    const call: Call = { carrier: carrier.adapter, callId, session, token: randomBytes(24).toString('base64url'), timer: undefined, socket: undefined, media: undefined, startedAt: undefined }
    sessions.bind(session, {
      id: `call:${callId}`,
      // A call has no data channel: protocol messages have no one to read them, but errors are logged.
      send: (message) => { if (message.type === 'error') log.warn({ callId, sessionId: session.id, code: message.code, message: message.message }, 'error on a call') },
      close: () => { endCall(call, 'connection closed') }
    })
    call.timer = setTimeout(() => { endCall(call, 'the stream never started', 'no-stream') }, streamTimeoutMs)
    call.timer.unref()
    calls.set(callKey(carrier.adapter, callId), call)
    callsBySession.set(session.id, call)
    publishCallStart(session.id, carrier.adapter.name)
    // end_call and transfer_call, when the carrier has call control.
    session.transportTools.push(...callControl.toolsFor(carrier.adapter.name))
    // The caller's keys: the collect_digits tool, onDtmf, the playbook's dtmf transitions.
    offerKeypad(session, clock)
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

  /**
   * The fields of a carrier's request when its signature (over the URL it posted to and the raw bytes:
   * Telnyx signs the body exactly as sent) and its account check out; otherwise answers 403 and returns
   * undefined. Every request a carrier makes to llmrtc goes through here.
   */
  async function signedParams (carrier: CarrierRoutes, request: FastifyRequest, reply: FastifyReply, what: string): Promise<Record<string, string> | undefined> {
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const params = webhookParams(request, rawBody)
    const url = `${publicBase}${request.url}`
    if (await carrier.adapter.verifyWebhook({ url, headers: request.headers, rawBody, params }) && carrier.accountMatches(params)) return params
    log.warn({ carrier: carrier.adapter.name, url }, `${what} refused: bad or missing signature`)
    await reply.code(403).send()
    return undefined
  }

  async function voiceWebhook (carrier: CarrierRoutes, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { adapter } = carrier
    const params = await signedParams(carrier, request, reply, 'voice webhook')
    if (params === undefined) return reply
    const callId = params[carrier.callIdField]
    if (callId === undefined || callId === '') return await reply.code(400).send()
    const key = callKey(adapter, callId)
    // An outbound call's answer names its telephony.call() by a one-time id: that call's agent applies.
    const outboundId = new URL(request.url, publicBase).searchParams.get('outbound')
    const outbound = outboundId === null || calls.has(key) ? undefined : callControl.takeOutbound(outboundId, adapter.name, params[carrier.dialIdField ?? carrier.callIdField] ?? callId)
    if (outboundId !== null && !calls.has(key) && outbound === undefined) {
      log.warn({ carrier: adapter.name, callId }, 'outbound call webhook refused: unknown or expired outbound id')
      return await reply.code(404).send()
    }
    // While the server drains, new calls go elsewhere: the carrier tries the number's fallback URL. A call
    // this server placed is still answered.
    if (fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining && !calls.has(key) && outbound === undefined) {
      return await reply.code(503).header('retry-after', '5').send()
    }
    // A retried webhook gets the same answer while the stream has not started.
    const call = calls.get(key) ?? startCall(carrier, callId, params)
    if (outbound?.agent !== undefined) setAgentChoice(call.session, outbound.agent)
    if (call.token === undefined) return await reply.code(409).send()
    const streamUrl = `${publicBase.replace(/^http/, 'ws')}${fastify.prefix}${carrier.streamPath}`
    const answer = adapter.answer(streamUrl, { token: call.token }, { actionUrl: actionUrlOf(carrier) })
    log.info({ carrier: adapter.name, callId, sessionId: call.session.id }, 'call answered')
    return await reply.type(answer.contentType).send(answer.body)
  }

  /** The URL the carrier requests once a call's media stream ends (`<Connect action>` or a `<Redirect>`). */
  function actionUrlOf (carrier: CarrierRoutes): string {
    return `${publicBase}${fastify.prefix}${carrier.webhookPath}${STREAM_ENDED_PATH}`
  }

  /**
   * The call's media socket dropped (no `stop`): the call and its session are kept for the reconnect
   * grace, waiting for the carrier's stream-ended webhook and a new socket with a new token. The turn in
   * progress stops, as it does when a WebRTC client goes away.
   */
  function holdCall (call: Call, socket: WebSocket, reason: string): void {
    if (call.socket !== socket || calls.get(callKey(call.carrier, call.callId)) !== call) return
    call.socket = undefined
    if (socket.readyState <= 1) socket.terminate()
    if (call.media !== undefined) {
      call.media.close()
      call.media = undefined
      transport.emit('closed', call.session.id)
    }
    // In relay mode the realtime plugin has the media (and no pipeline to stop).
    if (relayOf(call.session) === undefined) fastify.llmrtcPipeline.for(call.session).cancelTurn()
    const graceMs = sessions.reconnectGraceMs
    if (call.timer !== undefined) clearTimeout(call.timer)
    call.timer = setTimeout(() => { endCall(call, 'media socket dropped and did not come back', 'dropped') }, graceMs)
    call.timer.unref()
    log.warn({ carrier: call.carrier.name, callId: call.callId, sessionId: call.session.id, reason, graceMs }, 'call media dropped: held for the reconnect grace')
  }

  /**
   * The carrier's request once a call's stream ended (signed as its webhooks are). A call still held gets
   * fresh markup with a new one-time token, so that a new media socket resumes the same session; a call
   * that is over (unknown here, or the carrier says it completed) is hung up.
   */
  async function streamEndedWebhook (carrier: CarrierRoutes, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { adapter } = carrier
    const params = await signedParams(carrier, request, reply, 'stream-ended webhook')
    if (params === undefined) return reply
    const callId = params[carrier.callIdField]
    if (callId === undefined || callId === '') return await reply.code(400).send()
    const call = calls.get(callKey(adapter, callId))
    const status = (params.CallStatus ?? '').toLowerCase()
    if (call === undefined || CALL_OVER_STATUSES.has(status)) {
      if (call !== undefined) endCall(call, `call ${status}`)
      const hangup = adapter.hangup()
      return await reply.type(hangup.contentType).send(hangup.body)
    }
    // The carrier says the stream is over even if this side has not seen its socket close yet.
    if (call.socket !== undefined) holdCall(call, call.socket, 'the carrier ended the stream')
    call.token = randomBytes(24).toString('base64url')
    const streamUrl = `${publicBase.replace(/^http/, 'ws')}${fastify.prefix}${carrier.streamPath}`
    const answer = adapter.answer(streamUrl, { token: call.token }, { actionUrl: actionUrlOf(carrier) })
    log.info({ carrier: adapter.name, callId, sessionId: call.session.id }, 'call stream reconnecting')
    return await reply.type(answer.contentType).send(answer.body)
  }

  /**
   * Twilio's signature on the media WebSocket's upgrade (X-Twilio-Signature over the public `wss:` URL,
   * no fields): a bad one is refused with 403 before the upgrade; a missing one only with
   * `twilio.requireStreamSignature`. Other carriers do not sign the upgrade: their token alone guards it.
   */
  async function checkStreamSignature (carrier: CarrierRoutes, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (carrier.adapter.name !== 'twilio') return
    const signature = request.headers['x-twilio-signature']
    if (signature === undefined || signature === '') {
      if (requireStreamSignature) {
        log.warn({ carrier: 'twilio' }, 'media socket refused: no X-Twilio-Signature on the upgrade')
        await reply.code(403).send()
      }
      return
    }
    const url = `${publicBase.replace(/^http/, 'ws')}${request.url}`
    if (!await carrier.adapter.verifyWebhook({ url, headers: request.headers, rawBody: Buffer.alloc(0), params: {} })) {
      log.warn({ carrier: 'twilio', url }, 'media socket refused: bad X-Twilio-Signature on the upgrade')
      await reply.code(403).send()
    }
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
        // The call is the session's connection, as a signaling WebSocket is: the same hooks pair, once
        // per call (a media socket that resumes a dropped one is the same connection).
        if (call.startedAt === undefined) {
          log.info({ callId: call.callId, sessionId: call.session.id }, 'call media started')
          call.startedAt = clock.now()
          void hooks.run('onConnection', call.session.id, `call:${call.callId}`)
        } else {
          log.info({ callId: call.callId, sessionId: call.session.id }, 'call media resumed')
        }
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
          callKeyPressed(call.session, event.digit, { hooks, keyPressed: fastify.llmrtcPipeline.keyPressed, log })
          break
        case 'stop':
          endCall(call, 'stream stopped')
          break
        default:
          break
      }
    })
    socket.on('close', (code) => {
      clearTimeout(startTimer)
      if (call === undefined) return
      // A normal closure (1000, or a close frame with no code: 1005) is the carrier ending the stream;
      // anything else (1006: no close frame, 1001: going away, 1011...) is a drop.
      if (code === 1000 || code === 1005) endCall(call, 'socket closed')
      else holdCall(call, socket, `socket dropped (${code})`)
    })
    socket.on('error', (err) => { log.warn({ err }, 'media socket error') })
  }

  /**
   * The carrier's answering-machine detection callback (signed as its webhooks are): the result goes to
   * the `onAnsweringMachine` hook of the call's session.
   */
  async function machineDetectionWebhook (carrier: CarrierRoutes, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { adapter } = carrier
    const params = await signedParams(carrier, request, reply, 'answering-machine callback')
    if (params === undefined) return reply
    const result = carrier.machineDetection?.(params)
    if (result === undefined) return await reply.code(400).send()
    const call = calls.get(callKey(adapter, result.callId))
    if (call === undefined) {
      log.info({ carrier: adapter.name, callId: result.callId, answeredBy: result.answeredBy }, 'answering-machine result for a call that is not running')
      return await reply.code(204).send()
    }
    log.info({ carrier: adapter.name, callId: result.callId, sessionId: call.session.id, answeredBy: result.answeredBy }, 'answering-machine detection')
    await hooks.run('onAnsweringMachine', call.session.id, result)
    return await reply.code(204).send()
  }

  /** Plivo fetches a transfer's dial XML here (signed as its webhooks are), by the transfer's one-time id. */
  async function plivoTransferWebhook (carrier: CarrierRoutes, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (await signedParams(carrier, request, reply, 'Plivo transfer request') === undefined) return reply
    const target = plivoTransfers.target(new URL(request.url, publicBase).searchParams.get('id') ?? '')
    if (target === undefined) return await reply.code(404).send()
    return await reply.type('text/xml').send(plivoTransferXml(target))
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
      routes.post(`${carrier.webhookPath}${STREAM_ENDED_PATH}`, async (request, reply) => await streamEndedWebhook(carrier, request, reply))
      routes.get(carrier.streamPath, { websocket: true, onRequest: async (request, reply) => await checkStreamSignature(carrier, request, reply) }, (socket) => { mediaSocket(carrier.adapter, socket) })
      if (carrier.control !== undefined && carrier.machineDetection !== undefined) routes.post(machineDetectionPath(carrier.adapter.name), async (request, reply) => await machineDetectionWebhook(carrier, request, reply))
      if (carrier.control !== undefined && carrier.adapter.name === 'plivo') routes.post(PLIVO_TRANSFER_PATH, async (request, reply) => await plivoTransferWebhook(carrier, request, reply))
    }
  })
  fastify.addHook('preClose', async function endCalls () {
    for (const call of [...calls.values()]) endCall(call, 'server closing', 'ended')
  })
  fastify.addHook('onClose', async function forgetOutboundCalls () {
    callControl.close()
    plivoTransfers.close()
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
