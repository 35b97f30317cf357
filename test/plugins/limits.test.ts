import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { handleChannelMessage } from '../../plugins/webrtc/channel-messages.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { refusedUpgrade } from '../helpers/upgrade.js'
import { connect, connectOverNetwork, until } from '../helpers/ws-client.js'

t.test('a message flood is cut to the rate: RATE_LIMITED once per second at most, and the session stays usable', async t => {
  const clock = new FakeClock()
  const app = await buildApp(t, { clock, maxMessagesPerSecond: 5, messageBurst: 5, heartbeatTimeoutMs: 1_000_000 })
  // Every message (dropped or not) touches its session: that is how the test knows all have arrived.
  let received = 0
  const touch = app.llmrtcSessions.touch.bind(app.llmrtcSessions)
  app.llmrtcSessions.touch = (session) => { received++; touch(session) }
  const client = await connect(app)
  await client.next('ready')
  received = 0

  for (let i = 0; i < 20; i++) client.send({ type: 'ping', timestamp: i })
  await until(() => received === 20, 'the flood')
  const error = await client.next('error')
  t.match(error, { code: 'RATE_LIMITED', message: 'Too many messages: the limit is 5 per second' })
  t.same(client.messages.filter(m => m.type === 'pong').map(m => m.timestamp), [0, 1, 2, 3, 4], 'the burst is answered, the rest dropped')
  t.equal(client.messages.filter(m => m.type === 'error').length, 1, 'one error for the whole flood')

  clock.advance(1000)
  const mark = client.messages.length
  client.send({ type: 'ping', timestamp: 100 })
  t.same(await client.next('pong', mark), { type: 'pong', timestamp: 100 }, 'a second later the session answers again')
  t.ok(app.llmrtcSessions.size === 1 && client.ws.readyState === client.ws.OPEN, 'the connection stayed open')

  for (let i = 0; i < 20; i++) client.send({ type: 'ping', timestamp: 200 + i })
  await until(() => received === 41, 'the second flood')
  await client.next('error', mark)
  client.send({ type: 'ping', timestamp: 300 })
  await until(() => received === 42, 'one more')
  t.equal(client.messages.filter(m => m.type === 'error').length, 2, 'a new second, a new error; then silence')
  client.ws.terminate()
})

t.test('data-channel messages draw from the same bucket as the WebSocket', async t => {
  const clock = new FakeClock()
  const app = await buildApp(t, { clock, webrtc: false, maxMessagesPerSecond: 1, messageBurst: 2, heartbeatTimeoutMs: 1_000_000 })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'ping', timestamp: 1 })
  await client.next('pong')
  const [ctx] = app.llmrtcSignaling.connections()
  if (ctx === undefined) throw new Error('no connection')
  handleChannelMessage(JSON.stringify({ type: 'ping', timestamp: 2 }), ctx, 4096)
  handleChannelMessage(JSON.stringify({ type: 'ping', timestamp: 3 }), ctx, 4096)
  t.match(await client.next('error'), { code: 'RATE_LIMITED' })
  t.same(client.messages.filter(m => m.type === 'pong').map(m => m.timestamp), [1, 2])
  client.ws.terminate()
})

t.test('maxMessagesPerSecond: 0 turns the message limit off', async t => {
  const app = await buildApp(t, { maxMessagesPerSecond: 0 })
  const client = await connect(app)
  await client.next('ready')
  for (let i = 0; i < 300; i++) client.send({ type: 'ping', timestamp: i })
  await until(() => client.messages.filter(m => m.type === 'pong').length === 300, '300 pongs')
  t.equal(client.messages.filter(m => m.type === 'error').length, 0)
  client.ws.terminate()
})

t.test('one IP holds at most maxSessionsPerClient sessions, until one of them ends', async t => {
  const clock = new FakeClock()
  const app = await buildApp(t, { clock, maxSessionsPerClient: 2, reconnectGraceMs: 10_000, heartbeatTimeoutMs: 1_000_000 })
  const first = await connectOverNetwork(app)
  const { id: firstId } = await first.next('ready')
  const second = await connectOverNetwork(app)
  await second.next('ready')
  const third = await connectOverNetwork(app)
  t.match(await third.next('error'), { code: 'SESSION_LIMIT', message: 'This client already holds its maximum of 2 sessions' })
  t.same(await third.closed, { code: 1013, reason: 'session limit' })
  t.equal(third.messages.find(m => m.type === 'ready'), undefined)

  first.ws.close()
  await until(() => app.llmrtcSessions.get(firstId as string)?.connected === false, 'detach')
  const waiting = await connectOverNetwork(app)
  t.match(await waiting.next('error'), { code: 'SESSION_LIMIT' }, 'a session waiting for its reconnect still counts')
  clock.advance(15_000)
  t.equal(app.llmrtcSessions.get(firstId as string), undefined, 'the grace period is over')
  const fourth = await connectOverNetwork(app)
  await fourth.next('ready')
  second.ws.terminate()
  fourth.ws.terminate()
})

