import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { Logger } from '../../lib/logger.js'
import { createRedisSessionStore, resolveRedisOptions } from '../../lib/sessions/redis-options.js'
import { RedisSessionStore } from '../../lib/sessions/redis-session-store.js'
import { SessionManager } from '../../lib/sessions/session-manager.js'
import type { SessionConnection } from '../../lib/sessions/session.js'
import type { SessionRecord } from '../../lib/sessions/session-store.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { startRedis, type RunningRedis } from '../helpers/redis-server.js'
import { until as waitFor } from '../helpers/ws-client.js'

// Against a real redis-server (a child process of this file, on a free port, without persistence).

interface LogLine { level: string, obj: unknown, msg: string | undefined }

function recordingLogger (lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const at = (level: string) => (obj: unknown, msg?: string): void => { lines.push({ level, obj, msg }) }
  const log: Logger & { lines: LogLine[] } = { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log }
  return log
}

function record (id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { id, principal: null, history: [{ role: 'user', content: 'hello' }], data: { stage: 'greeting' }, createdAt: 1000, lastActivityAt: 2000, ...overrides }
}

/** A connected store on its own llmrtc-made client (closed at teardown), plus a raw client to look at Redis. */
async function storeFor (t: Test, redis: RunningRedis, options: { keyPrefix?: string, log?: Logger } = {}): Promise<{ store: RedisSessionStore, raw: Redis }> {
  const store = createRedisSessionStore({ url: redis.url, client: undefined, keyPrefix: options.keyPrefix ?? 'llmrtc:' }, options.log ?? recordingLogger())
  const raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  raw.on('error', () => {})
  t.teardown(async () => {
    await store.close()
    raw.disconnect()
  })
  await store.connect()
  return { store, raw }
}

function fakeConnection (id = 'c'): SessionConnection {
  return { id, send () {}, close () {} }
}

const redis = await startRedis(t)

