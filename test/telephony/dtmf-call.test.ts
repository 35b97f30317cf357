import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import twilio from 'twilio'
import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import type { Playbook, StageChange } from '../../lib/playbooks/types.js'
import type { DtmfEvent } from '../../lib/telephony/dtmf.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { callApp, PUBLIC_URL, SimulatedStream, streamOf, type CarrierWire } from './simulated-carrier.js'

// DTMF on calls through a simulated carrier: keys the caller presses reach onDtmf, the collect_digits tool
// (its result is what the LLM reads next) and the playbook's dtmf transitions (after the running turn).
// Twilio for the whole path; Telnyx and Plivo for their dtmf messages.

const TWILIO_TOKEN = 'twilio-test-auth-token'

const twilioWire: CarrierWire = {
  start: (callSid, streamSid, token) => ({
    event: 'start',
    sequenceNumber: '1',
    start: { accountSid: 'AC0000', streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: { token } },
    streamSid
  }),
  media: (streamSid, payload, n) => ({ event: 'media', sequenceNumber: String(n + 2), media: { track: 'inbound', chunk: String(n + 1), timestamp: String(n * 20), payload }, streamSid }),
  echo: (message, streamSid) => message.event === 'mark' ? { event: 'mark', streamSid, sequenceNumber: '9', mark: message.mark } : undefined,
  audio: (message) => message.event === 'media' ? (message.media as { payload: string }).payload : undefined
}

