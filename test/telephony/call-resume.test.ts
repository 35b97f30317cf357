import { once } from 'node:events'
import t, { type Test } from 'tap'
import twilio from 'twilio'
import type { FastifyInstance } from 'fastify'
import { createPlivoAdapter } from '../../lib/telephony/plivo-adapter.js'
import { createTelnyxAdapter } from '../../lib/telephony/telnyx-adapter.js'
import { createTwilioAdapter } from '../../lib/telephony/twilio-adapter.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { callApp as carrierApp, PUBLIC_URL, SimulatedStream, type CarrierWire } from './simulated-carrier.js'

// A dropped media socket: Twilio requests <Connect action> once the stream's WebSocket ends, and the
// call resumes on a new socket with a new token, in the same session, within the reconnect grace.

const AUTH_TOKEN = 'twilio-test-auth-token'
const WEBHOOK_PATH = '/telephony/twilio/voice'
const ACTION_PATH = '/telephony/twilio/voice/stream-ended'

async function callApp (t: Test, providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS }, options: LLMRTCPluginOptions = {}): Promise<{ app: FastifyInstance, base: string }> {
  return await carrierApp(t, providers, { twilio: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL }, options)
}

/** Posts a webhook as Twilio does: form fields, signed with X-Twilio-Signature over the public URL. */
async function post (base: string, path: string, fields: Record<string, string>, signWith = AUTH_TOKEN): Promise<Response> {
  const signature = twilio.getExpectedTwilioSignature(signWith, `${PUBLIC_URL}${path}`, fields)
  return await fetch(`http://${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(fields).toString()
  })
}

function callFields (callSid: string, status = 'ringing'): Record<string, string> {
  return { AccountSid: 'AC0000', CallSid: callSid, From: '+15550100', To: '+15550199', CallStatus: status, Direction: 'inbound' }
}

/** The stream URL (on the test server), the token and the action URL of a TwiML answer. */
function parseTwiml (xml: string, base: string): { url: string, token: string, action: string | undefined } {
  const url = /<Stream url="([^"]+)"/.exec(xml)?.[1]
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1]
  if (url === undefined || token === undefined) throw new Error(`unexpected TwiML: ${xml}`)
  return { url: url.replace('wss://voice.example.test', `ws://${base}`), token, action: /<Connect action="([^"]+)"/.exec(xml)?.[1] }
}

const twilioWire: CarrierWire = {
  start: (callSid, streamSid, token) => ({
    event: 'start',
    start: { accountSid: 'AC0000', streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: { token } },
    streamSid
  }),
  media: (streamSid, payload, n) => ({ event: 'media', media: { track: 'inbound', chunk: String(n + 1), timestamp: String(n * 20), payload }, streamSid }),
  echo: (message, streamSid) => message.event === 'mark' ? { event: 'mark', streamSid, mark: message.mark } : undefined,
  audio: (message) => message.event === 'media' ? (message.media as { payload: string }).payload : undefined
}

class TwilioStream extends SimulatedStream {
  constructor (url: string, callSid: string, streamSid: string) {
    super(twilioWire, url, callSid, streamSid)
  }

  override async open (token: string): Promise<void> {
    await once(this.socket, 'open')
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' })
    this.send(this.wire.start(this.callId, this.streamId, token))
  }
}

async function until (condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (condition()) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

function hookEvents (app: FastifyInstance): string[] {
  const events: string[] = []
  app.llmrtc.addHook('onConnection', (_sessionId, connectionId) => { events.push(`connect ${connectionId}`) })
  app.llmrtc.addHook('onDisconnect', () => { events.push('disconnect') })
  return events
}

t.test('a media socket that drops resumes the same session on a new socket with a new token', async t => {
  const llm = new ScriptedLLM([['Nice to meet you, Ada.'], ['Your name is Ada.']])
  const stt = new ScriptedSTT(['My name is Ada.', 'What is my name?'])
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS() })
  const events = hookEvents(app)

  const first = parseTwiml(await (await post(base, WEBHOOK_PATH, callFields('CA1'))).text(), base)
  t.equal(first.action, `${PUBLIC_URL}${ACTION_PATH}`, 'the answer\'s <Connect> has the stream-ended action URL')
  const session = app.llmrtcSessions.list()[0]
  if (session === undefined) throw new Error('no session')

  const stream = new TwilioStream(first.url, 'CA1', 'MZ1')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(first.token)
  await stream.speak(concat(silence(300, 8000), await synthesizeSpeech('My name is Ada.', 8000), silence(1200, 8000)))
  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.match(session.history.messages.at(-1), { role: 'assistant', content: 'Nice to meet you, Ada.' }, 'the first turn completed')

  // The network drops the socket: no stop, no close frame.
  stream.socket.terminate()
  await stream.closed
  t.equal(app.llmrtcSessions.get(session.id), session, 'the call\'s session is held')

  // Twilio requests the <Connect action> URL once the stream's WebSocket is gone.
  const refused = await post(base, ACTION_PATH, callFields('CA1', 'in-progress'), 'someone-elses-token')
  t.equal(refused.status, 403, 'a stream-ended webhook with a bad signature is refused')
  const action = await post(base, ACTION_PATH, callFields('CA1', 'in-progress'))
  t.equal(action.status, 200)
  const second = parseTwiml(await action.text(), base)
  t.not(second.token, first.token, 'a new one-time token')
  t.equal(second.action, first.action, 'the new answer has the action URL again')

  const replay = new TwilioStream(second.url, 'CA1', 'MZ2')
  await replay.open(first.token)
  t.equal(await replay.closed, 1008, 'the first socket\'s token is refused')

  const resumed = new TwilioStream(second.url, 'CA1', 'MZ2')
  t.teardown(() => { resumed.socket.terminate() })
  await resumed.open(second.token)
  await resumed.speak(concat(silence(300, 8000), await synthesizeSpeech('What is my name?', 8000), silence(1200, 8000)))
  await resumed.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.equal(app.llmrtcSessions.list().length, 1, 'still one session')
  t.equal(app.llmrtcSessions.get(session.id), session, 'the same session')
  const request = llm.requests[1]
  t.ok(request !== undefined, 'a second turn on the new socket')
  t.match(request?.messages, [{ role: 'system' }, { role: 'user', content: 'My name is Ada.' }, { role: 'assistant', content: 'Nice to meet you, Ada.' }, { role: 'user', content: 'What is my name?' }], 'the second turn\'s LLM request holds the first turn')
  t.ok(resumed.messages.some(m => m.event === 'media' && m.streamSid === 'MZ2'), 'the answer goes out on the new stream')
  t.same(events, ['connect call:CA1'], 'one onConnection for the call, none for the resume')

  resumed.send({ event: 'stop', streamSid: 'MZ2', stop: { accountSid: 'AC0000', callSid: 'CA1' } })
  await resumed.closed
  t.equal(app.llmrtcSessions.list().length, 0, 'stop ends the call at once')
  await until(() => events.length === 2, 'onDisconnect')
  t.same(events, ['connect call:CA1', 'disconnect'], 'and onDisconnect once')
  const after = await post(base, ACTION_PATH, callFields('CA1', 'in-progress'))
  t.match(await after.text(), /<Hangup\/>/, 'the stream-ended webhook of a call that is over hangs up')
})

