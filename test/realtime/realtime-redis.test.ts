import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import llmrtc from '../../plugins/llmrtc/index.js'
import { cleanEnv, startChild } from '../helpers/child-server.js'
import { startRedis } from '../helpers/redis-server.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { connectOverNetwork, until, type RecordingSocket } from '../helpers/ws-client.js'
import type { ReceivedMessage } from '../../testing/recording-socket.js'
import { startOpenAIRealtimeMock, type OpenAIRealtimeMock } from '../mocks/openai-realtime-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'

// Relay mode across servers: llmrtc apps in relay mode (one OpenAI Realtime mock over wss:) sharing one
// real redis-server (a child process of this file) through the Redis session store. Typed text drives
// the model (WebSocket only).
const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const KEY = 'sk-test-realtime-redis'
const MODEL = 'gpt-realtime'

const redis = tls === undefined ? undefined : await startRedis(t)
const raw = redis === undefined ? undefined : new Redis(redis.url)
t.teardown(() => raw?.disconnect())

async function startMock (t: Test): Promise<OpenAIRealtimeMock> {
  const mock = await startOpenAIRealtimeMock({ cert: tls as NonNullable<typeof tls>, apiKey: KEY })
  t.teardown(() => mock.close())
  return mock
}

/** An llmrtc app in relay mode on the mock and the shared Redis, listening on loopback. */
async function relayServer (t: Test, mock: OpenAIRealtimeMock): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    env: { REDIS_URL: (redis as NonNullable<typeof redis>).url },
    webrtc: false,
    demoPage: false,
    heartbeatTimeoutMs: 1_000_000,
    realtime: { provider: 'openai', apiKey: KEY, baseURL: mock.baseURL, model: MODEL, instructions: 'Be brief.' }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

/** The texts of the conversation items a mock connection received (replayed history, typed text). */
function itemTexts (mock: OpenAIRealtimeMock, connection: number): string[] {
  return (mock.connections[connection]?.received ?? [])
    .filter(e => e.type === 'conversation.item.create')
    .map(e => (e.item as { content: Array<{ text: string }> }).content[0]?.text ?? '')
}

/** The items' roles and texts a mock connection received. */
function items (mock: OpenAIRealtimeMock, connection: number): string[] {
  return (mock.connections[connection]?.received ?? [])
    .filter(e => e.type === 'conversation.item.create')
    .map(e => e.item as { role: string, content: Array<{ text: string }> })
    .map(item => `${item.role}: ${item.content[0]?.text ?? ''}`)
}

async function storedHistory (id: string): Promise<string[]> {
  const text = await (raw as Redis).get(`llmrtc:session:${id}`)
  if (text === null) return []
  return (JSON.parse(text) as { history: Array<{ content: string }> }).history.map(m => m.content)
}

/** Sends a typed text and resolves with the model's final answer. */
async function say (client: RecordingSocket, text: string): Promise<string> {
  const mark = client.messages.length
  const final = (): ReceivedMessage | undefined => client.messages.slice(mark).find(m => m.type === 'assistant-transcript' && m.isFinal === true)
  client.send({ type: 'text', text })
  await until(() => final() !== undefined, `the answer to "${text}"`)
  return (final() as ReceivedMessage).text as string
}

/** Polls an async condition (Redis, /metrics) until it holds. */
async function eventually (condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await condition()) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** The value of llmrtc_realtime_tokens_total for `kind` on an app's /metrics (0 when absent). */
async function tokens (app: FastifyInstance, kind: string): Promise<number> {
  const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const match = body.match(new RegExp(`llmrtc_realtime_tokens_total\\{model="${MODEL}",kind="${kind}"\\} (\\d+)`))
  return match === null ? 0 : Number(match[1])
}

/** On B: a reconnect to the session held on A; B's new model session is given the conversation and answers. */
async function resumeOn (t: Test, b: FastifyInstance, mock: OpenAIRealtimeMock, id: string, earlier: string[]): Promise<RecordingSocket> {
  const before = mock.connections.length
  const second = await connectOverNetwork(b)
  const ready = await second.next('ready')
  t.equal(ready.mode, 'realtime', 'B says ready{mode: realtime}')
  await until(() => mock.connections.length === before + 1, 'B\'s connection-time model session')
  second.send({ type: 'reconnect', sessionId: id })
  t.same(await second.next('reconnect-ack'), { type: 'reconnect-ack', success: true, sessionId: id, historyRecovered: true })
  t.equal(b.llmrtcSessions.get(ready.id as string), undefined, 'B dropped the fresh session')
  await until(() => mock.connections.length === before + 2 && itemTexts(mock, before + 1).length >= earlier.length, 'the renewal\'s model session and its items')
  t.same(items(mock, before + 1), earlier, 'B\'s new model session was given the conversation held on A')
  await until(() => mock.connections[before]?.open === false, 'B\'s connection-time model session was replaced')
  t.equal(b.llmrtcRealtime.size, 1, 'one relay on B')
  return second
}

