import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { MemorySessionStore } from '../../lib/sessions/memory-session-store.js'
import { RedisSessionStore } from '../../lib/sessions/redis-session-store.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { cleanEnv, startChild } from '../helpers/child-server.js'
import { startRedis } from '../helpers/redis-server.js'
import { connectOverNetwork, until, type RecordingSocket } from '../helpers/ws-client.js'

// Sessions across servers: llmrtc apps sharing one real redis-server (a child process of this file).

const SYSTEM_PROMPT = 'You are the order desk.'
/** Half a second of quiet 16 kHz speech: the scripted STT decides what was "said". */
const UTTERANCE = encodeWav(new Int16Array(8000).fill(200), 16_000).toString('base64')

const redis = await startRedis(t)
const raw = new Redis(redis.url)
t.teardown(() => raw.disconnect())

interface Server { app: FastifyInstance, llm: ScriptedLLM, logs: Array<Record<string, unknown>> }

/** A server (an llmrtc app with scripted providers, listening on loopback) on the shared Redis. */
async function server (t: Test, said: string[], answers: string[][], options: LLMRTCPluginOptions = {}): Promise<Server> {
  const logs: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _enc, done) { logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done() } })
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  const llm = new ScriptedLLM(answers)
  await app.register(llmrtc, {
    env: { REDIS_URL: redis.url },
    webrtc: false,
    demoPage: false,
    systemPrompt: SYSTEM_PROMPT,
    providers: { llm, stt: new ScriptedSTT(said), tts: new ScriptedTTS(1) },
    ...options
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, llm, logs }
}

/** Sends one utterance and waits for its turn to end (metrics come last). */
async function turn (client: RecordingSocket): Promise<void> {
  const from = client.messages.length
  client.send({ type: 'audio', data: UTTERANCE })
  await client.next('metrics', from)
}

async function storedHistory (id: string, prefix = 'llmrtc:'): Promise<string[]> {
  const text = await raw.get(`${prefix}session:${id}`)
  if (text === null) return []
  return (JSON.parse(text) as { history: Array<{ content: string }> }).history.map(m => m.content)
}

t.test('without REDIS_URL sessions stay in memory; with it, they go to Redis', async t => {
  const plain = await buildApp(t, { webrtc: false })
  t.ok(plain.llmrtcSessions.store instanceof MemorySessionStore)
  const shared = await buildApp(t, { webrtc: false, env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'tenant-a:' } })
  t.ok(shared.llmrtcSessions.store instanceof RedisSessionStore)
  t.equal((shared.llmrtcSessions.store as RedisSessionStore).keyPrefix, 'tenant-a:')
  const mine = new MemorySessionStore()
  const explicit = await buildApp(t, { webrtc: false, sessionStore: mine, env: { REDIS_URL: redis.url } })
  t.equal(explicit.llmrtcSessions.store, mine, 'a sessionStore wins over REDIS_URL')
})

t.test('an unreachable Redis fails ready() at once with LLMRTC_ERR_SESSION_STORE', async t => {
  const gone = await startRedis(t)
  await gone.kill()
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { env: false, webrtc: false, redis: { url: `redis://:sekrit@127.0.0.1:${gone.port}` } })
  const started = Date.now()
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_SESSION_STORE', message: new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${gone.port}`) })
  t.ok(Date.now() - started < 5000, 'without waiting for retries')
  await app.close()
  t.pass('and the app closes')
})

t.test('an ioredis client the application owns is used, and left open at close', async t => {
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const app = Fastify({ logger: false })
  await app.register(llmrtc, { env: false, webrtc: false, redis: client })
  await app.ready()
  t.equal((app.llmrtcSessions.store as RedisSessionStore).client, client)
  await app.close()
  t.notOk(['end', 'close', 'wait'].includes(client.status), `still connected after close (${client.status})`)
  t.equal(await client.ping(), 'PONG', 'and it still answers')
})

t.test('a drained server\'s client resumes on another server with its history (app.close())', async t => {
  const a = await server(t, ['what is the status of order 42'], [['Order 42 shipped on Monday.']])
  const b = await server(t, ['and when does it arrive'], [['On Thursday.']])

  const first = await connectOverNetwork(a.app)
  const { id: oldId } = await first.next('ready') as { id: string }
  await turn(first)
  await until(() => a.app.llmrtcSessions.get(oldId)?.history.length === 2, 'the turn in history')
  t.same(await storedHistory(oldId), ['what is the status of order 42', 'Order 42 shipped on Monday.'], 'written after the turn')

  await a.app.close()
  t.equal((await first.closed).code, 1001, 'the drained server closes with 1001 (going away)')
  t.same(await storedHistory(oldId), ['what is the status of order 42', 'Order 42 shipped on Monday.'], 'the record outlives the server')

  const second = await connectOverNetwork(b.app)
  const { id: freshId } = await second.next('ready') as { id: string }
  second.send({ type: 'reconnect', sessionId: oldId })
  t.same(await second.next('reconnect-ack'), { type: 'reconnect-ack', success: true, sessionId: oldId, historyRecovered: true })
  t.equal(b.app.llmrtcSessions.get(freshId), undefined, 'B dropped the fresh session')
  await turn(second)
  t.same(b.llm.requests[0]?.messages.map(m => `${m.role}: ${m.content}`), [
    `system: ${SYSTEM_PROMPT}`,
    'user: what is the status of order 42',
    'assistant: Order 42 shipped on Monday.',
    'user: and when does it arrive'
  ], 'B\'s LLM got the conversation held on A')
  await until(() => b.app.llmrtcSessions.get(oldId)?.history.length === 4, 'the new turn')
  t.same((await storedHistory(oldId)).slice(-2), ['and when does it arrive', 'On Thursday.'], 'B writes after its turn too')
  second.ws.terminate()
})