t.test('after the reconnect grace the held call ends, once, and its stream-ended webhook hangs up', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { reconnectGraceMs: 300 })
  const events = hookEvents(app)
  const first = parseTwiml(await (await post(base, WEBHOOK_PATH, callFields('CA2'))).text(), base)
  const stream = new TwilioStream(first.url, 'CA2', 'MZ3')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(first.token)
  await until(() => events.length === 1, 'onConnection')
  stream.socket.terminate()
  await until(() => app.llmrtcSessions.list().length === 0, 'the grace to end the call')
  await until(() => events.length === 2, 'onDisconnect')
  t.same(events, ['connect call:CA2', 'disconnect'], 'onDisconnect once, at the end of the grace')
  t.equal(app.llmrtcPipeline.size, 0, 'the pipeline went with the session')
  const action = await post(base, ACTION_PATH, callFields('CA2', 'in-progress'))
  const body = await action.text()
  t.match(body, /<Response><Hangup\/><\/Response>/, 'too late: hung up')
  t.notMatch(body, /Stream/, 'no new stream')
  t.equal(app.llmrtcSessions.list().length, 0, 'and no session')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^llmrtc_calls_total\{carrier="twilio",outcome="dropped"\} 1$/m, 'counted as a dropped call')
})

t.test('a stream-ended webhook saying the call completed ends it at once', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const events = hookEvents(app)
  const first = parseTwiml(await (await post(base, WEBHOOK_PATH, callFields('CA3'))).text(), base)
  const stream = new TwilioStream(first.url, 'CA3', 'MZ4')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(first.token)
  await until(() => events.length === 1, 'onConnection')
  stream.socket.terminate()
  const action = await post(base, ACTION_PATH, callFields('CA3', 'completed'))
  t.match(await action.text(), /<Hangup\/>/, 'a completed call is hung up')
  t.equal(app.llmrtcSessions.list().length, 0, 'its session ended at once')
  await until(() => events.length === 2, 'onDisconnect')
  t.same(events, ['connect call:CA3', 'disconnect'])
})

t.test('the stream-ended action in each carrier\'s markup', async t => {
  const action = 'https://voice.example.test/telephony/x/voice/stream-ended?a=1&b=2'
  const twiml = createTwilioAdapter({ authToken: 'x' }).answer('wss://h/m', { token: 't' }, { actionUrl: action }).body
  t.match(twiml, '<Connect action="https://voice.example.test/telephony/x/voice/stream-ended?a=1&amp;b=2" method="POST"><Stream', 'Twilio: <Connect action>, escaped')
  t.notMatch(createTwilioAdapter({ authToken: 'x' }).answer('wss://h/m', { token: 't' }).body, /action=/, 'no action unless asked')
  const texml = createTelnyxAdapter({ publicKey: Buffer.alloc(32, 1).toString('base64') }).answer('wss://h/m', { token: 't' }, { actionUrl: action }).body
  t.match(texml, '</Connect><Redirect method="POST">https://voice.example.test/telephony/x/voice/stream-ended?a=1&amp;b=2</Redirect></Response>', 'Telnyx: a <Redirect> after <Connect>')
  const plivo = createPlivoAdapter({ authToken: 'x' }).answer('wss://h/m', { token: 't' }, { actionUrl: action }).body
  t.match(plivo, /keepCallAlive="true"[^>]*>wss:\/\/h\/m<\/Stream><Redirect method="POST">https:\/\/voice\.example\.test\/telephony\/x\/voice\/stream-ended\?a=1&amp;b=2<\/Redirect><\/Response>$/, 'Plivo: a <Redirect> after the kept-alive <Stream>')
  for (const adapter of [createTwilioAdapter({ authToken: 'x' }), createTelnyxAdapter({ publicKey: Buffer.alloc(32, 1).toString('base64') }), createPlivoAdapter({ authToken: 'x' })]) {
    t.match(adapter.hangup().body, '<Response><Hangup/></Response>', `${adapter.name}: hangup markup`)
  }
})
