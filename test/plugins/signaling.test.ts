import Fastify from 'fastify'
import t from 'tap'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcHooks from '../../plugins/hooks/index.js'
import llmrtcProviders from '../../plugins/providers/index.js'
import llmrtcSessions from '../../plugins/sessions/index.js'
import llmrtcSignaling from '../../plugins/signaling/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { connect, connectOverNetwork, until } from '../helpers/ws-client.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('a client gets ready with a fresh session id, then pong for ping', async t => {
  const app = await buildApp(t, { iceServers: [{ urls: 'stun:stun.example.invalid:3478' }] })
  const client = await connect(app)
  const ready = await client.next('ready')
  t.match(ready, { type: 'ready', protocolVersion: 1, iceServers: [{ urls: 'stun:stun.example.invalid:3478' }] })
  t.match(ready.id, UUID_V4)
  t.ok(app.llmrtcSessions.get(ready.id as string)?.connected)
  client.send({ type: 'ping', timestamp: 12345 })
  t.same(await client.next('pong'), { type: 'pong', timestamp: 12345 })
  client.ws.terminate()
})

t.test('bad input is answered with INVALID_MESSAGE and the session stays usable', async t => {
  const app = await buildApp(t)
  const client = await connect(app)
  await client.next('ready')
  const bad = ['{oops', '[]', '{"type":1}', '{"type":"ping"}', '{"type":"ping","timestamp":"x"}', '{"type":"reconnect","sessionId":5}', '{"type":"offer","signal":{"type":"offer"}}', '{"type":"attachments","attachments":"nope"}']
  for (const text of bad) client.send(text)
  client.send({ type: 'ping', timestamp: 1 })
  await client.next('pong')
  const errors = client.messages.filter(m => m.type === 'error')
  t.equal(errors.length, bad.length)
  t.ok(errors.every(e => e.code === 'INVALID_MESSAGE' && typeof e.message === 'string' && e.message !== ''))
  t.same(client.messages.map(m => m.type), ['ready', ...bad.map(() => 'error'), 'pong'], 'answers come in order')
  client.ws.terminate()
})

t.test('an oversized message gets MESSAGE_TOO_LARGE and a binary frame INVALID_MESSAGE', async t => {
  const app = await buildApp(t, { maxMessageBytes: 1024 })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: 'A'.repeat(1500) })
  t.match(await client.next('error'), { code: 'MESSAGE_TOO_LARGE', message: /exceeds the limit of 1024 bytes/ })
  const mark = client.messages.length
  client.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  t.match(await client.next('error', mark), { code: 'INVALID_MESSAGE', message: /Binary frames/ })
  client.send({ type: 'ping', timestamp: 2 })
  t.same(await client.next('pong'), { type: 'pong', timestamp: 2 })
  client.ws.terminate()
})

t.test('an unknown message type is ignored', async t => {
  const app = await buildApp(t)
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'from-the-future', x: 1 })
  client.send({ type: 'ping', timestamp: 3 })
  await client.next('pong')
  t.same(client.messages.map(m => m.type), ['ready', 'pong'])
  client.ws.terminate()
})

t.test('an offer with no WebRTC transport gets WEBRTC_UNAVAILABLE, for offer, signal and ice', async t => {
  const app = await buildApp(t, { webrtc: false })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  client.send({ type: 'signal', signal: { type: 'offer', sdp: 'v=0' } })
  client.send({ type: 'ice', candidate: null })
  client.send({ type: 'ping', timestamp: 4 })
  await client.next('pong')
  const codes = client.messages.filter(m => m.type === 'error').map(m => m.code)
  t.same(codes, ['WEBRTC_UNAVAILABLE', 'WEBRTC_UNAVAILABLE', 'WEBRTC_UNAVAILABLE'])
  client.ws.terminate()
})

