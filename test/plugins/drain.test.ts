import t from 'tap'
import WebSocket from 'ws'
import type { AddressInfo } from 'node:net'
import { encodeWav } from '../../lib/audio/wav.js'
import { MemorySessionStore } from '../../lib/sessions/memory-session-store.js'
import type { SessionRecord } from '../../lib/sessions/session-store.js'
import { buildApp } from '../helpers/app.js'
import { connect, connectOverNetwork } from '../helpers/ws-client.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

const utterance = (): string => encodeWav(new Int16Array(16 * 600).fill(1000), 16_000).toString('base64')

/** An LLM whose first answer waits for `release()` (a turn in progress during the drain). */
function gatedLLM (): { llm: ScriptedLLM, started: Promise<void>, release: () => void } {
  const llm = new ScriptedLLM([['Almost done. ', 'Here it is.']])
  let release = (): void => {}
  let markStarted = (): void => {}
  const started = new Promise<void>(resolve => { markStarted = resolve })
  const gate = new Promise<void>(resolve => { release = resolve })
  const stream = llm.stream.bind(llm)
  llm.stream = async function * (request) {
    markStarted()
    await gate
    yield * stream(request)
  }
  return { llm, started, release }
}

/** Upgrades over the network and resolves with the HTTP status of a refusal (or 101). */
async function upgradeStatus (url: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    ws.on('open', () => { ws.close(); resolve({ status: 101, body: '' }) })
    ws.on('error', (err) => { if (!String(err.message).includes('Unexpected server response')) reject(err) })
  })
}

t.test('draining: /health goes 503, new upgrades are refused, connected clients carry on', async t => {
  const app = await buildApp(t, { webrtc: false, providers: { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
  const before = await app.inject('/health')
  t.same([before.statusCode, before.json()], [200, { ok: true }])
  const client = await connectOverNetwork(app)
  await client.next('ready')
  t.same(await app.llmrtcDrain.drain(1000), { finished: true }, 'nothing was running')
  t.equal(app.llmrtcDrain.draining, true)
  const after = await app.inject('/health')
  t.same([after.statusCode, after.json()], [503, { ok: false, draining: true }])
  const { port } = app.server.address() as AddressInfo
  const refused = await upgradeStatus(`ws://127.0.0.1:${port}/`)
  t.equal(refused.status, 503)
  t.same(JSON.parse(refused.body), { code: 'SESSION_LIMIT', message: 'The server is draining: connect to another server' })
  t.equal(app.llmrtcSessions.size, 1, 'the refused upgrade made no session')
  const page = await app.inject('/')
  t.equal(page.statusCode, 200, 'the page itself still loads')
  client.send({ type: 'ping', timestamp: 7 })
  t.same(await client.next('pong'), { type: 'pong', timestamp: 7 }, 'the connected client is still served')
})

t.test('a drain waits for the turn in progress, then close saves the session and says 1001', async t => {
  const { llm, started, release } = gatedLLM()
  const writes: SessionRecord[] = []
  const store = new MemorySessionStore()
  const set = store.set.bind(store)
  store.set = async (record, ttlMs) => { writes.push(structuredClone(record)); await set(record, ttlMs) }
  const app = await buildApp(t, { webrtc: false, sessionStore: store, providers: { llm, stt: new ScriptedSTT(['are you there']), tts: new ScriptedTTS() } })
  const client = await connectOverNetwork(app)
  const ready = await client.next('ready')
  client.send({ type: 'audio', data: utterance() })
  await started
  let drained = false
  const drain = app.llmrtcDrain.drain(60_000).then((result) => { drained = true; return result })
  await new Promise(resolve => setTimeout(resolve, 50))
  t.notOk(drained, 'the drain waits while the assistant is still answering')
  release()
  t.same(await drain, { finished: true })
  t.same(app.llmrtcSessions.get(ready.id as string)?.history.messages.map(m => m.role), ['user', 'assistant'], 'the turn finished before the drain resolved')
  await client.next('tts-complete')
  await app.close()
  t.equal((await client.closed).code, 1001)
  const last = writes.filter(r => r.id === ready.id).at(-1)
  t.same(last?.history.map(m => m.content), ['are you there', 'Almost done. Here it is.'], 'the whole conversation was saved for a resume elsewhere')
})

t.test('a drain gives up at its deadline when a turn does not finish', async t => {
  const llm = new ScriptedLLM(['hang'])
  const app = await buildApp(t, { webrtc: false, drainTimeoutMs: 30, providers: { llm, stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() } })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: utterance() })
  await client.next('transcript')
  // Keeps the loop alive: the deadline's timer alone may not.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(keepAlive) })
  t.same(await app.llmrtcDrain.drain(), { finished: false })
  t.same(await app.llmrtcDrain.drain(), { finished: false }, 'a second call answers the same')
})

t.test('close writes a connected session\'s record before its socket closes with 1001, even with no turn yet (a client reconnecting elsewhere at once finds it)', async t => {
  const store = new MemorySessionStore()
  const set = store.set.bind(store)
  // A store that takes its time (a Redis round trip): the record lands 30 ms after the write is asked.
  store.set = async (record, ttlMs) => {
    await new Promise(resolve => setTimeout(resolve, 30))
    await set(record, ttlMs)
  }
  const app = await buildApp(t, { webrtc: false, sessionStore: store, providers: { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
  const client = await connectOverNetwork(app)
  const ready = await client.next('ready')
  t.equal(await store.get(ready.id as string), undefined, 'a new session has no record yet')
  const closing = app.close()
  const closed = await client.closed
  t.equal(closed.code, 1001)
  t.equal((await store.get(ready.id as string))?.id, ready.id, 'the record was in the store when the socket closed')
  await closing
})

t.test('a drain while a user is speaking (no turn yet) keeps the event loop running and gives up at its deadline', async t => {
  const app = await buildApp(t, { webrtc: false, drainTimeoutMs: 50, providers: { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
  const client = await connect(app)
  await client.next('ready')
  const session = app.llmrtcSessions.list()[0]
  if (session === undefined) throw new Error('no session')
  const pipeline = app.llmrtcPipeline.for(session)
  pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: new Int16Array(1600).fill(1000) })
  for (let i = 0; i < 30; i++) pipeline.onSpeechEvent({ type: 'speech-audio', samples: new Int16Array(160).fill(1000) })
  t.equal(pipeline.state, 'user-speaking', 'the user is speaking: no turn, nothing pending')
  t.equal(pipeline.busy, false)
  let ticks = 0
  const ticker = setInterval(() => { ticks++ }, 5)
  t.teardown(() => { clearInterval(ticker) })
  t.same(await app.llmrtcDrain.drain(), { finished: false }, 'the deadline fired: the wait did not spin the event loop')
  t.ok(ticks > 0, 'timers ran during the wait')
})