t.test('authenticated clients are counted per principal, not per IP', async t => {
  const app = await buildApp(t, { maxSessionsPerClient: 1, authenticate: (request) => request.headers['x-user'] as string | undefined })
  const alice = await connectOverNetwork(app, '/', { 'x-user': 'alice' })
  await alice.next('ready')
  const bob = await connectOverNetwork(app, '/', { 'x-user': 'bob' })
  await bob.next('ready')
  const aliceAgain = await connectOverNetwork(app, '/', { 'x-user': 'alice' })
  t.match(await aliceAgain.next('error'), { code: 'SESSION_LIMIT' })
  alice.ws.terminate()
  bob.ws.terminate()
})

t.test('a resumed session keeps being counted once: the fresh session it replaces is not', async t => {
  const app = await buildApp(t, { maxSessionsPerClient: 2 })
  const first = await connectOverNetwork(app)
  const { id } = await first.next('ready')
  first.ws.close()
  await until(() => app.llmrtcSessions.get(id as string)?.connected === false, 'detach')
  const again = await connectOverNetwork(app)
  await again.next('ready')
  again.send({ type: 'reconnect', sessionId: id })
  await again.next('reconnect-ack')
  const other = await connectOverNetwork(app)
  await other.next('ready')
  t.equal(app.llmrtcSessions.size, 2)
  again.ws.terminate()
  other.ws.terminate()
})

function scripted (): { stt: ScriptedSTT, llm: ScriptedLLM, tts: ScriptedTTS } {
  return { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([['Hi.']]), tts: new ScriptedTTS(1) }
}

t.test('audio over maxAudioBytes gets MESSAGE_TOO_LARGE and audio over maxAudioMs INVALID_AUDIO_FORMAT, without a turn', async t => {
  const providers = scripted()
  const app = await buildApp(t, { webrtc: false, providers, maxAudioBytes: 64 * 1024, maxAudioMs: 1000 })
  const client = await connect(app)
  await client.next('ready')

  const big = encodeWav(new Int16Array(48_000), 16_000).toString('base64')
  client.send({ type: 'audio', data: big })
  t.match(await client.next('error'), { code: 'MESSAGE_TOO_LARGE', message: `Message of ${big.length} bytes exceeds the limit of 65536 bytes` })

  const mark = client.messages.length
  const long = encodeWav(new Int16Array(24_000), 16_000).toString('base64')
  client.send({ type: 'audio', data: `data:audio/wav;base64,${long}` })
  t.match(await client.next('error', mark), { code: 'INVALID_AUDIO_FORMAT', message: 'Unsupported audio: the audio is longer than 1000 ms' })
  t.equal(providers.stt.calls.length, 0, 'no turn ran')

  const short = encodeWav(new Int16Array(8000).fill(1000), 16_000).toString('base64')
  client.send({ type: 'audio', data: short })
  t.match(await client.next('llm'), { text: 'Hi.' }, 'a short utterance still runs its turn')
  client.ws.terminate()
})

t.test('the HTTP rate limit answers 429 on llmrtc routes and the upgrade, not on the app\'s own routes', async t => {
  const app = await buildApp(t, { rateLimit: { max: 3, timeWindow: 60_000 } }, (app) => {
    app.get('/mine', async () => ({ mine: true }))
  })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  const limited = await app.inject({ method: 'GET', url: '/health' })
  t.equal(limited.statusCode, 429)
  t.same(limited.json(), { code: 'RATE_LIMITED', message: 'Too many requests: the limit is 3 per minute' })
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 429, 'the page too')
  const upgrade = await refusedUpgrade(app)
  t.match(upgrade, { status: 429, body: { code: 'RATE_LIMITED' } }, 'the WebSocket upgrade too (loopback is the same IP as inject)')
  t.equal(app.llmrtcSessions.size, 0)
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ method: 'GET', url: '/mine' })).statusCode, 200, 'the app\'s route is not limited')
})

t.test('rateLimit: false turns the HTTP limit off; RATE_LIMIT_MAX sets it from the environment', async t => {
  const off = await buildApp(t, { rateLimit: false })
  for (let i = 0; i < 150; i++) {
    const { statusCode } = await off.inject({ method: 'GET', url: '/health' })
    if (statusCode !== 200) t.fail(`request ${i} got ${statusCode}`)
  }
  const fromEnv = await buildApp(t, { env: { RATE_LIMIT_MAX: '2' } })
  await fromEnv.inject({ method: 'GET', url: '/health' })
  await fromEnv.inject({ method: 'GET', url: '/health' })
  t.equal((await fromEnv.inject({ method: 'GET', url: '/health' })).statusCode, 429)
  const zero = await buildApp(t, { env: { RATE_LIMIT_MAX: '0' } })
  t.equal(zero.llmrtcConfig.rateLimit, false)
})

t.test('the default limits are on', async t => {
  const app = await buildApp(t)
  t.match(app.llmrtcConfig, { maxSessions: 100, maxSessionsPerClient: 10, maxMessagesPerSecond: 50, messageBurst: 100, maxAudioBytes: 3 * 1024 * 1024, maxAudioMs: 60_000, rateLimit: { max: 100, timeWindow: 60_000 }, allowedOrigins: '*', cors: false })
})
