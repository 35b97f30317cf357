import { once } from 'node:events'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { parseDeviceControl } from '../../lib/device/device-protocol.js'
import { buildApp } from '../helpers/app.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

// A device with a keypad: `start` with `keypad: true` offers collect_digits, and `{ type: 'dtmf', digit }`
// messages reach onDtmf and the tool as a caller's keys do on a phone call.

interface Control { type: string, [key: string]: unknown }

async function until (check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function device (t: Test, llm: ScriptedLLM, start: object): Promise<{ app: FastifyInstance, socket: WebSocket, controls: Control[] }> {
  const app = await buildApp(t, { webrtc: false, providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, device: {} })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const socket = new WebSocket(`ws://127.0.0.1:${address.port}/device`)
  t.teardown(() => { socket.terminate() })
  const controls: Control[] = []
  socket.on('message', (data, isBinary) => {
    if (isBinary) return
    const control = JSON.parse(data.toString()) as Control
    controls.push(control)
    // A device answers a mark once the audio before it has played.
    if (control.type === 'mark') socket.send(JSON.stringify({ type: 'played', mark: control.mark }))
  })
  await once(socket, 'open')
  socket.send(JSON.stringify(start))
  await until(() => controls.some(c => c.type === 'ready') && app.llmrtcPipeline.size === 1, 'ready')
  return { app, socket, controls }
}

t.test('parsing: dtmf needs one key, keypad a boolean', async t => {
  t.same(parseDeviceControl('{"type":"dtmf","digit":"#"}'), { type: 'dtmf', digit: '#' })
  t.throws(() => parseDeviceControl('{"type":"dtmf","digit":"12"}'), { code: 'INVALID_MESSAGE', message: /dtmf\.digit/ })
  t.throws(() => parseDeviceControl('{"type":"dtmf"}'), { code: 'INVALID_MESSAGE' })
  t.match(parseDeviceControl('{"type":"start","codec":"mulaw","keypad":true}'), { type: 'start', keypad: true })
  t.notOk('keypad' in (parseDeviceControl('{"type":"start","codec":"mulaw","keypad":false}') ?? {}), 'false is the default')
  t.throws(() => parseDeviceControl('{"type":"start","codec":"mulaw","keypad":"yes"}'), { code: 'INVALID_MESSAGE', message: /start\.keypad/ })
})

t.test('a device with a keypad: collect_digits takes its keys, onDtmf sees them', async t => {
  const llm = new ScriptedLLM([
    { chunks: ['Enter the code, then the hash key.'], toolCalls: [{ callId: 'k1', name: 'collect_digits', arguments: { terminator: '#' } }] },
    ['Done.']
  ])
  const { app, socket } = await device(t, llm, { type: 'start', codec: 'mulaw', sampleRate: 8000, keypad: true })
  const session = app.llmrtcSessions.list()[0]
  if (session === undefined) throw new Error('no session')
  const seen: string[] = []
  let toolStarted = false
  app.llmrtc.addHook('onDtmf', (_sessionId, event) => { seen.push(event.digit) })
  app.llmrtc.addHook('onToolStart', () => { toolStarted = true })
  const turn = app.llmrtcPipeline.textTurn(session, 'Open the door.')
  await until(() => toolStarted, 'collect_digits')
  for (const digit of '42#') socket.send(JSON.stringify({ type: 'dtmf', digit }))
  await turn
  t.ok(llm.requests[0]?.tools?.some(tool => tool.name === 'collect_digits'), 'offered to a device with a keypad')
  t.same(JSON.parse(String(llm.requests[1]?.messages.find(m => m.role === 'tool')?.content)), { result: { digits: '42' } }, 'the keys before the terminator')
  t.same(seen, ['4', '2', '#'])
})

t.test('a device without a keypad: no collect_digits, its keys still reach onDtmf; a bad key closes with 1007', async t => {
  const llm = new ScriptedLLM([['Hello.']])
  const { app, socket, controls } = await device(t, llm, { type: 'start', codec: 'mulaw', sampleRate: 8000 })
  const session = app.llmrtcSessions.list()[0]
  if (session === undefined) throw new Error('no session')
  const seen: string[] = []
  app.llmrtc.addHook('onDtmf', (_sessionId, event) => { seen.push(event.digit) })
  socket.send(JSON.stringify({ type: 'dtmf', digit: '5' }))
  await until(() => seen.length === 1, 'onDtmf')
  t.same(seen, ['5'])
  await app.llmrtcPipeline.textTurn(session, 'Hi.')
  t.notOk(llm.requests[0]?.tools?.some(tool => tool.name === 'collect_digits'), 'not offered')
  const closed = once(socket, 'close')
  socket.send(JSON.stringify({ type: 'dtmf', digit: 'x' }))
  t.equal((await closed)[0], 1007)
  t.match(controls.at(-1), { type: 'error', code: 'INVALID_MESSAGE' })
})