t.test('a transport claims offers; `signal` is a synonym; a failing handler answers with its code', async t => {
  const app = await buildApp(t, { webrtc: false })
  const offers: string[] = []
  app.llmrtcSignaling.handle('offer', (message, ctx) => {
    offers.push(`${message.type}:${ctx.session.id}`)
    if (message.signal.sdp === 'boom') throw new Error('transport bug')
    ctx.connection.send({ type: 'signal', signal: { type: 'answer', sdp: 'answer-sdp' } })
  })
  const client = await connect(app)
  const { id } = await client.next('ready')
  client.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  t.same(await client.next('signal'), { type: 'signal', signal: { type: 'answer', sdp: 'answer-sdp' } })
  client.send({ type: 'signal', signal: { type: 'offer', sdp: 'boom' } })
  t.same(await client.next('error'), { type: 'error', code: 'INTERNAL_ERROR', message: 'Internal server error' }, 'internals are not leaked')
  t.same(offers, [`offer:${id}`, `signal:${id}`])
  const other = await connect(app)
  await other.next('ready')
  other.send({ type: 'ping', timestamp: 9 })
  t.same(await other.next('pong'), { type: 'pong', timestamp: 9 }, 'another session is unaffected')
  client.ws.terminate()
  other.ws.terminate()
})

t.test('attachments are kept on the session for the next turn', async t => {
  const app = await buildApp(t)
  const client = await connect(app)
  const { id } = await client.next('ready')
  client.send({ type: 'attachments', attachments: [{ data: 'data:image/png;base64,AA==', mimeType: 'image/png' }] })
  client.send({ type: 'ping', timestamp: 1 })
  await client.next('pong')
  t.same(app.llmrtcSessions.get(id as string)?.pendingAttachments, [{ data: 'data:image/png;base64,AA==', mimeType: 'image/png' }])
  client.ws.terminate()
})

t.test('a huge attachments list is not answered with INTERNAL_ERROR, and only the newest 16 images are kept', async t => {
  const app = await buildApp(t)
  const client = await connect(app)
  const { id } = await client.next('ready')
  // 200 000 items: 2.6 MB, under the default maxMessageBytes (push(...list) overflowed the stack here).
  client.send({ type: 'attachments', attachments: Array.from({ length: 200_000 }, (_, i) => ({ data: String(i) })) })
  client.send({ type: 'attachments', attachments: [{ data: 'latest' }] })
  client.send({ type: 'ping', timestamp: 1 })
  await client.next('pong')
  t.same(client.messages.filter(m => m.type === 'error'), [])
  const queued = app.llmrtcSessions.get(id as string)?.pendingAttachments.map(a => a.data)
  t.same(queued, [...Array.from({ length: 15 }, (_, i) => String(199_985 + i)), 'latest'], 'camera frames faster than turns replace older ones')
  client.ws.terminate()
})

t.test('reconnect with an unknown id keeps the current session', async t => {
  const app = await buildApp(t)
  const client = await connect(app)
  const { id } = await client.next('ready')
  client.send({ type: 'reconnect', sessionId: '11111111-1111-4111-8111-111111111111' })
  t.same(await client.next('reconnect-ack'), { type: 'reconnect-ack', success: false, sessionId: id, historyRecovered: false })
  t.match(await client.next('error'), { code: 'SESSION_NOT_FOUND' })
  t.equal(app.llmrtcSessions.get('11111111-1111-4111-8111-111111111111'), undefined, 'never creates a session under a client-chosen id')
  t.ok(app.llmrtcSessions.get(id as string)?.connected)
  client.ws.terminate()
})