t.test('a client that moves to another server while the first stays up leaves no copy there to overwrite it', async t => {
  const a = await server(t, ['first question', 'back on A'], [['First answer.'], ['Answer on A.']])
  const b = await server(t, ['second question'], [['Second answer.']])
  const first = await connectOverNetwork(a.app)
  const { id } = await first.next('ready') as { id: string }
  await turn(first)
  first.ws.close()
  await until(() => a.app.llmrtcSessions.get(id) === undefined, 'A hands the session off to Redis')

  const second = await connectOverNetwork(b.app)
  await second.next('ready')
  second.send({ type: 'reconnect', sessionId: id })
  t.match(await second.next('reconnect-ack'), { success: true, historyRecovered: true })
  await turn(second)
  second.ws.close()
  await until(() => b.app.llmrtcSessions.get(id) === undefined, 'B hands it off too')

  const third = await connectOverNetwork(a.app)
  await third.next('ready')
  third.send({ type: 'reconnect', sessionId: id })
  t.match(await third.next('reconnect-ack'), { success: true, sessionId: id, historyRecovered: true })
  await turn(third)
  t.same(a.llm.requests[1]?.messages.map(m => m.content).slice(1), ['first question', 'First answer.', 'second question', 'Second answer.', 'back on A'], 'back on A, the turn held on B is there')
  third.ws.terminate()
})

t.test('a server killed without closing: its client resumes elsewhere from the record of its last turn', async t => {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const script = `
    import Fastify from 'fastify'
    import llmrtc from ${JSON.stringify(`${root}plugins/llmrtc/index.ts`)}
    const app = Fastify({ logger: false })
    await app.register(llmrtc, { env: { REDIS_URL: process.env.REDIS_URL }, webrtc: false, demoPage: false })
    await app.listen({ port: 0, host: '127.0.0.1' })
    console.log('listening on ' + app.server.address().port)
  `
  const child = startChild(t, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], cleanEnv({ REDIS_URL: redis.url }))
  const [, port] = await child.waitFor(/listening on (\d+)/)
  const first = await connectOverNetwork(fakeAppAt(Number(port)))
  const { id } = await first.next('ready') as { id: string }
  await turn(first)
  for (let i = 0; i < 100 && (await storedHistory(id)).length < 2; i++) await new Promise(resolve => setTimeout(resolve, 20))
  const heard = await storedHistory(id)
  t.match(heard[0], /I heard 0\.5 seconds of speech/, 'the built-in STT of the child answered')

  child.child.kill('SIGKILL')
  await child.exited
  t.not((await first.closed).code, 1001, 'no goodbye from a killed server')

  const b = await server(t, ['still there?'], [['Yes.']])
  const second = await connectOverNetwork(b.app)
  await second.next('ready')
  second.send({ type: 'reconnect', sessionId: id })
  t.same(await second.next('reconnect-ack'), { type: 'reconnect-ack', success: true, sessionId: id, historyRecovered: true })
  await turn(second)
  t.same(b.llm.requests[0]?.messages.slice(1, 3).map(m => m.content), heard, 'the killed server\'s turn is in the next request')
  second.ws.terminate()
})

t.test('Redis going down mid-session: turns keep working, errors are logged, a reconnect to the same server still resumes', async t => {
  const own = await startRedis(t)
  const s = await server(t, ['one', 'two', 'three'], [['One.'], ['Two.'], ['Three.']], { env: { REDIS_URL: own.url } })
  const first = await connectOverNetwork(s.app)
  const { id } = await first.next('ready') as { id: string }
  await turn(first)
  await own.kill()
  await turn(first)
  t.equal(s.app.llmrtcSessions.get(id)?.history.length, 4, 'the turn ran without Redis')
  await until(() => s.logs.some(l => l.msg === 'session store write failed'), 'the failed write is logged')
  await until(() => s.logs.some(l => typeof l.msg === 'string' && l.msg.startsWith('Redis unreachable')), 'the outage is logged')
  first.ws.close()
  await until(() => s.app.llmrtcSessions.get(id)?.connected === false, 'detach')
  await new Promise(resolve => setTimeout(resolve, 50))
  t.ok(s.app.llmrtcSessions.get(id), 'the record could not be written, so the session waits here')
  const second = await connectOverNetwork(s.app)
  await second.next('ready')
  second.send({ type: 'reconnect', sessionId: id })
  t.match(await second.next('reconnect-ack'), { success: true, sessionId: id, historyRecovered: true })
  await turn(second)
  t.same(s.llm.requests[2]?.messages.map(m => m.content).slice(1), ['one', 'One.', 'two', 'Two.', 'three'])
  second.ws.terminate()
})

/** connectOverNetwork only needs `server.listening` and `server.address()` of an app. */
function fakeAppAt (port: number): FastifyInstance {
  return { server: { listening: true, address: () => ({ port }) } } as unknown as FastifyInstance
}
