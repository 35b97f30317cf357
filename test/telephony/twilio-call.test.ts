import { once } from 'node:events'
import t, { type Test } from 'tap'
import twilio from 'twilio'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { concat, silence, synthesizeSpeech, trimSilence } from '../helpers/speech.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { callApp as carrierApp, peak, PUBLIC_URL, SimulatedStream, type CarrierWire } from './simulated-carrier.js'

// A simulated Twilio: a signed voice webhook, then the Media Streams WebSocket with μ-law speech in real
// time, as Twilio sends it; marks are echoed as Twilio does once the audio before them has played.

const AUTH_TOKEN = 'twilio-test-auth-token'
const WEBHOOK_PATH = '/telephony/twilio/voice'

async function callApp (t: Test, providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS }, options: LLMRTCPluginOptions = {}): Promise<{ app: FastifyInstance, base: string }> {
  return await carrierApp(t, providers, { twilio: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL }, options)
}

/** Posts the voice webhook as Twilio does: form fields, signed with X-Twilio-Signature. */
async function postWebhook (base: string, fields: Record<string, string>, signWith = AUTH_TOKEN): Promise<Response> {
  const signature = twilio.getExpectedTwilioSignature(signWith, `${PUBLIC_URL}${WEBHOOK_PATH}`, fields)
  return await fetch(`http://${base}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(fields).toString()
  })
}

function callFields (callSid: string): Record<string, string> {
  return { AccountSid: 'AC0000', CallSid: callSid, From: '+15550100', To: '+15550199', CallStatus: 'ringing', Direction: 'inbound' }
}

/** The stream URL and token of the TwiML answer. */
function parseTwiml (xml: string): { url: string, token: string } {
  const url = /<Stream url="([^"]+)"/.exec(xml)?.[1]
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1]
  if (url === undefined || token === undefined) throw new Error(`unexpected TwiML: ${xml}`)
  return { url, token }
}

const twilioWire: CarrierWire = {
  start: (callSid, streamSid, token) => ({
    event: 'start',
    sequenceNumber: '1',
    start: {
      accountSid: 'AC0000',
      streamSid,
      callSid,
      tracks: ['inbound'],
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      customParameters: { token }
    },
    streamSid
  }),
  media: (streamSid, payload, n) => ({ event: 'media', sequenceNumber: String(n + 2), media: { track: 'inbound', chunk: String(n + 1), timestamp: String(n * 20), payload }, streamSid }),
  // Twilio answers a mark once everything sent before it has played.
  echo: (message, streamSid) => message.event === 'mark' ? { event: 'mark', streamSid, sequenceNumber: '9', mark: message.mark } : undefined,
  audio: (message) => message.event === 'media' ? (message.media as { payload: string }).payload : undefined
}

/** A Media Streams connection: connected + start, then whatever the test sends. */
class TwilioStream extends SimulatedStream {
  constructor (url: string, callSid: string, streamSid = 'MZ' + callSid) {
    super(twilioWire, url, callSid, streamSid)
  }

  override async open (token: string): Promise<void> {
    await once(this.socket, 'open')
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' })
    this.send(this.wire.start(this.callId, this.streamId, token))
  }
}

t.test('a phone call: signed webhook, TwiML with a token, speech in, the answer spoken back with marks', async t => {
  const llm = new ScriptedLLM([['Hello caller, how can I help?']])
  const stt = new ScriptedSTT(['I would like to book a table.'])
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS() })

  const response = await postWebhook(base, callFields('CA1'))
  t.equal(response.status, 200, 'the webhook is answered')
  t.match(response.headers.get('content-type'), /xml/)
  const { url, token } = parseTwiml(await response.text())
  t.equal(url, 'wss://voice.example.test/telephony/twilio/media', 'the stream URL is built from publicUrl')
  t.ok(token.length >= 32, 'a long random per-call token')
  t.equal(app.llmrtcSessions.list().length, 1, 'the call has a session')
  const session = app.llmrtcSessions.list()[0]
  t.match(session?.data.call, { carrier: 'twilio', callId: 'CA1', from: '+15550100' })

  const stream = new TwilioStream(url.replace('wss://voice.example.test', `ws://${base}`), 'CA1')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  const speech = await synthesizeSpeech('I would like to book a table.', 8000)
  await stream.speak(concat(silence(300, 8000), speech, silence(1200, 8000)))

  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.equal(stt.calls.length, 1, 'the caller\'s speech was transcribed once')
  t.ok((stt.calls[0]?.length ?? 0) > speech.length, 'the STT got the whole utterance')
  t.match(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'I would like to book a table.' }, 'the LLM got the transcript')
  const heard = stream.heard()
  t.ok(heard.length > 8000 * 0.2, `the answer was streamed as μ-law media (${heard.length} samples)`)
  t.ok(peak(heard) > 1000, 'the answer is not silence')
  const medias = stream.messages.filter(m => m.event === 'media')
  t.ok(medias.every(m => m.streamSid === 'MZCA1'), 'outbound media carries the streamSid')
  t.ok(stream.audioPayloads().every(payload => payload.length <= 160), 'media messages of at most 20 ms')
  const lastMedia = stream.messages.map(m => m.event).lastIndexOf('media')
  t.ok(stream.messages.map(m => m.event).lastIndexOf('mark') > lastMedia, 'a mark follows the last audio of the answer')
  t.match(session?.history.messages.at(-1), { role: 'assistant', content: 'Hello caller, how can I help?' }, 'the turn completed')

  // Twilio's stop ends the call and its session.
  stream.send({ event: 'stop', sequenceNumber: '99', streamSid: 'MZCA1', stop: { accountSid: 'AC0000', callSid: 'CA1' } })
  await stream.closed
  t.equal(app.llmrtcSessions.list().length, 0, 'stop ended the session')
  t.equal(app.llmrtcPipeline.size, 0, 'and its pipeline')
})

