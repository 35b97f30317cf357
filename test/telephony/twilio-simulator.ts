import { once } from 'node:events'
import type { Test } from 'tap'
import twilio from 'twilio'
import type { FastifyInstance } from 'fastify'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import type { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { startTwilioRestMock, type TwilioRestMock } from '../mocks/twilio-rest-mock.js'
import { callApp, PUBLIC_URL, SimulatedStream, type CarrierWire } from './simulated-carrier.js'

// A simulated Twilio with call control: the app's call-control requests go to a mock of Twilio's REST
// API (the real SDK pointed at it), and the test plays Twilio's side of the webhooks and Media Streams.

export const ACCOUNT_SID = 'AC' + 'a'.repeat(32)
export const AUTH_TOKEN = 'twilio-call-control-test-token'

/** Twilio's Media Streams messages. */
export const twilioWire: CarrierWire = {
  start: (callSid, streamSid, token) => ({
    event: 'start',
    sequenceNumber: '1',
    start: { accountSid: ACCOUNT_SID, streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: { token } },
    streamSid
  }),
  media: (streamSid, payload, n) => ({ event: 'media', sequenceNumber: String(n + 2), media: { track: 'inbound', chunk: String(n + 1), timestamp: String(n * 20), payload }, streamSid }),
  echo: (message, streamSid) => message.event === 'mark' ? { event: 'mark', streamSid, sequenceNumber: '9', mark: message.mark } : undefined,
  audio: (message) => message.event === 'media' ? (message.media as { payload: string }).payload : undefined
}

/** A Media Streams connection: connected + start, then whatever the test sends. */
export class TwilioStream extends SimulatedStream {
  constructor (url: string, callSid: string) {
    super(twilioWire, url, callSid, 'MZ' + callSid)
  }

  override async open (token: string): Promise<void> {
    await once(this.socket, 'open')
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' })
    this.send(this.wire.start(this.callId, this.streamId, token))
  }
}

/** Posts a form to `pathAndQuery` as Twilio does, signed with X-Twilio-Signature over the public URL. */
export async function postSigned (base: string, pathAndQuery: string, fields: Record<string, string>, signWith = AUTH_TOKEN): Promise<Response> {
  const signature = twilio.getExpectedTwilioSignature(signWith, `${PUBLIC_URL}${pathAndQuery}`, fields)
  return await fetch(`http://${base}${pathAndQuery}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(fields).toString()
  })
}

export function callFields (callSid: string, direction = 'inbound'): Record<string, string> {
  return { AccountSid: ACCOUNT_SID, CallSid: callSid, From: '+15550100', To: '+15550199', CallStatus: direction === 'inbound' ? 'ringing' : 'in-progress', Direction: direction }
}

/** The stream URL (on the test's port) and token of a TwiML answer. */
export function parseTwiml (xml: string, base: string): { url: string, token: string } {
  const url = /<Stream url="([^"]+)"/.exec(xml)?.[1]
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1]
  if (url === undefined || token === undefined) throw new Error(`unexpected TwiML: ${xml}`)
  return { url: url.replace(PUBLIC_URL.replace('https', 'wss'), `ws://${base}`), token }
}

/** The app with Twilio calls and call control against a fresh REST mock. */
export async function controlledCallApp (
  t: Test,
  providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS },
  telephony: LLMRTCPluginOptions['telephony'] = {},
  options: LLMRTCPluginOptions = {}
): Promise<{ app: FastifyInstance, base: string, rest: TwilioRestMock }> {
  const rest = await startTwilioRestMock({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN })
  t.teardown(async () => { await rest.close() })
  const { app, base } = await callApp(t, providers, { ...telephony, twilio: { authToken: AUTH_TOKEN, accountSid: ACCOUNT_SID, apiBaseUrl: rest.url, ...telephony?.twilio }, publicUrl: PUBLIC_URL }, options)
  return { app, base, rest }
}

/** Answers the call `callSid` (the voice webhook at `pathAndQuery`) and opens its media stream. */
export async function answerCall (t: Test, base: string, callSid: string, pathAndQuery = '/telephony/twilio/voice', direction = 'inbound'): Promise<TwilioStream> {
  const response = await postSigned(base, pathAndQuery, callFields(callSid, direction))
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}`)
  const { url, token } = parseTwiml(await response.text(), base)
  const stream = new TwilioStream(url, callSid)
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  return stream
}
