import { Redis } from 'ioredis'
import t from 'tap'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import type { SessionRecord } from '../../lib/sessions/session-store.js'
import { startCliServer } from '../helpers/cli-server.js'
import { startRedis } from '../helpers/redis-server.js'
import { isolateNetwork, WebRTCTestClient } from '../helpers/webrtc-client.js'
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js'

// A killed server's unanswered question gets answered (issue 18, docs/reliability.md). Two llmrtc server
// processes (the CLI) share one redis-server; the real OpenAI provider streams from a loopback mock of
// the API. The client asks on server A, whose answer streams slowly; A is SIGKILLed in the middle of the
// stream; the client resumes the session on server B with a real WebRTC peer and hears the answer there,
// once its microphone is up. Assertions are on order and content, not durations.
isolateNetwork()

const WAIT_MS = 30_000
const QUESTION = 'What time does the museum open on Sundays?'
// Forty words at 250 ms each: ten seconds of stream, so the kill lands in its middle.
const SLOW_ANSWER = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ')
const ANSWER = 'The museum opens at ten on Sundays.'

/** Polls until `read` gives a value that `holds`; resolves with it. */
async function eventually<T> (read: () => T | Promise<T>, holds: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < WAIT_MS / 50; i++) {
    const value = await read()
    if (holds(value)) return value
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Nothing more is coming for what came so far: a ping's pong closes the window. */
async function settled (client: WebRTCTestClient): Promise<void> {
  const from = client.wsMessages.length
  client.send({ type: 'ping', timestamp: 1 })
  await client.waitFor('pong', { from, timeoutMs: WAIT_MS })
}

const answerTypes = new Set<ServerMessage['type']>(['transcript', 'llm-chunk', 'llm', 'tts-start', 'tts-chunk', 'tts-complete'])

t.test('a server SIGKILLed mid-stream: the client resumes on the other server and hears the answer to its question, once', async t => {
  const redis = await startRedis(t)
  const raw = new Redis(redis.url)
  t.teardown(() => raw.disconnect())
  const mocks: OpenAIMock[] = [await startOpenAIMock({ chunkDelayMs: 250 }), await startOpenAIMock()]
  t.teardown(async () => { await Promise.all(mocks.map(async mock => { await mock.close() })) })
  const [slow, fast] = mocks as [OpenAIMock, OpenAIMock]
  slow.script('chat', { type: 'chat', content: SLOW_ANSWER })
  fast.script('chat', { type: 'chat', content: ANSWER })
  // The LLM is the real OpenAI provider (with each server its own mock); speech is the built-in stand-ins.
  const env = (mock: OpenAIMock): Record<string, string> => ({ REDIS_URL: redis.url, LLM_PROVIDER: 'openai', OPENAI_BASE_URL: mock.baseURL, OPENAI_API_KEY: 'sk-test-key', STT_PROVIDER: 'builtin', TTS_PROVIDER: 'builtin' })
  const [a, b] = await Promise.all([startCliServer(t, env(slow)), startCliServer(t, env(fast))])
  const record = async (id: string): Promise<SessionRecord | undefined> => {
    const text = await raw.get(`llmrtc:session:${id}`)
    return text === null ? undefined : JSON.parse(text) as SessionRecord
  }

  // On A: the question, and the answer streaming slowly.
  const first = await WebRTCTestClient.open(`ws://127.0.0.1:${a.port}/`, { timeoutMs: WAIT_MS })
  t.teardown(() => first.close())
  const id = first.sessionId
  first.send({ type: 'text', text: QUESTION })
  await first.waitFor('llm-chunk', { timeoutMs: WAIT_MS })
  const midStream = await eventually(async () => await record(id), r => r?.openTurn !== undefined, 'the question in Redis')
  t.same(midStream?.history, [{ role: 'user', content: QUESTION }], 'mid-answer, Redis holds the question (written before the LLM was asked), no answer')
  t.type(midStream?.openTurn, 'string', 'with its turn marked open')
  a.child.kill('SIGKILL')
  t.same(await a.exited, { code: null, signal: 'SIGKILL' }, 'server A killed')
  const heardOnA = first.wsMessages.filter(m => m.type === 'llm-chunk').length
  t.ok(heardOnA >= 1 && heardOnA < 40, `the kill landed mid-stream (${heardOnA} of the 41 chunks)`)
  await (await slow.waitForRequest('chat')).closed
  t.ok(first.wsMessages.every(m => m.type !== 'llm'), 'A never finished the answer')

  // On B: resume. Without media yet, nothing is said; with the microphone up, the question is answered.
  const second = await WebRTCTestClient.open(`ws://127.0.0.1:${b.port}/`, { timeoutMs: WAIT_MS })
  t.teardown(() => second.close())
  second.send({ type: 'reconnect', sessionId: id })
  t.same(await second.waitFor('reconnect-ack', { timeoutMs: WAIT_MS }), { type: 'reconnect-ack', success: true, sessionId: id, historyRecovered: true }, 'B resumed the session from Redis')
  await settled(second)
  t.notOk(second.wsMessages.some(m => answerTypes.has(m.type)), 'no answer before the client\'s media is up')
  const mark = second.wsMessages.length
  await second.startWebRTC()
  await second.addMicrophone()
  const transcript = await second.waitFor('transcript', { from: mark, timeoutMs: WAIT_MS })
  t.same(transcript, { type: 'transcript', text: QUESTION, isFinal: true }, 'the question, shown as the turn\'s transcript')
  t.same(await second.waitFor('llm', { from: mark, timeoutMs: WAIT_MS }), { type: 'llm', text: ANSWER }, 'answered on B')
  await second.waitFor('tts-complete', { from: mark, timeoutMs: WAIT_MS })
  await second.audio.waitForSound(1000, WAIT_MS, 0)
  t.pass('the answer was heard on B\'s track')
  const turn = second.wsMessages.slice(mark).map(m => m.type).filter(type => answerTypes.has(type) && type !== 'tts-chunk' && type !== 'llm-chunk')
  t.same(turn, ['transcript', 'tts-start', 'llm', 'tts-complete'], 'the messages of a normal turn, in order')
  const asked = (await fast.waitForRequest('chat')).body.messages as Array<{ role: string, content: string }>
  t.same(asked.filter(m => m.role !== 'system'), [{ role: 'user', content: QUESTION }], 'B\'s LLM was asked the question, once')
  const saved = await eventually(async () => await record(id), r => r?.history.length === 2, 'the answer in Redis')
  t.same(saved?.history, [{ role: 'user', content: QUESTION }, { role: 'assistant', content: ANSWER }], 'the conversation: the question, its answer')
  t.equal(saved?.openTurn, undefined, 'no turn open')

  // The client reconnects once more (to B again): nothing is answered a second time.
  await second.close()
  const third = await WebRTCTestClient.open(`ws://127.0.0.1:${b.port}/`, { timeoutMs: WAIT_MS })
  t.teardown(() => third.close())
  third.send({ type: 'reconnect', sessionId: id })
  t.match(await third.waitFor('reconnect-ack', { timeoutMs: WAIT_MS }), { success: true, sessionId: id })
  await third.startWebRTC()
  await third.addMicrophone()
  await settled(third)
  t.notOk(third.wsMessages.some(m => answerTypes.has(m.type)), 'no second answer')
  t.equal(fast.requestsTo('chat').length, 1, 'one LLM call on B')
  t.match(b.output(), /resumed mid-turn: the question its server left unanswered is answered here/, 'B logged the take-over')
})