t.test('a bad or missing signature gets 403 and no session', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const wrongKey = await postWebhook(base, callFields('CA2'), 'someone-elses-token')
  t.equal(wrongKey.status, 403, 'signed with another token')
  t.notMatch(await wrongKey.text(), /Stream/, 'no TwiML')
  const unsigned = await fetch(`http://${base}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(callFields('CA2')).toString() })
  t.equal(unsigned.status, 403, 'unsigned')
  // A signed body whose fields were changed afterwards.
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}${WEBHOOK_PATH}`, callFields('CA2'))
  const tampered = await fetch(`http://${base}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: new URLSearchParams(callFields('CA3')).toString() })
  t.equal(tampered.status, 403, 'tampered fields')
  t.equal(app.llmrtcSessions.list().length, 0, 'no session was created')
})

t.test('a wrong, stolen or reused token: the media socket is closed and no call starts', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const first = parseTwiml(await (await postWebhook(base, callFields('CA4'))).text())
  const second = parseTwiml(await (await postWebhook(base, callFields('CA5'))).text())
  t.not(first.token, second.token, 'each call has its own token')
  const streamUrl = `ws://${base}/telephony/twilio/media`
  t.equal(app.llmrtcSessions.list().length, 2)

  const wrong = new TwilioStream(streamUrl, 'CA4')
  await wrong.open('not-the-token')
  t.equal(await wrong.closed, 1008, 'a wrong token: closed with 1008')
  const stolen = new TwilioStream(streamUrl, 'CA5')
  await stolen.open(first.token)
  t.equal(await stolen.closed, 1008, 'another call\'s token: closed with 1008')
  const unknown = new TwilioStream(streamUrl, 'CA404')
  await unknown.open(first.token)
  t.equal(await unknown.closed, 1008, 'an unknown call: closed with 1008')
  t.equal(app.llmrtcSessions.list().length, 2, 'no session was created by the sockets')
  t.equal(app.llmrtcPipeline.size, 0, 'no call media reached the pipeline')

  const real = new TwilioStream(streamUrl, 'CA4')
  t.teardown(() => { real.socket.terminate() })
  await real.open(first.token)
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(real.closeCode, undefined, 'the right token is taken')
  const replay = new TwilioStream(streamUrl, 'CA4')
  await replay.open(first.token)
  t.equal(await replay.closed, 1008, 'a used token: closed with 1008')
  real.socket.close()
  await real.closed
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(app.llmrtcSessions.list().length, 1, 'the socket closing ended its call\'s session only')
})

