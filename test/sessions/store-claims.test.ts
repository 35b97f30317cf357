import t from 'tap'
import { SharedSessionRecords } from '../../lib/cluster/shared-session-records.js'
import { ClusterSessionStore } from '../../lib/sessions/cluster-session-store.js'
import { createRedisSessionStore } from '../../lib/sessions/redis-options.js'
import type { SessionRecord } from '../../lib/sessions/session-store.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { startRedis } from '../helpers/redis-server.js'
import { silentLogger } from '../../lib/logger.js'

// Each shared store's `claim` (one server takes a killed server's question) and its `openTurn` field.

const record: SessionRecord = { id: 's1', principal: null, history: [{ role: 'user', content: 'what time is it' }], data: {}, createdAt: 1000, lastActivityAt: 2000, openTurn: 'turn-1' }

t.test('Redis: openTurn survives the round trip, and a claim is taken once (SET NX), per key, until its TTL', async t => {
  const redis = await startRedis(t)
  const store = createRedisSessionStore({ url: redis.url, client: undefined, keyPrefix: 'llmrtc:' }, silentLogger)
  t.teardown(async () => { await store.close() })
  await store.connect()
  await store.set(record, 60_000)
  t.same(await store.get('s1'), record)
  const { openTurn: _open, ...closed } = record
  await store.set({ ...closed, lastActivityAt: 2001 }, 60_000)
  t.equal((await store.get('s1'))?.openTurn, undefined, 'a record written without it has none')
  const claims = await Promise.all([store.claim('s1:turn-1', 100), store.claim('s1:turn-1', 100), store.claim('s1:turn-1', 100)])
  t.same(claims.filter(Boolean).length, 1, 'three servers at once: one gets it')
  t.equal(await store.claim('s1:turn-2', 100), true, 'another turn is another key')
  t.ok(await store.client.pttl('llmrtc:claim:s1:turn-1') <= 100, 'under the store\'s prefix, with its TTL')
})

t.test('cluster: a worker\'s claim goes to the primary\'s records, once per key until its TTL', async t => {
  const clock = new FakeClock()
  const records = new SharedSessionRecords(clock)
  t.teardown(() => { records.close() })
  const store = new ClusterSessionStore({
    request: async (body) => {
      if (body.op === 'store-claim') return records.claim(body.key, body.ttlMs)
      throw new Error('unexpected')
    }
  })
  t.equal(await store.claim('s1:turn-1', 1000), true)
  t.equal(await store.claim('s1:turn-1', 1000), false, 'another worker later: refused')
  clock.advance(1000)
  t.equal(await store.claim('s1:turn-1', 1000), true, 'expired: taken again')
  await t.rejects(new ClusterSessionStore({ request: async () => { throw new Error('primary gone') } }).claim('k', 1), { code: 'LLMRTC_ERR_SESSION_STORE' })
})
