import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../helpers/app.js'
import { connect, connectOverNetwork, until } from '../helpers/ws-client.js'
import { startOpenAIRealtimeMock, type OpenAIRealtimeMock } from '../mocks/openai-realtime-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'

// Reconnect in relay mode, through the plugins (WebSocket only: typed text drives the model).
const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const KEY = 'sk-test-realtime-reconnect'

async function start (t: Test): Promise<{ app: FastifyInstance, mock: OpenAIRealtimeMock }> {
  const mock = await startOpenAIRealtimeMock({ cert: tls as NonNullable<typeof tls>, apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { heartbeatTimeoutMs: 1_000_000, realtime: { provider: 'openai', apiKey: KEY, baseURL: mock.baseURL, instructions: 'Be brief.' } })
  return { app, mock }
}

/** The texts of the conversation items a mock connection received (replayed history, typed text). */
function itemTexts (mock: OpenAIRealtimeMock, connection: number): string[] {
  return (mock.connections[connection]?.received ?? [])
    .filter(e => e.type === 'conversation.item.create')
    .map(e => (e.item as { content: Array<{ text: string }> }).content[0]?.text ?? '')
}

t.test('a reconnect in relay mode: the resumed session gets a model that remembers its conversation', async t => {
  const { app, mock } = await start(t)
  mock.script({ transcript: 'Nice to meet you, Ada.', audioMs: 100 }, { transcript: 'Your name is Ada.', audioMs: 100 })
  const first = await connectOverNetwork(app)
  const ready = await first.next('ready')
  t.equal(ready.mode, 'realtime')
  const oldId = ready.id as string
  first.send({ type: 'text', text: 'My name is Ada.' })
  await first.next('assistant-transcript')
  await until(() => app.llmrtcSessions.get(oldId)?.history.length === 2, 'both sides mirrored')
  first.ws.close()
  await until(() => app.llmrtcSessions.get(oldId)?.connected === false, 'detach')
  await until(() => mock.open === 0, 'the model session is not kept running without its client')
  t.equal(app.llmrtcRealtime.size, 0)

  const second = await connect(app)
  t.equal((await second.next('ready')).mode, 'realtime')
  second.send({ type: 'reconnect', sessionId: oldId })
  t.match(await second.next('reconnect-ack'), { success: true, sessionId: oldId, historyRecovered: true })
  await until(() => itemTexts(mock, 2).length >= 2, 'the renewal\'s model session and its items')
  t.same(itemTexts(mock, 2), ['My name is Ada.', 'Nice to meet you, Ada.'], 'the new model session was given the conversation')
  await until(() => mock.open === 1, 'the connection-time model session was replaced')
  t.equal(mock.connections[1]?.open, false)
  t.equal(app.llmrtcRealtime.size, 1)

  const mark = second.messages.length
  second.send({ type: 'text', text: 'What is my name?' })
  const answer = await second.next('assistant-transcript', mark)
  t.match(answer, { text: 'Your name is Ada.' })
  await until(() => app.llmrtcSessions.get(oldId)?.history.length === 4, 'the resumed session mirrors the answer')
  t.match(app.llmrtcSessions.get(oldId)?.history.messages.map(m => m.content), ['My name is Ada.', 'Nice to meet you, Ada.', 'What is my name?', 'Your name is Ada.'])
  t.equal(itemTexts(mock, 2).at(-1), 'What is my name?', 'the text went to the renewed session')
  second.ws.terminate()
})

t.test('a reconnect of a session still connected elsewhere (takeover): one relay, on the new connection', async t => {
  const { app, mock } = await start(t)
  mock.script({ transcript: 'First answer.', audioMs: 100 }, { transcript: 'Second answer.', audioMs: 100 })
  const first = await connectOverNetwork(app)
  const oldId = (await first.next('ready')).id as string
  first.send({ type: 'text', text: 'Hello.' })
  await first.next('assistant-transcript')
  await until(() => app.llmrtcSessions.get(oldId)?.history.length === 2, 'both sides mirrored')

  const second = await connectOverNetwork(app)
  await second.next('ready')
  second.send({ type: 'reconnect', sessionId: oldId })
  t.match(await second.next('reconnect-ack'), { success: true, sessionId: oldId })
  t.equal((await first.closed).code, 4001, 'the earlier connection is closed')
  await until(() => mock.connections.length === 3, 'the renewal\'s model session')
  await until(() => mock.open === 1, 'one model session left')
  t.equal(mock.connections[2]?.open, true, 'the renewed one')
  t.equal(app.llmrtcRealtime.size, 1)
  const mark = second.messages.length
  second.send({ type: 'text', text: 'Again.' })
  t.match(await second.next('assistant-transcript', mark), { text: 'Second answer.' })
  second.ws.terminate()
})

t.test('a reconnect with no conversation yet keeps the connection-time model session', async t => {
  const { app, mock } = await start(t)
  const first = await connectOverNetwork(app)
  const oldId = (await first.next('ready')).id as string
  first.ws.close()
  await until(() => app.llmrtcSessions.get(oldId)?.connected === false, 'detach')
  const second = await connect(app)
  await second.next('ready')
  second.send({ type: 'reconnect', sessionId: oldId })
  t.match(await second.next('reconnect-ack'), { success: true, sessionId: oldId })
  second.send({ type: 'text', text: 'Hi.' })
  await second.next('assistant-transcript')
  t.equal(mock.connections.length, 2, 'no renewal: nothing to remember')
  t.equal(mock.connections[1]?.open, true)
  t.same(itemTexts(mock, 1), ['Hi.'])
  second.ws.terminate()
})

t.test('the model session expiring mid-conversation is renewed: the client sees no error and the model remembers', async t => {
  const { app, mock } = await start(t)
  mock.script({ transcript: 'Nice to meet you, Ada.', audioMs: 100 }, { transcript: 'Your name is Ada.', audioMs: 100 })
  const client = await connect(app)
  t.equal((await client.next('ready')).mode, 'realtime')
  client.send({ type: 'text', text: 'My name is Ada.' })
  await client.next('assistant-transcript')
  await until(() => mock.connections[0]?.received.some(e => e.type === 'response.create') === true && app.llmrtcRealtime.size === 1, 'the first exchange')
  await until(() => (app.llmrtcSessions.get(client.messages[0]?.id as string)?.history.length ?? 0) === 2, 'both sides mirrored')
  mock.expire()
  await until(() => itemTexts(mock, 1).length >= 2, 'the renewed model session and its items')
  t.same(itemTexts(mock, 1), ['My name is Ada.', 'Nice to meet you, Ada.'])
  const mark = client.messages.length
  client.send({ type: 'text', text: 'What is my name?' })
  t.match(await client.next('assistant-transcript', mark), { text: 'Your name is Ada.' })
  t.notOk(client.messages.some(m => m.type === 'error' || m.type === 'mode-changed'), 'no REALTIME_ERROR, no fallback')
  t.equal(mock.open, 1)
  client.ws.terminate()
})
