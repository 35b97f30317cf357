import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import twilio from 'twilio'
import WebSocket from 'ws'
import { encodeWav } from '../../lib/audio/wav.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { connectOverNetwork } from '../helpers/ws-client.js'
import { callApp, PUBLIC_URL, SimulatedStream, type CarrierWire } from '../telephony/simulated-carrier.js'

// Sessions, turns and latencies by transport, and phone calls by carrier: a WebSocket session and a
// Twilio call in one app, each counted under its own label.

const AUTH_TOKEN = 'twilio-test-auth-token'
const WEBHOOK_PATH = '/telephony/twilio/voice'

/** The value of one sample (`name{labels} value`); undefined when absent. */
function sample (text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(labels === '' ? `${name} ` : `${name}{${labels}} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

async function scrape (app: FastifyInstance): Promise<string> {
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  if (response.statusCode !== 200) throw new Error(`GET /metrics: ${response.statusCode}`)
  return response.body
}

async function answerCall (base: string, callSid: string): Promise<{ url: string, token: string }> {
  const fields = { AccountSid: 'AC0000', CallSid: callSid, From: '+15550100', To: '+15550199', CallStatus: 'ringing', Direction: 'inbound' }
  const response = await fetch(`http://${base}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}${WEBHOOK_PATH}`, fields) },
    body: new URLSearchParams(fields).toString()
  })
  const xml = await response.text()
  const url = /<Stream url="([^"]+)"/.exec(xml)?.[1]
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1]
  if (url === undefined || token === undefined) throw new Error(`unexpected TwiML: ${xml}`)
  return { url: url.replace('wss://voice.example.test', `ws://${base}`), token }
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

t.test('a WebSocket session and a phone call are counted under their transports; calls by carrier and outcome', async t => {
  const llm = new ScriptedLLM([['Hello over the WebSocket.'], ['Hello on the phone.']])
  const stt = new ScriptedSTT(['hi from a browser', 'hi from a phone'])
  const telephony = { twilio: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL, streamTimeoutMs: 400 }
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS(1) }, telephony)

  const before = await scrape(app)
  for (const transport of ['webrtc', 'call', 'device', 'websocket']) {
    t.equal(sample(before, 'llmrtc_active_sessions', `transport="${transport}"`), 0, `${transport}: no session yet`)
    t.equal(sample(before, 'llmrtc_turns_total', `outcome="completed",transport="${transport}"`), 0, `${transport}: turns start at 0`)
  }

  // A session over the signaling WebSocket alone: one turn through the `audio` message.
  const client = await connectOverNetwork(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  const from = client.messages.length
  client.send({ type: 'audio', data: encodeWav(new Int16Array(8000).fill(1000), 16_000).toString('base64') })
  await client.next('metrics', from)

  // A phone call: answered, its stream started, one spoken turn.
  const call = await answerCall(base, 'CA1')
  const answered = await scrape(app)
  t.equal(sample(answered, 'llmrtc_active_sessions', 'transport="call"'), 1, 'the answered call is a session of transport call')
  t.equal(sample(answered, 'llmrtc_active_sessions', 'transport="websocket"'), 1, 'the WebSocket session is one of transport websocket')
  t.equal(sample(answered, 'llmrtc_calls_active', 'carrier="twilio"'), 1, 'one Twilio call in progress')
  const stream = new SimulatedStream(twilioWire, call.url, 'CA1', 'MZ1')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(call.token)
  await stream.speak(concat(silence(300, 8000), await synthesizeSpeech('Hi from a phone.', 8000), silence(1200, 8000)))
  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()

  const during = await scrape(app)
  t.equal(sample(during, 'llmrtc_turns_total', 'outcome="completed",transport="websocket"'), 1, 'the WebSocket turn')
  t.equal(sample(during, 'llmrtc_turns_total', 'outcome="completed",transport="call"'), 1, 'the call\'s turn')
  t.equal(sample(during, 'llmrtc_turns_total', 'outcome="completed",transport="webrtc"'), 0, 'no WebRTC turn')
  t.equal(sample(during, 'llmrtc_voice_to_voice_seconds_count', 'transport="call"'), 1, 'the call\'s voice-to-voice latency')
  t.equal(sample(during, 'llmrtc_voice_to_voice_seconds_count', 'transport="websocket"'), 1, 'the WebSocket\'s')
  t.equal(sample(during, 'llmrtc_turn_duration_seconds_count', 'outcome="completed",transport="call"'), 1)

  // The caller hangs up: Twilio's stop.
  stream.send({ event: 'stop', streamSid: 'MZ1', stop: { accountSid: 'AC0000', callSid: 'CA1' } })
  await stream.closed
  // A second call whose stream never starts (streamTimeoutMs 400).
  await answerCall(base, 'CA2')
  for (let i = 0; i < 100 && app.llmrtcSessions.list().some(s => s.transport === 'call'); i++) await new Promise(resolve => setTimeout(resolve, 20))

  const after = await scrape(app)
  t.equal(sample(after, 'llmrtc_calls_total', 'carrier="twilio",outcome="completed"'), 1, 'the hung-up call: completed')
  t.equal(sample(after, 'llmrtc_calls_total', 'carrier="twilio",outcome="no-stream"'), 1, 'the call without a stream: no-stream')
  t.equal(sample(after, 'llmrtc_calls_total', 'carrier="twilio",outcome="dropped"'), 0, 'outcomes start at 0')
  t.equal(sample(after, 'llmrtc_calls_active', 'carrier="twilio"'), 0, 'no call in progress')
  t.equal(sample(after, 'llmrtc_active_sessions', 'transport="call"'), 0, 'no call session left')
  t.equal(sample(after, 'llmrtc_active_sessions', 'transport="websocket"'), 1, 'the WebSocket session is still there')
  client.ws.close()
  await once(client.ws, 'close')
})

t.test('a device\'s session is counted under transport device', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { twilio: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL }, { device: {} })
  const device = new WebSocket(`ws://${base}/device`)
  t.teardown(() => { device.terminate() })
  await once(device, 'open')
  const ready = new Promise<unknown>(resolve => { device.on('message', (data, isBinary) => { if (!isBinary) resolve(JSON.parse(data.toString())) }) })
  device.send(JSON.stringify({ type: 'start', codec: 'pcm16', sampleRate: 16000 }))
  t.match(await ready, { type: 'ready' }, 'the device started')
  const text = await scrape(app)
  t.equal(sample(text, 'llmrtc_active_sessions', 'transport="device"'), 1, 'one device session')
  t.equal(sample(text, 'llmrtc_active_sessions', 'transport="websocket"'), 0, 'not counted as a WebSocket session')
})