t.test('reconnect resumes a disconnected session with its history and drops the fresh one', async t => {
  const app = await buildApp(t)
  const first = await connectOverNetwork(app)
  const { id: oldId } = await first.next('ready')
  app.llmrtcSessions.get(oldId as string)?.history.add({ role: 'user', content: 'hello' })
  first.ws.close()
  await until(() => app.llmrtcSessions.get(oldId as string)?.connected === false, 'detach')
  t.ok(app.llmrtcSessions.get(oldId as string), 'the session waits for its client')

  const second = await connect(app)
  const { id: freshId } = await second.next('ready')
  second.send({ type: 'reconnect', sessionId: oldId })
  t.same(await second.next('reconnect-ack'), { type: 'reconnect-ack', success: true, sessionId: oldId, historyRecovered: true })
  t.equal(app.llmrtcSessions.get(freshId as string), undefined, 'the fresh session is dropped')
  const resumed = app.llmrtcSessions.get(oldId as string)
  t.ok(resumed?.connected)
  t.equal(resumed?.history.length, 1)
  t.equal(app.llmrtcSessions.size, 1)
  second.send({ type: 'reconnect', sessionId: oldId })
  t.match(await second.next('reconnect-ack', 2), { success: true, sessionId: oldId }, 'reconnecting to the current session is a no-op success')
  second.ws.terminate()
})

t.test('an expired session cannot be resumed', async t => {
  const clock = new FakeClock()
  const app = await buildApp(t, { clock, sessionTtlMs: 60_000, reconnectGraceMs: 10_000, heartbeatTimeoutMs: 1_000_000 })
  const first = await connectOverNetwork(app)
  const { id: oldId } = await first.next('ready')
  first.ws.close()
  await until(() => app.llmrtcSessions.get(oldId as string)?.connected === false, 'detach')
  clock.advance(10_000)
  const second = await connect(app)
  const { id } = await second.next('ready')
  second.send({ type: 'reconnect', sessionId: oldId })
  t.same(await second.next('reconnect-ack'), { type: 'reconnect-ack', success: false, sessionId: id, historyRecovered: false })
  t.match(await second.next('error'), { code: 'SESSION_EXPIRED' })
  second.ws.terminate()
})

t.test('a silent connection is closed at the heartbeat timeout; pings keep it open', async t => {
  const clock = new FakeClock()
  const app = await buildApp(t, { clock, heartbeatTimeoutMs: 45_000 })
  const client = await connectOverNetwork(app)
  const { id } = await client.next('ready')
  clock.advance(40_000)
  client.send({ type: 'ping', timestamp: 1 })
  await client.next('pong')
  clock.advance(40_000)
  t.equal(client.ws.readyState, client.ws.OPEN, 'a ping 40 s ago keeps it open')
  clock.advance(5_001)
  t.same(await client.closed, { code: 4408, reason: 'heartbeat timeout' })
  await until(() => app.llmrtcSessions.get(id as string)?.connected === false, 'detach')
  t.pass('the session is detached and waits for reconnect')
})

t.test('an idle session expires and its client is told', async t => {
  const clock = new FakeClock()
  const app = await buildApp(t, { clock, sessionTtlMs: 60_000, heartbeatTimeoutMs: 1_000_000 })
  const client = await connect(app)
  await client.next('ready')
  clock.advance(65_000)
  t.match(await client.next('error'), { code: 'SESSION_EXPIRED' })
  t.same(await client.closed, { code: 4410, reason: 'session expired' })
  t.equal(app.llmrtcSessions.size, 0)
})

t.test('a connection beyond the session limit gets SESSION_LIMIT and is closed', async t => {
  const app = await buildApp(t, { maxSessions: 1 })
  const first = await connect(app)
  await first.next('ready')
  const second = await connect(app)
  t.match(await second.next('error'), { code: 'SESSION_LIMIT', message: 'The server holds its maximum of 1 sessions' })
  t.same(await second.closed, { code: 1013, reason: 'session limit' })
  t.equal(second.messages.find(m => m.type === 'ready'), undefined)
  first.ws.terminate()
})

t.test('connection hooks run in order with the session id and timing', async t => {
  const calls: Array<[string, ...unknown[]]> = []
  const app = await buildApp(t, {
    hooks: {
      onConnection: (sessionId, connectionId) => { calls.push(['onConnection', sessionId, typeof connectionId]) },
      onDisconnect: (sessionId, timing) => { calls.push(['onDisconnect', sessionId, timing.durationMs >= 0 && timing.endTime >= timing.startTime]) }
    }
  })
  const client = await connectOverNetwork(app)
  const { id } = await client.next('ready')
  client.ws.close()
  await until(() => calls.length === 2, 'onDisconnect')
  t.same(calls, [['onConnection', id, 'string'], ['onDisconnect', id, true]])
})