const LONG_ANSWER = 'This is a rather long answer that keeps going on and on for quite a while, so you can interrupt it.'

t.test('barge-in: the caller speaking over the answer makes the server send clear', async t => {
  // A long answer (about 6 s of speech), so the caller can talk over it.
  const llm = new ScriptedLLM([[LONG_ANSWER]])
  const stt = new ScriptedSTT(['Tell me everything.', 'Stop.'])
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS(60) })
  const { url, token } = parseTwiml(await (await postWebhook(base, callFields('CA6'))).text())
  const stream = new TwilioStream(url.replace('wss://voice.example.test', `ws://${base}`), 'CA6')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  await stream.speak(concat(silence(300, 8000), await synthesizeSpeech('Tell me everything.', 8000), silence(1200, 8000)))
  await stream.waitFor('media')
  t.notOk(stream.messages.some(m => m.event === 'clear'), 'no clear before the caller interrupts')
  await stream.speak(concat(await synthesizeSpeech('Stop stop please stop talking now.', 8000), silence(1200, 8000)))
  const clear = await stream.waitFor('clear')
  t.same(clear, { event: 'clear', streamSid: 'MZCA6' }, 'clear drops what Twilio has buffered')
  await app.llmrtcPipeline.idle()
  const said = app.llmrtcSessions.list()[0]?.history.messages.find(m => m.role === 'assistant')?.content
  t.type(said, 'string', 'the cut answer is in history')
  t.ok(LONG_ANSWER.startsWith(String(said)) && String(said).length < LONG_ANSWER.length, `history keeps only the words Twilio played (marks echoed) before the cut ("${String(said)}")`)
})

t.test('a blip on the line during the answer (a cough, an "ah") pauses it, then the whole answer is heard and no turn starts', async t => {
  const llm = new ScriptedLLM([[LONG_ANSWER]])
  // A second transcription would be a turn: the blip must not reach it.
  const stt = new ScriptedSTT(['Tell me everything.', 'a turn for the blip'])
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS(60) })
  const { url, token } = parseTwiml(await (await postWebhook(base, callFields('CA7'))).text())
  const stream = new TwilioStream(url.replace('wss://voice.example.test', `ws://${base}`), 'CA7')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  // A call has no data channel, so the pipeline's messages (tts-paused…) are read where the session sends them.
  const session = app.llmrtcSessions.list()[0]
  const connection = session?.connection
  if (session === undefined || connection === undefined) throw new Error('no call session')
  const sent: string[] = []
  const send = connection.send
  connection.send = (message) => { sent.push(message.type); send(message) }
  await stream.speak(concat(silence(300, 8000), await synthesizeSpeech('Tell me everything.', 8000), silence(1200, 8000)))
  await stream.waitFor('media')
  const mark = sent.length
  // 150 ms of an "ah": the VAD sees its onset, but it is too short to be confirmed as speech.
  const blip = trimSilence(await synthesizeSpeech('ah', 8000)).subarray(0, 150 * 8)
  await stream.speak(blip)
  // A carrier streams the line's silence all along: the VAD's time runs on it.
  const answer = { played: false }
  const idle = app.llmrtcPipeline.idle().then(() => { answer.played = true })
  while (!answer.played) await stream.speak(silence(200, 8000))
  await idle
  t.same(sent.slice(mark).filter(type => type.startsWith('tts-')), ['tts-paused', 'tts-resumed', 'tts-complete'], 'paused at the onset, resumed, played to the end')
  t.notOk(stream.messages.some(m => m.event === 'clear'), 'no clear: the carrier kept what it had')
  t.equal(llm.requests.length, 1, 'one answer, no turn for the blip')
  t.same(app.llmrtcSessions.list()[0]?.history.messages.map(m => m.content), ['Tell me everything.', LONG_ANSWER], 'the whole answer was heard')
})

