import t, { type Test } from 'tap'
import { ConversationHistory } from '../../lib/sessions/conversation-history.js'
import { MemorySessionStore } from '../../lib/sessions/memory-session-store.js'
import { SessionManager, type SessionManagerOptions } from '../../lib/sessions/session-manager.js'
import type { SessionConnection } from '../../lib/sessions/session.js'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import { FakeClock } from '../helpers/fake-clock.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function fakeConnection (id = 'c'): SessionConnection & { sent: ServerMessage[], closedWith?: [number, string] } {
  const connection: SessionConnection & { sent: ServerMessage[], closedWith?: [number, string] } = {
    id,
    sent: [],
    send (message) { connection.sent.push(message) },
    close (code, reason) { connection.closedWith = [code, reason] }
  }
  return connection
}

function manager (t: Test, options: SessionManagerOptions = {}): { sessions: SessionManager, clock: FakeClock } {
  const clock = new FakeClock()
  const sessions = new SessionManager({ clock, ...options })
  t.teardown(() => sessions.close())
  return { sessions, clock }
}

t.test('conversation history pins the system prompt and keeps the newest messages', async t => {
  const history = new ConversationHistory('be brief', 3)
  history.add({ role: 'user', content: '1' }, { role: 'assistant', content: '2' }, { role: 'user', content: '3' }, { role: 'assistant', content: '4' })
  history.add({ role: 'system', content: 'ignored' })
  t.same(history.toMessages().map(m => m.content), ['be brief', '2', '3', '4'])
  t.equal(history.length, 3)
  history.clear()
  t.same(history.toMessages(), [{ role: 'system', content: 'be brief' }])
  t.same(new ConversationHistory('', 5, [{ role: 'user', content: 'x' }]).toMessages(), [{ role: 'user', content: 'x' }])
})

t.test('history trimming never starts on a tool result cut from its call', async t => {
  const history = new ConversationHistory('', 3)
  history.add(
    { role: 'user', content: 'order?' },
    { role: 'assistant', content: '', toolCalls: [{ callId: 'a', name: 'lookup', arguments: {} }] },
    { role: 'tool', content: '{"status":"shipped"}', toolCallId: 'a' },
    { role: 'tool', content: '{"eta":"monday"}', toolCallId: 'a' },
    { role: 'assistant', content: 'It shipped.' }
  )
  t.same(history.messages.map(m => m.role), ['assistant'])
})

t.test('sessions get unguessable UUID v4 ids', async t => {
  const { sessions } = manager(t)
  const a = sessions.create()
  const b = sessions.create()
  t.match(a.id, UUID_V4)
  t.not(a.id, b.id)
  t.equal(sessions.size, 2)
  t.equal(sessions.get(a.id), a)
})

t.test('creating a session beyond the limit fails with SESSION_LIMIT', async t => {
  const { sessions } = manager(t, { maxSessions: 2 })
  sessions.create()
  sessions.create()
  t.throws(() => sessions.create(), { code: 'LLMRTC_ERR_SESSION_LIMIT', message: 'The server holds its maximum of 2 sessions' })
})

t.test('an idle session expires after its TTL and activity postpones it', async t => {
  const { sessions, clock } = manager(t, { idleTtlMs: 10_000, sweepIntervalMs: 1000 })
  const ended: string[] = []
  sessions.on('ended', (s, reason) => { ended.push(`${s.id}:${reason}`) })
  const session = sessions.create()
  sessions.bind(session, fakeConnection())
  clock.advance(9000)
  sessions.touch(session)
  clock.advance(9000)
  t.same(ended, [], 'activity kept it alive')
  clock.advance(2000)
  t.same(ended, [`${session.id}:idle-timeout`])
  t.ok(session.closed)
  t.ok(session.signal.aborted)
  t.equal(sessions.size, 0)
})

t.test('a disconnected session is reaped once its reconnect grace ends', async t => {
  const { sessions, clock } = manager(t, { reconnectGraceMs: 5000, sweepIntervalMs: 1000 })
  const session = sessions.create()
  const connection = fakeConnection()
  sessions.bind(session, connection)
  sessions.detach(session, connection)
  t.notOk(session.connected)
  clock.advance(4000)
  t.equal(sessions.get(session.id), session)
  clock.advance(1000)
  t.equal(sessions.get(session.id), undefined)
  t.equal(await sessions.store.get(session.id), undefined, 'its record is deleted')
})

t.test('detaching with a connection that is no longer bound changes nothing', async t => {
  const { sessions } = manager(t)
  const session = sessions.create()
  const current = fakeConnection('new')
  sessions.bind(session, current)
  sessions.detach(session, fakeConnection('old'))
  t.equal(session.connection, current)
})