t.test('closing the server closes sockets with 1001', async t => {
  const app = await buildApp(t)
  const client = await connectOverNetwork(app)
  const { id } = await client.next('ready')
  const closing = app.close()
  t.same(await client.closed, { code: 1001, reason: 'server shutting down' })
  await closing
  t.equal(app.llmrtcSessions.get(id as string), undefined)
})

t.test('the signaling path is configurable', async t => {
  const app = await buildApp(t, { path: '/voice' })
  const client = await connect(app, '/voice')
  t.match(await client.next('ready'), { protocolVersion: 1 })
  client.ws.terminate()
})

t.test('a message no plugin handles gets an error instead of silence', async t => {
  // Signaling without the pipeline plugin: nobody claims `audio`.
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  for (const plugin of [llmrtcConfig, llmrtcHooks, llmrtcProviders, llmrtcSessions]) await app.register(plugin, { env: false })
  await app.register(llmrtcSignaling)
  await app.ready()
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: 'UklGRg==' })
  t.match(await client.next('error'), { code: 'INTERNAL_ERROR', message: /no handler for "audio" messages/ })
  client.ws.terminate()
})

t.test('connection hooks stay paired across a reconnect and a takeover', async t => {
  const calls: string[] = []
  const app = await buildApp(t, {
    hooks: {
      onConnection: (sessionId) => { calls.push(`+${sessionId.slice(0, 8)}`) },
      onDisconnect: (sessionId) => { calls.push(`-${sessionId.slice(0, 8)}`) }
    }
  })
  const first = await connectOverNetwork(app)
  const a = ((await first.next('ready')).id as string).slice(0, 8)
  const second = await connectOverNetwork(app)
  const b = ((await second.next('ready')).id as string).slice(0, 8)
  second.send({ type: 'reconnect', sessionId: (first.messages[0]?.id as string) })
  await second.next('reconnect-ack')
  t.same(await first.closed, { code: 4001, reason: 'session resumed elsewhere' }, 'the old connection is told')
  await until(() => calls.length >= 5, 'hooks')
  t.same(calls, [`+${a}`, `+${b}`, `-${a}`, `-${b}`, `+${a}`])
  second.ws.close()
  await until(() => calls.length === 6, 'final disconnect')
  t.equal(calls[5], `-${a}`)
})

t.test('a message handler still running after 10 s is logged: the connection\'s later messages wait behind it', async t => {
  const lines: Array<{ level: number, msg: string, messageType?: string }> = []
  const stream = { write (line: string) { lines.push(JSON.parse(line)) } }
  const clock = new FakeClock()
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  await app.register(llmrtc, { env: false, webrtc: false, clock, heartbeatTimeoutMs: 1_000_000 })
  await app.ready()
  let release: (() => void) | undefined
  app.llmrtcSignaling.handle('offer', async (_message, ctx) => {
    await new Promise<void>(resolve => { release = resolve })
    ctx.connection.send({ type: 'signal', signal: { type: 'answer', sdp: 'late' } })
  })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  client.send({ type: 'ping', timestamp: 3 })
  await until(() => release !== undefined, 'the handler is running')
  clock.advance(9_999)
  t.same(lines.filter(l => l.msg.includes('still running')), [], 'not before 10 s')
  clock.advance(1)
  t.match(lines.filter(l => l.msg.includes('still running')), [{ level: 40, messageType: 'offer' }])
  release?.()
  t.same(await client.next('signal'), { type: 'signal', signal: { type: 'answer', sdp: 'late' } })
  t.same(await client.next('pong'), { type: 'pong', timestamp: 3 }, 'the ping waited behind it, in order')
  client.ws.terminate()
})