t.test('the greeting is said when the call\'s stream starts, and the call pairs onConnection with onDisconnect', async t => {
  const tts = new ScriptedTTS()
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts }, { greeting: 'Welcome to the restaurant.' })
  const events: string[] = []
  app.llmrtc.addHook('onConnection', (sessionId, connectionId) => { events.push(`connect ${connectionId}`) })
  app.llmrtc.addHook('onDisconnect', () => { events.push('disconnect') })
  const { url, token } = parseTwiml(await (await postWebhook(base, callFields('CA7'))).text())
  t.same(tts.spoken, [], 'nothing is said before the stream starts')
  const stream = new TwilioStream(url.replace('wss://voice.example.test', `ws://${base}`), 'CA7')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  await stream.waitFor('mark')
  t.same(tts.spoken, ['Welcome to the restaurant.'], 'the greeting was spoken')
  t.ok(peak(stream.heard()) > 1000, 'and streamed to the caller')
  t.same(events, ['connect call:CA7'])
  stream.socket.close()
  await stream.closed
  await new Promise(resolve => setTimeout(resolve, 100))
  t.same(events, ['connect call:CA7', 'disconnect'], 'hanging up fires onDisconnect')
})

t.test('while the server drains, new calls get 503 (Twilio tries the fallback URL) and no session', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  await app.llmrtcDrain.drain(100)
  const response = await postWebhook(base, callFields('CA8'))
  t.equal(response.status, 503)
  t.equal(app.llmrtcSessions.list().length, 0)
})

t.test('options: off without an auth token, publicUrl required with one, unknown keys refused', async t => {
  const off = await buildApp(t, { webrtc: false, vad: false })
  t.equal((await off.inject({ method: 'POST', url: WEBHOOK_PATH, payload: {} })).statusCode, 404, 'no auth token: no telephony routes')
  const fromEnv = await buildApp(t, { webrtc: false, vad: false, env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, TELEPHONY_PUBLIC_URL: PUBLIC_URL } })
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}${WEBHOOK_PATH}`, callFields('CA9'))
  const answered = await fromEnv.inject({ method: 'POST', url: WEBHOOK_PATH, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, payload: new URLSearchParams(callFields('CA9')).toString() })
  t.equal(answered.statusCode, 200, 'configured from TWILIO_AUTH_TOKEN and TELEPHONY_PUBLIC_URL')
  t.match(answered.body, /<Connect action="https:\/\/voice\.example\.test\/telephony\/twilio\/voice\/stream-ended" method="POST"><Stream url="wss:\/\/voice\.example\.test\/telephony\/twilio\/media">/)
  await t.rejects(buildApp(t, { webrtc: false, vad: false, telephony: { twilio: { authToken: AUTH_TOKEN } } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /telephony\.publicUrl/ })
  await t.rejects(buildApp(t, { webrtc: false, vad: false, telephony: { twilio: { authToken: AUTH_TOKEN }, publicUrl: 'ftp://x' } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  await t.rejects(buildApp(t, { webrtc: false, vad: false, telephony: { twilio: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL, streamTimeoutMs: 0 } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  await t.rejects(buildApp(t, { webrtc: false, vad: false, telephony: { twilio: { authToken: AUTH_TOKEN, region: 'ie1' } as never, publicUrl: PUBLIC_URL } }), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN' })
})

t.test('a call whose stream never starts is dropped, and a socket that starts nothing is closed', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { telephony: { twilio: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL, streamTimeoutMs: 300 } })
  await postWebhook(base, callFields('CA10'))
  t.equal(app.llmrtcSessions.list().length, 1)
  const idle = new WebSocket(`ws://${base}/telephony/twilio/media`)
  t.equal((await once(idle, 'close'))[0], 1008, 'a socket that sends no start is closed with 1008')
  for (let i = 0; i < 50 && app.llmrtcSessions.list().length > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(app.llmrtcSessions.list().length, 0, 'the call without a stream was dropped with its session')
})