t.test('resume re-binds a live session with its history', async t => {
  const { sessions } = manager(t)
  const session = sessions.create()
  const old = fakeConnection('old')
  sessions.bind(session, old)
  session.history.add({ role: 'user', content: 'hi' })
  sessions.detach(session, old)
  const fresh = fakeConnection('fresh')
  const result = await sessions.resume(session.id, fresh, null)
  t.same(typeof result === 'object' && { id: result.session.id, recovered: result.historyRecovered }, { id: session.id, recovered: true })
  t.equal(session.connection, fresh)
  t.equal(session.history.length, 1)
})

t.test('resuming a session still bound to another connection closes that one', async t => {
  const { sessions } = manager(t)
  const session = sessions.create()
  const old = fakeConnection('old')
  sessions.bind(session, old)
  await sessions.resume(session.id, fakeConnection('new'), null)
  t.same(old.closedWith, [4001, 'session resumed elsewhere'])
})

t.test('resume refuses unknown ids, other principals and expired sessions', async t => {
  const { sessions, clock } = manager(t, { idleTtlMs: 10_000, sweepIntervalMs: 60_000 })
  t.equal(await sessions.resume('00000000-0000-4000-8000-000000000000', fakeConnection(), null), 'not-found')
  t.equal(sessions.get('00000000-0000-4000-8000-000000000000'), undefined, 'no session is created under a client-chosen id')
  const owned = sessions.create('alice')
  t.equal(await sessions.resume(owned.id, fakeConnection(), 'mallory'), 'forbidden')
  t.equal(await sessions.resume(owned.id, fakeConnection(), null), 'forbidden')
  const idle = sessions.create()
  clock.advance(10_001)
  t.equal(await sessions.resume(idle.id, fakeConnection(), null), 'expired', 'expired before the sweeper ran')
  t.equal(await sessions.resume(idle.id, fakeConnection(), null), 'expired', 'and remembered as expired afterwards')
})

t.test('a session recorded in the store is rehydrated on resume (shared store)', async t => {
  const clock = new FakeClock()
  const store = new MemorySessionStore(clock)
  const first = new SessionManager({ clock, store, systemPrompt: 'sys' })
  const session = first.create('bob')
  session.history.add({ role: 'user', content: 'remember me' })
  session.data.stage = 'billing'
  first.persist(session)
  await new Promise(setImmediate)
  const second = new SessionManager({ clock, store, systemPrompt: 'sys' })
  t.teardown(async () => { await first.close(); await second.close() })
  const result = await second.resume(session.id, fakeConnection(), 'bob')
  if (typeof result === 'string') throw new Error(result)
  t.equal(result.session.id, session.id)
  t.same(result.session.history.toMessages().map(m => m.content), ['sys', 'remember me'])
  t.same(result.session.data, { stage: 'billing' })
  t.equal(await second.resume(session.id, fakeConnection(), 'eve'), 'forbidden')
})

t.test('a new session is in the shared store once bound, before any turn (a connection that dies unseen resumes elsewhere)', async t => {
  const clock = new FakeClock()
  const store = new MemorySessionStore(clock)
  const first = new SessionManager({ clock, store })
  const second = new SessionManager({ clock, store })
  t.teardown(async () => { await first.close(); await second.close() })
  const session = first.create('bob')
  first.bind(session, fakeConnection('a'))
  await new Promise(setImmediate)
  const result = await second.resume(session.id, fakeConnection('b'), 'bob')
  if (typeof result === 'string') throw new Error(`resume elsewhere answered ${result}`)
  t.equal(result.session.id, session.id)
})

t.test('store records expire after their TTL', async t => {
  const clock = new FakeClock()
  const store = new MemorySessionStore(clock)
  await store.set({ id: 'x', principal: null, history: [], data: {}, createdAt: 0, lastActivityAt: 0 }, 1000)
  t.ok(await store.get('x'))
  clock.advance(1000)
  t.equal(await store.get('x'), undefined)
  t.equal(store.size, 0)
})

t.test('closing the manager ends every session, keeps records and stops the sweeper', async t => {
  const clock = new FakeClock()
  const sessions = new SessionManager({ clock })
  const a = sessions.create()
  sessions.bind(a, fakeConnection())
  const reasons: string[] = []
  sessions.on('ended', (_s, reason) => { reasons.push(reason) })
  await sessions.close()
  await sessions.close()
  t.same(reasons, ['shutdown'])
  t.ok(a.closed)
  t.equal(clock.pending, 0, 'no timer left')
  t.throws(() => sessions.create(), { code: 'LLMRTC_ERR_SESSION_CLOSED' })
})