/** Resolves once `check` is true (polled), or fails the wait after 10 s. */
async function until (check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** A Twilio call answered and its media stream started: the app, the stream, and a function pressing keys as Twilio reports them. */
async function twilioCall (t: Test, llm: ScriptedLLM, options: LLMRTCPluginOptions = {}): Promise<{ app: FastifyInstance, stream: SimulatedStream, press: (keys: string) => void }> {
  const { app, base } = await callApp(t, { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { twilio: { authToken: TWILIO_TOKEN }, publicUrl: PUBLIC_URL }, options)
  const fields = { AccountSid: 'AC0000', CallSid: 'CA1', From: '+15550100', To: '+15550199', CallStatus: 'ringing', Direction: 'inbound' }
  const response = await fetch(`http://${base}/telephony/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TWILIO_TOKEN, `${PUBLIC_URL}/telephony/twilio/voice`, fields) },
    body: new URLSearchParams(fields).toString()
  })
  const xml = await response.text()
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1] ?? ''
  const stream = new SimulatedStream(twilioWire, streamOf(xml).url.replace('wss://voice.example.test', `ws://${base}`), 'CA1', 'MZCA1')
  t.teardown(() => { stream.socket.terminate() })
  await once(stream.socket, 'open')
  stream.send({ event: 'connected', protocol: 'Call', version: '1.0.0' })
  stream.send(twilioWire.start('CA1', 'MZCA1', token))
  await until(() => app.llmrtcPipeline.size === 1, 'the call media')
  let sequence = 10
  const press = (keys: string): void => {
    for (const digit of keys) stream.send({ event: 'dtmf', streamSid: 'MZCA1', sequenceNumber: String(sequence++), dtmf: { track: 'inbound_track', digit } })
  }
  return { app, stream, press }
}

t.test('Twilio: each key pressed reaches onDtmf, in order, with its time', async t => {
  const { app, press } = await twilioCall(t, new ScriptedLLM([]))
  const session = app.llmrtcSessions.list()[0]
  const seen: Array<{ sessionId: string, event: DtmfEvent }> = []
  app.llmrtc.addHook('onDtmf', (sessionId, event) => { seen.push({ sessionId, event }) })
  const before = Date.now()
  press('1*#')
  await until(() => seen.length === 3, 'three onDtmf')
  t.same(seen.map(s => s.event.digit), ['1', '*', '#'], 'the keys, in the order pressed')
  t.ok(seen.every(s => s.sessionId === session?.id), 'with the call\'s session id')
  t.ok(seen.every(s => s.event.timestamp >= before && s.event.timestamp <= Date.now()), 'and the time each reached the server')
})

t.test('Twilio: the LLM calls collect_digits, the caller presses the keys, the LLM reads them', async t => {
  const llm = new ScriptedLLM([
    { chunks: ['Please enter your four digit PIN.'], toolCalls: [{ callId: 'call-1', name: 'collect_digits', arguments: { count: 4 } }] },
    ['Thank you.']
  ])
  const { app, press } = await twilioCall(t, llm)
  const session = app.llmrtcSessions.list()[0]
  if (session === undefined) throw new Error('no session')
  const dtmf: string[] = []
  const toolStarts: string[] = []
  app.llmrtc.addHook('onDtmf', (_sessionId, event) => { dtmf.push(event.digit) })
  app.llmrtc.addHook('onToolStart', (_ctx, call) => { toolStarts.push(call.name) })
  // A key pressed before the question counts: collect_digits takes the keys since the last collection.
  press('4')
  await until(() => dtmf.length === 1, 'the first key')
  const turn = app.llmrtcPipeline.textTurn(session, 'I want to check my balance.')
  await until(() => toolStarts.length === 1, 'collect_digits to start')
  t.same(toolStarts, ['collect_digits'], 'the call\'s tool is offered and called')
  t.ok(llm.requests[0]?.tools?.some(tool => tool.name === 'collect_digits'), 'the LLM was offered collect_digits')
  press('567')
  press('9')
  const { result } = await turn
  t.equal(result?.outcome, 'completed')
  const toolMessage = llm.requests[1]?.messages.find(m => m.role === 'tool')
  t.match(toolMessage, { role: 'tool', toolCallId: 'call-1' }, 'the LLM\'s next request holds the tool result')
  t.same(JSON.parse(String(toolMessage?.content)), { result: { digits: '4567' } }, 'the four keys: the one pressed before and three during the call')
  await until(() => dtmf.length === 5, 'every onDtmf')
  t.same(dtmf, ['4', '5', '6', '7', '9'], 'every key also reached onDtmf')
})

t.test('collect_digits is offered on calls only', async t => {
  const { app } = await twilioCall(t, new ScriptedLLM([]))
  t.same(app.llmrtcSessions.list()[0]?.transportTools.map(tool => tool.definition.name).filter(name => name === 'collect_digits'), ['collect_digits'], 'a call\'s session has it')
  t.same(app.llmrtcSessions.create(null).transportTools.filter(tool => tool.definition.name === 'collect_digits'), [], 'another session does not')
})

t.test('Twilio: a playbook moves when 1 is pressed, after the turn in progress', async t => {
  const menu: Playbook = {
    id: 'ivr',
    name: 'IVR',
    initialStage: 'menu',
    stages: [
      { id: 'menu', name: 'Menu', systemPrompt: 'Press 1 for sales, 2 for support.' },
      { id: 'sales', name: 'Sales', systemPrompt: 'You sell.' },
      { id: 'support', name: 'Support', systemPrompt: 'You help.' }
    ],
    transitions: [
      { id: 'sales', from: 'menu', condition: { type: 'dtmf', digits: '1' }, action: { targetStage: 'sales', data: { department: 'sales' } } },
      { id: 'support', from: 'menu', condition: { type: 'dtmf', digits: '2' }, action: { targetStage: 'support' } }
    ]
  }
  let release: () => void = () => {}
  const released = new Promise<void>(resolve => { release = resolve })
  // A tool that holds the turn until the test lets it go.
  const hold = defineTool({ name: 'look_up', description: 'Looks up.', parameters: Type.Object({}) }, async () => { await released; return 'done' })
  const llm = new ScriptedLLM([
    { chunks: ['Let me check.'], toolCalls: [{ callId: 'c1', name: 'look_up', arguments: {} }] },
    ['Here you are.']
  ])
  const { app, press } = await twilioCall(t, llm, { playbook: menu, tools: [hold] })
  const session = app.llmrtcSessions.list()[0]
  if (session === undefined) throw new Error('no session')
  const events: string[] = []
  const changes: StageChange[] = []
  app.llmrtc.addHook('onDtmf', (_sessionId, event) => { events.push(`key ${event.digit}`) })
  app.llmrtc.addHook('onToolStart', () => { events.push('tool') })
  app.llmrtc.addHook('onTurnEnd', () => { events.push('turn end') })
  app.llmrtc.addHook('onTransition', (_sessionId, change) => { events.push('transition'); changes.push(change) })

  const turn = app.llmrtcPipeline.textTurn(session, 'Hello?')
  await until(() => events.includes('tool'), 'the turn to hold')
  press('1')
  await until(() => events.includes('key 1'), 'the key')
  // Time enough for a key applied at once to have moved the stage.
  await new Promise(resolve => setTimeout(resolve, 100))
  t.same(changes, [], 'no transition while the turn runs')
  t.match(session.data.playbook, { stageId: 'menu' })
  release()
  await turn
  await app.llmrtcPipeline.idle()
  t.same(events, ['tool', 'key 1', 'turn end', 'transition'], 'the key was applied once the turn ended')
  t.match(changes, [{ from: 'menu', to: 'sales', transitionId: 'sales', reason: 'dtmf: 1' }], 'the dtmf transition fired')
  t.match(session.data, { playbook: { stageId: 'sales' }, department: 'sales' }, 'the session is in the new stage')

  // Between turns a key moves the playbook at once; the keys of the previous stage no longer count.
  press('2')
  await until(() => events.filter(e => e.startsWith('key')).length === 2, 'the second key')
  await app.llmrtcPipeline.idle()
  t.equal(changes.length, 1, 'no transition leaves sales on 2')
  const next = app.llmrtcPipeline.textTurn(session, 'What do you sell?')
  await next
  t.match(llm.requests.at(-1)?.messages[0], { role: 'system', content: /You sell\./ }, 'the next turn speaks in the new stage\'s voice')
})

// Telnyx: a TeXML call whose stream reports keys as Telnyx does.
t.test('Telnyx: dtmf messages reach onDtmf (given as the hooks option)', async t => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const rawKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64')
  const seen: string[] = []
  const { base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { telnyx: { publicKey: rawKey }, publicUrl: PUBLIC_URL }, { hooks: { onDtmf: (_sessionId, event) => { seen.push(event.digit) } } })
  const body = new URLSearchParams({ AccountSid: 'acc', CallSid: 'v3:call-1', From: '+18005550100', To: '+18005550199', CallStatus: 'ringing', Direction: 'inbound' }).toString()
  const timestamp = String(Math.floor(Date.now() / 1000))
  const response = await fetch(`http://${base}/telephony/telnyx/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'telnyx-signature-ed25519': sign(null, Buffer.from(`${timestamp}|${body}`), privateKey).toString('base64'), 'telnyx-timestamp': timestamp },
    body
  })
  const xml = await response.text()
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1] ?? ''
  const wire: CarrierWire = {
    start: (callId, streamId, token) => ({ event: 'start', sequence_number: '1', start: { call_control_id: callId, media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 }, custom_parameters: { token } }, stream_id: streamId }),
    media: () => ({ event: 'noop' }),
    echo: () => undefined,
    audio: () => undefined
  }
  const stream = new SimulatedStream(wire, streamOf(xml).url.replace('wss://voice.example.test', `ws://${base}`), 'v3:call-1')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  stream.send({ event: 'dtmf', sequence_number: '2', stream_id: stream.streamId, occurred_at: new Date().toISOString(), dtmf: { digit: '#' } })
  stream.send({ event: 'dtmf', sequence_number: '3', stream_id: stream.streamId, occurred_at: new Date().toISOString(), dtmf: { digit: '0' } })
  await until(() => seen.length === 2, 'onDtmf')
  t.same(seen, ['#', '0'])
})

// Plivo: an audio stream whose keys come as Plivo's dtmf events.
t.test('Plivo: dtmf messages reach onDtmf', async t => {
  const authToken = 'ZDZlNzI4ZmI5YjQzNzEzNTk2MDM3MjJjNWQ2Mzc1'
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { plivo: { authToken }, publicUrl: PUBLIC_URL })
  const seen: string[] = []
  app.llmrtc.addHook('onDtmf', (_sessionId, event) => { seen.push(event.digit) })
  const fields: Record<string, string> = { CallUUID: 'uuid-1', From: '14155550100', To: '14155550199', Direction: 'inbound', CallStatus: 'ringing', Event: 'StartApp' }
  const nonce = randomBytes(10).toString('hex')
  const signed = `${PUBLIC_URL}/telephony/plivo/voice?${Object.keys(fields).sort().map(name => `${name}${fields[name]}`).join('')}.${nonce}`
  const response = await fetch(`http://${base}/telephony/plivo/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-plivo-signature-v3': createHmac('sha256', authToken).update(signed).digest('base64'), 'x-plivo-signature-v3-nonce': nonce },
    body: new URLSearchParams(fields).toString()
  })
  const xml = await response.text()
  const token = /extraHeaders="token=([^",]*)/.exec(xml)?.[1] ?? ''
  const wire: CarrierWire = {
    start: (callId, streamId, token) => ({ event: 'start', sequenceNumber: 0, start: { callId, streamId, accountId: 'MA0000', tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 } }, extra_headers: JSON.stringify({ token }) }),
    media: () => ({ event: 'noop' }),
    echo: () => undefined,
    audio: () => undefined
  }
  const stream = new SimulatedStream(wire, streamOf(xml).url.replace('wss://voice.example.test', `ws://${base}`), 'uuid-1')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  stream.send({ event: 'dtmf', streamId: stream.streamId, sequenceNumber: 1, dtmf: { digit: '7', track: 'inbound' } })
  await until(() => seen.length === 1, 'onDtmf')
  t.same(seen, ['7'])
})