t.test('a drained relay server\'s client resumes on another one (app.close()): the model there is given the conversation', async t => {
  const mock = await startMock(t)
  mock.script({ transcript: 'Nice to meet you, Ada.', audioMs: 100 }, { transcript: 'Your name is Ada.', audioMs: 100 })
  const a = await relayServer(t, mock)
  const b = await relayServer(t, mock)

  const first = await connectOverNetwork(a)
  const ready = await first.next('ready')
  t.equal(ready.mode, 'realtime')
  const id = ready.id as string
  t.equal(await say(first, 'My name is Ada.'), 'Nice to meet you, Ada.')
  await until(() => a.llmrtcSessions.get(id)?.history.length === 2, 'both sides mirrored')
  await eventually(async () => await tokens(a, 'output') > 0, 'A counts the response\'s tokens')
  t.equal(await tokens(a, 'input'), 100, 'A\'s /metrics: the relay response\'s input tokens (the mock\'s usage)')
  t.equal(await tokens(a, 'output'), 50)
  t.equal(await tokens(a, 'audio_output'), 40)

  await a.close()
  t.equal((await first.closed).code, 1001, 'the drained server closes with 1001 (going away)')
  t.same(await storedHistory(id), ['My name is Ada.', 'Nice to meet you, Ada.'], 'the mirrored conversation is in Redis')
  await until(() => mock.open === 0, 'A\'s model session closed with A')

  const second = await resumeOn(t, b, mock, id, ['user: My name is Ada.', 'assistant: Nice to meet you, Ada.'])
  t.equal(await say(second, 'What is my name?'), 'Your name is Ada.', 'a new turn on B')
  t.equal(itemTexts(mock, mock.connections.length - 1).at(-1), 'What is my name?', 'the text went to B\'s renewed model session')
  await until(() => b.llmrtcSessions.get(id)?.history.length === 4, 'B mirrors the new turn')
  await eventually(async () => (await storedHistory(id)).length === 4, 'B writes the turn to Redis')
  t.same((await storedHistory(id)).slice(-2), ['What is my name?', 'Your name is Ada.'])
  await eventually(async () => await tokens(b, 'output') > 0, 'B counts its response\'s tokens')
  t.equal(await tokens(b, 'input'), 100, 'B\'s /metrics: the relay response on B')
  t.equal(await tokens(b, 'output'), 50)
  second.ws.terminate()
})

t.test('a client that leaves a relay server that stays up resumes on another one', async t => {
  const mock = await startMock(t)
  mock.script({ transcript: 'Order 42 shipped.', audioMs: 100 }, { transcript: 'On Thursday.', audioMs: 100 })
  const a = await relayServer(t, mock)
  const b = await relayServer(t, mock)
  const first = await connectOverNetwork(a)
  const id = (await first.next('ready')).id as string
  t.equal(await say(first, 'Where is order 42?'), 'Order 42 shipped.')
  await until(() => a.llmrtcSessions.get(id)?.history.length === 2, 'both sides mirrored')
  first.ws.close()
  await until(() => a.llmrtcSessions.get(id) === undefined, 'A hands the session off to Redis')
  await until(() => mock.open === 0, 'A\'s model session is not kept running without its client')
  t.equal(a.llmrtcRealtime.size, 0)

  const second = await resumeOn(t, b, mock, id, ['user: Where is order 42?', 'assistant: Order 42 shipped.'])
  t.equal(await say(second, 'When does it arrive?'), 'On Thursday.')
  await eventually(async () => await tokens(b, 'input') > 0, 'B counts its response\'s tokens')
  t.equal(await tokens(b, 'input'), 100, 'B\'s /metrics: the response on B')
  t.equal(await tokens(a, 'input'), 100, 'A\'s /metrics: only the response on A')
  second.ws.terminate()
})

t.test('a relay server killed without closing: its client resumes elsewhere from the record of its last turn', async t => {
  const mock = await startMock(t)
  mock.script({ transcript: 'Hello, Grace.', audioMs: 100 }, { transcript: 'You are Grace.', audioMs: 100 })
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const caFile = join(scratchDir(), 'ca.pem')
  writeFileSync(caFile, (tls as NonNullable<typeof tls>).cert)
  const script = `
    import Fastify from 'fastify'
    import llmrtc from ${JSON.stringify(`${root}plugins/llmrtc/index.ts`)}
    const app = Fastify({ logger: false })
    await app.register(llmrtc, {
      env: { REDIS_URL: process.env.REDIS_URL }, webrtc: false, demoPage: false, heartbeatTimeoutMs: 1000000,
      realtime: { provider: 'openai', apiKey: ${JSON.stringify(KEY)}, baseURL: ${JSON.stringify(mock.baseURL)}, model: ${JSON.stringify(MODEL)} }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    console.log('listening on ' + app.server.address().port)
  `
  const child = startChild(t, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], cleanEnv({ REDIS_URL: (redis as NonNullable<typeof redis>).url, NODE_EXTRA_CA_CERTS: caFile }))
  const [, port] = await child.waitFor(/listening on (\d+)/)
  const first = await connectOverNetwork(fakeAppAt(Number(port)))
  const ready = await first.next('ready')
  t.equal(ready.mode, 'realtime', 'the child is in relay mode')
  const id = ready.id as string
  t.equal(await say(first, 'I am Grace.'), 'Hello, Grace.')
  await eventually(async () => (await storedHistory(id)).length === 2, 'the relay turn is written to Redis')
  t.same(await storedHistory(id), ['I am Grace.', 'Hello, Grace.'])

  child.child.kill('SIGKILL')
  await child.exited
  t.not((await first.closed).code, 1001, 'no goodbye from a killed server')
  await until(() => mock.open === 0, 'the killed server\'s model session dropped')

  const b = await relayServer(t, mock)
  const second = await resumeOn(t, b, mock, id, ['user: I am Grace.', 'assistant: Hello, Grace.'])
  t.equal(await say(second, 'Who am I?'), 'You are Grace.')
  second.ws.terminate()
})

/** connectOverNetwork only needs `server.listening` and `server.address()` of an app. */
function fakeAppAt (port: number): FastifyInstance {
  return { server: { listening: true, address: () => ({ port }) } } as unknown as FastifyInstance
}