t.test('a record round-trips as JSON under <prefix>session:<id>, and delete removes it', async t => {
  const { store, raw } = await storeFor(t, redis)
  await store.connect()
  t.equal(store.client.status, 'ready', 'connecting again is a no-op')
  const saved = record('a1', { principal: 'alice', history: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello!' }] })
  await store.set(saved, 60_000)
  t.same(await store.get('a1'), saved)
  const raw1 = await raw.get('llmrtc:session:a1')
  t.same(JSON.parse(raw1 ?? 'null'), saved, 'plain JSON in Redis')
  t.ok(raw1?.startsWith('{"lastActivityAt":2000,'), 'lastActivityAt first (the write script reads it there)')
  const pttl = await raw.pttl('llmrtc:session:a1')
  t.ok(pttl > 0 && pttl <= 60_000, `a TTL in ms is set (${pttl})`)
  await store.delete('a1')
  t.equal(await store.get('a1'), undefined)
  t.equal(await store.get('never-written'), undefined)
})

t.test('a record expires after its TTL, and each write sets the TTL again', async t => {
  const { store, raw } = await storeFor(t, redis)
  await store.set(record('ttl'), 60_000)
  await store.set(record('ttl'), 200)
  const pttl = await raw.pttl('llmrtc:session:ttl')
  t.ok(pttl > 0 && pttl <= 200, `the last write's TTL counts (${pttl})`)
  for (let i = 0; i < 200 && await store.get('ttl') !== undefined; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(await store.get('ttl'), undefined, 'gone')
})

t.test('the key prefix separates deployments sharing one Redis', async t => {
  const { store: tenantA, raw } = await storeFor(t, redis, { keyPrefix: 'tenant-a:' })
  const { store: plain } = await storeFor(t, redis)
  await tenantA.set(record('p1'), 60_000)
  t.ok(await raw.exists('tenant-a:session:p1'))
  t.equal(tenantA.key('p1'), 'tenant-a:session:p1')
  t.equal(await plain.get('p1'), undefined, 'another prefix does not see it')
  t.ok(await tenantA.get('p1'))
})

t.test('a corrupt record is read as absent, with a warning, and the next write replaces it', async t => {
  const log = recordingLogger()
  const { store, raw } = await storeFor(t, redis, { log })
  await raw.set('llmrtc:session:bad', '{oops', 'PX', 60_000)
  await raw.set('llmrtc:session:shape', JSON.stringify({ id: 'shape', history: 'not a list' }), 'PX', 60_000)
  await raw.set('llmrtc:session:other', JSON.stringify(record('someone-else')), 'PX', 60_000)
  t.equal(await store.get('bad'), undefined)
  t.equal(await store.get('shape'), undefined)
  t.equal(await store.get('other'), undefined, 'a record under another id is not trusted')
  t.same(log.lines.filter(l => l.level === 'warn').map(l => l.msg), Array(3).fill('unreadable session record in Redis: treated as not found'))
  t.notOk(JSON.stringify(log.lines).includes('oops'), 'the content is not logged')
  await store.set(record('bad'), 60_000)
  t.same(await store.get('bad'), record('bad'))
})

t.test('a write never replaces a record with later activity (a stale copy on another server)', async t => {
  const log = recordingLogger()
  const { store } = await storeFor(t, redis, { log })
  await store.set(record('race', { lastActivityAt: 5000, history: [{ role: 'user', content: 'newer' }] }), 60_000)
  await store.set(record('race', { lastActivityAt: 4000, history: [{ role: 'user', content: 'stale' }] }), 60_000)
  t.equal((await store.get('race'))?.history[0]?.content, 'newer')
  t.ok(log.lines.some(l => l.level === 'debug' && /Redis holds later activity/.test(l.msg ?? '')))
  await store.set(record('race', { lastActivityAt: 5000, history: [{ role: 'user', content: 'same time' }] }), 60_000)
  t.equal((await store.get('race'))?.history[0]?.content, 'same time', 'equal activity is written (the same server again)')
})

t.test('options: REDIS_URL and REDIS_KEY_PREFIX, an ioredis client, and bad values', async t => {
  t.equal(resolveRedisOptions(undefined, {}), undefined, 'in memory without REDIS_URL')
  t.same(resolveRedisOptions(undefined, { REDIS_URL: 'redis://h:1', REDIS_KEY_PREFIX: 'x:' }), { url: 'redis://h:1', client: undefined, keyPrefix: 'x:' })
  t.same(resolveRedisOptions({ url: 'rediss://u:p@h', keyPrefix: 'y:' }, { REDIS_URL: 'redis://h:1' }), { url: 'rediss://u:p@h', client: undefined, keyPrefix: 'y:' }, 'the option wins')
  t.same(resolveRedisOptions({ keyPrefix: 'y:' }, { REDIS_URL: 'redis://h:1' }), { url: 'redis://h:1', client: undefined, keyPrefix: 'y:' })
  const client = new Redis({ lazyConnect: true })
  t.same(resolveRedisOptions(client, {}), { url: undefined, client, keyPrefix: 'llmrtc:' })
  t.equal(resolveRedisOptions(undefined, { REDIS_URL: 'redis://h:1' }, true), undefined, 'a sessionStore wins over REDIS_URL')
  t.throws(() => resolveRedisOptions({ url: 'redis://h' }, {}, true), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"redis": expected no redis option when sessionStore is given/ })
  t.throws(() => resolveRedisOptions({}, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"redis.url": expected a redis:\/\/ or rediss:\/\/ URL \(env REDIS_URL\), instead got undefined/ })
  t.throws(() => resolveRedisOptions({ url: 'http://user:hunter2@h' }, {}), { message: /instead got a string that is not a redis URL$/ }, 'the URL (and its password) is not echoed')
  t.throws(() => resolveRedisOptions('redis://h' as never, {}), { message: /"redis": expected an object/ })
  t.throws(() => resolveRedisOptions({ url: 'redis://h', keyPrefix: 5 as never }, {}), { message: /"redis.keyPrefix": expected a string/ })
})

t.test('connecting to an unreachable Redis fails at once with the address, never the password', async t => {
  const dead = await startRedis(t)
  await dead.kill()
  const store = createRedisSessionStore({ url: `redis://user:hunter2@127.0.0.1:${dead.port}`, client: undefined, keyPrefix: 'llmrtc:' }, recordingLogger())
  t.teardown(() => store.close())
  const started = Date.now()
  const err = await store.connect().catch((e: unknown) => e) as Error & { code: string, cause: Error }
  t.equal(err.code, 'LLMRTC_ERR_SESSION_STORE')
  t.match(err.message, new RegExp(`^Session store failed: cannot reach Redis at 127\\.0\\.0\\.1:${dead.port} \\(REDIS_URL or the redis option\\): .*ECONNREFUSED`))
  t.notOk(err.message.includes('hunter2'))
  t.match(err.cause, { code: 'ECONNREFUSED' })
  t.ok(Date.now() - started < 5000, 'no waiting for retries')
  await waitFor(() => store.client.status === 'end')
  t.pass('no reconnection attempts left running')
  await store.close()
  await store.close()
})

t.test('a client the application owns is used as is and never closed', async t => {
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const store = new RedisSessionStore({ client, keyPrefix: 'app:' })
  await store.connect()
  await store.set(record('own'), 60_000)
  t.ok(await client.exists('app:session:own'))
  await store.close()
  t.equal(client.status, 'ready', 'still open')
})

t.test('two servers sharing Redis: a session moves with its history, and a stale copy cannot overwrite it', async t => {
  const clock = new FakeClock()
  const { store: storeA, raw } = await storeFor(t, redis)
  const a = new SessionManager({ clock, store: storeA, systemPrompt: 'sys', reconnectGraceMs: 120_000, idleTtlMs: 1_800_000 })
  const b = new SessionManager({ clock, store: (await storeFor(t, redis)).store, systemPrompt: 'sys', reconnectGraceMs: 120_000, idleTtlMs: 1_800_000 })
  t.teardown(async () => { await a.close(); await b.close() })
  const ended: string[] = []
  a.on('ended', (_s, reason) => { ended.push(reason) })

  const session = a.create('alice')
  const onA = fakeConnection('a')
  a.bind(session, onA)
  session.history.add({ role: 'user', content: 'my order is 42' }, { role: 'assistant', content: 'Got it.' })
  session.data.stage = 'billing'
  a.persist(session)
  clock.advance(1000)
  a.detach(session, onA)
  await waitFor(() => a.get(session.id) === undefined)
  t.same(ended, ['handed-off'], 'A keeps no copy once the record is written')
  const key = `llmrtc:session:${session.id}`
  t.ok(await raw.pttl(key) <= 120_000, 'a disconnected session\'s record lives for the reconnect grace')

  clock.advance(1000)
  const resumed = await b.resume(session.id, fakeConnection('b'), 'alice')
  if (typeof resumed === 'string') throw new Error(resumed)
  t.equal(resumed.historyRecovered, true)
  t.same(resumed.session.history.toMessages().map(m => m.content), ['sys', 'my order is 42', 'Got it.'])
  t.same(resumed.session.data, { stage: 'billing' })
  await b.store.get(session.id)
  t.ok(await raw.pttl(key) > 120_000, 'connected again on B: the record lives for the idle TTL')

  await b.store.get(session.id) // B's resume has written (one connection answers in order)
  // A's old object finishing a late turn (cancelled by the disconnect) must not undo B's state.
  session.history.add({ role: 'assistant', content: 'stale' })
  a.persist(session)
  await a.store.get(session.id)
  t.same((await b.store.get(session.id))?.history.map(m => m.content), ['my order is 42', 'Got it.'], 'the stale write was refused')
  resumed.session.history.add({ role: 'user', content: 'on B' })
  b.persist(resumed.session)
  t.same((await b.store.get(session.id))?.history.map(m => m.content), ['my order is 42', 'Got it.', 'on B'])
})

t.test('a session of one principal cannot be resumed by another on another server', async t => {
  const clock = new FakeClock()
  const a = new SessionManager({ clock, store: (await storeFor(t, redis)).store })
  const b = new SessionManager({ clock, store: (await storeFor(t, redis)).store })
  t.teardown(async () => { await a.close(); await b.close() })
  const session = a.create('alice')
  const onA = fakeConnection('a')
  a.bind(session, onA)
  session.history.add({ role: 'user', content: 'my card number is private' })
  a.detach(session, onA)
  await waitFor(() => a.get(session.id) === undefined)
  t.equal(await b.resume(session.id, fakeConnection('b'), 'mallory'), 'forbidden')
  t.equal(await b.resume(session.id, fakeConnection('b'), null), 'forbidden', 'nor without authentication')
  t.equal(b.get(session.id), undefined, 'B holds nothing of it')
  const own = await b.resume(session.id, fakeConnection('b'), 'alice')
  t.equal(typeof own === 'object' && own.session.history.length, 1, 'its owner can')
})

t.test('with a shared store, expiry timers never delete a record another server may have resumed', async t => {
  const clock = new FakeClock()
  const calls: string[] = []
  const store = {
    shared: true,
    async get () { return undefined },
    async set (r: SessionRecord) { calls.push(`set ${r.id}`); throw new Error('down') },
    async delete (id: string) { calls.push(`delete ${id}`) },
    async close () {}
  }
  const sessions = new SessionManager({ clock, store, reconnectGraceMs: 5000, idleTtlMs: 60_000, sweepIntervalMs: 1000 })
  t.teardown(() => sessions.close())
  const left = sessions.create()
  const connection = fakeConnection()
  sessions.bind(left, connection)
  sessions.detach(left, connection)
  await new Promise(setImmediate)
  t.equal(sessions.get(left.id), left, 'the write failed: the session stays here for its grace')
  const idle = sessions.create()
  sessions.bind(idle, fakeConnection())
  clock.advance(60_000)
  t.equal(sessions.get(left.id), undefined)
  t.equal(sessions.get(idle.id), undefined)
  const replaced = sessions.create()
  sessions.end(replaced, 'replaced')
  t.same(calls, [`set ${left.id}`, `set ${left.id}`, `set ${idle.id}`, `delete ${replaced.id}`], 'written on bind and detach; only an explicit end deletes')
})

t.test('Redis going down mid-session: the session keeps working here, errors are logged, nothing throws', async t => {
  const own = await startRedis(t)
  const log = recordingLogger()
  const store = createRedisSessionStore({ url: own.url, client: undefined, keyPrefix: 'llmrtc:' }, log, { commandTimeoutMs: 500 })
  await store.connect()
  const clock = new FakeClock()
  const sessions = new SessionManager({ clock, store, log })
  t.teardown(() => sessions.close())
  const session = sessions.create()
  const first = fakeConnection('first')
  sessions.bind(session, first)
  session.history.add({ role: 'user', content: 'one' })
  sessions.persist(session)
  t.ok(await store.get(session.id), 'written while Redis is up')

  await own.kill()
  await waitFor(() => log.lines.some(l => l.level === 'error' && l.msg?.startsWith('Redis unreachable') === true))
  session.history.add({ role: 'assistant', content: 'two' })
  sessions.persist(session)
  sessions.detach(session, first)
  await waitFor(() => log.lines.filter(l => l.msg === 'session store write failed').length === 2)
  t.match(log.lines.find(l => l.msg === 'session store write failed')?.obj, { err: { code: 'LLMRTC_ERR_SESSION_STORE' }, sessionId: session.id })
  t.equal(sessions.get(session.id), session, 'the write failed, so the session stays here for its grace')

  const again = await sessions.resume(session.id, fakeConnection('second'), null)
  if (typeof again === 'string') throw new Error(again)
  t.same(again.session.history.messages.map(m => m.content), ['one', 'two'], 'resumed here from memory')
  t.equal(await sessions.resume('00000000-0000-4000-8000-000000000000', fakeConnection(), null), 'not-found', 'a failed store read is "not found"')
  t.ok(log.lines.some(l => l.msg === 'session store read failed'))
  t.equal(log.lines.filter(l => l.msg?.startsWith('Redis unreachable') === true && l.level === 'error').length, 1, 'the outage is reported once at error level')
})
