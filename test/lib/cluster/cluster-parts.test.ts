import { Counter, Registry } from 'prom-client'
import t from 'tap'
import { availableParallelism } from 'node:os'
import { ClusterWorker } from '../../../lib/cluster/cluster-worker.js'
import { IpcPeer, type IpcBody } from '../../../lib/cluster/ipc-peer.js'
import { aggregateMetrics } from '../../../lib/cluster/metrics-aggregation.js'
import { RestartBackoff } from '../../../lib/cluster/restart-backoff.js'
import { SharedSessionRecords } from '../../../lib/cluster/shared-session-records.js'
import { parseWorkerCountText, resolveWorkerCount } from '../../../lib/cluster/worker-count.js'
import { ClusterSessionStore } from '../../../lib/sessions/cluster-session-store.js'
import type { SessionRecord } from '../../../lib/sessions/session-store.js'
import { FakeClock } from '../../helpers/fake-clock.js'

// The parts of LLMRTCServer({ workers }) that need no second process: the IPC channel wired back to back,
// the primary's records, the worker's store, the metrics sum, the crash backoff, the option.

function record (id: string, lastActivityAt: number, said: string[]): SessionRecord {
  return { id, principal: null, history: said.map(content => ({ role: 'user', content })), data: {}, createdAt: 1, lastActivityAt }
}

/** A worker and a primary-side peer joined back to back (what node:cluster's IPC does between processes). */
function joined (onRequest: (body: IpcBody) => Promise<unknown>): { worker: ClusterWorker, primary: IpcPeer } {
  const primary = new IpcPeer({ send: (message) => { queueMicrotask(() => { worker.receive(JSON.parse(JSON.stringify(message))) }) }, onRequest })
  const worker = new ClusterWorker(7, (message) => { queueMicrotask(() => { primary.receive(JSON.parse(JSON.stringify(message))) }) })
  return { worker, primary }
}

t.test('a worker\'s ClusterSessionStore reads and writes the primary\'s records, which refuse older activity', async t => {
  const records = new SharedSessionRecords()
  t.teardown(() => { records.close() })
  const { worker } = joined(async (body) => {
    if (body.op === 'store-get') return records.get(String(body.sessionId)) ?? null
    if (body.op === 'store-set') return records.set(body.record as SessionRecord, Number(body.ttlMs))
    if (body.op === 'store-delete') { records.delete(String(body.sessionId)); return null }
    throw new Error('unexpected')
  })
  const store = new ClusterSessionStore(worker)
  t.equal(store.shared, true, 'shared: a disconnected session waits in the primary, not in a worker')
  t.equal(await store.get('a'), undefined)
  await store.set(record('a', 100, ['hello']), 60_000)
  t.same((await store.get('a'))?.history, [{ role: 'user', content: 'hello' }])
  await store.set(record('a', 50, ['stale copy']), 60_000)
  t.same((await store.get('a'))?.history, [{ role: 'user', content: 'hello' }], 'an older write does not replace later activity')
  await store.set(record('a', 200, ['hello', 'again']), 60_000)
  t.equal((await store.get('a'))?.history.length, 2)
  await store.delete('a')
  t.equal(await store.get('a'), undefined)
  await store.close()
  t.equal(records.size, 0)
})

t.test('a failed or unanswered request rejects with LLMRTC_ERR_SESSION_STORE, its cause the IPC error', async t => {
  // In a worker the IPC channel keeps the process alive; here, this does (the request timers are unref'd).
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(keepAlive) })
  const { worker, primary } = joined(async () => { throw new Error('primary broke') })
  const store = new ClusterSessionStore(worker)
  await t.rejects(store.get('a'), { code: 'LLMRTC_ERR_SESSION_STORE', message: /cluster get failed: Cluster IPC failed: primary broke/, cause: { code: 'LLMRTC_ERR_CLUSTER_IPC' } })
  const silent = new ClusterWorker(8, () => {})
  await t.rejects(silent.request({ op: 'metrics' }, 20), { code: 'LLMRTC_ERR_CLUSTER_IPC', message: /metrics: no answer within 20 ms/ })
  const waiting = silent.request({ op: 'metrics' }, 60_000)
  silent.primaryGone()
  await t.rejects(waiting, { code: 'LLMRTC_ERR_CLUSTER_IPC', message: /the other process is gone/ }, 'the primary gone: requests waiting for it fail at once')
  await t.rejects(silent.request({ op: 'metrics' }), { message: /the other process is gone/ })
  t.equal(primary.receive({ type: 'prom-client:getMetricsReq' }), false, 'messages that are not llmrtc\'s are left alone')
  t.equal(primary.receive({ llmrtc: 'response', id: 999, ok: true, value: 1 }), true, 'a late answer is dropped')
})

t.test('the primary drains a worker: at once, or once its server has registered how', async t => {
  const drains: Array<number | undefined> = []
  const early = new ClusterWorker(1, () => {})
  early.receive({ llmrtc: 'notify', body: { op: 'drain', drainTimeoutMs: 250 } })
  t.same(drains, [])
  early.handle({ drain: (ms) => { drains.push(ms) } })
  t.same(drains, [250], 'a drain that came during start-up runs when the handler arrives')
  early.receive({ llmrtc: 'notify', body: { op: 'drain' } })
  t.same(drains, [250, undefined], 'no timeout given: the configured one')
  early.primaryGone()
  t.same(drains, [250, undefined, 0], 'the primary gone: drain without waiting')
})

t.test('a scrape sums every worker\'s registry', async t => {
  const snapshots: unknown[] = []
  for (const turns of [2, 3]) {
    const registry = new Registry()
    new Counter({ name: 'llmrtc_turns_total', help: 'turns', labelNames: ['outcome'], registers: [registry] }).inc({ outcome: 'completed' }, turns)
    snapshots.push(await registry.getMetricsAsJSON())
  }
  const { worker, primary } = joined(async () => null)
  worker.handle({ metricsSnapshot: async () => snapshots[1] })
  const fromWorker = await primary.request({ op: 'metrics-snapshot' }, 1000)
  const { body, contentType } = await aggregateMetrics([snapshots[0], fromWorker, 'not a snapshot'])
  t.match(body, /llmrtc_turns_total\{outcome="completed"\} 5/)
  t.match(contentType, /text\/plain/)
  await t.rejects(primary.request({ op: 'store-get' }, 1000), { message: /unknown request store-get/ }, 'a worker answers only what it knows')
})

t.test('the primary\'s records expire after their TTL, read or not', async t => {
  const clock = new FakeClock()
  const records = new SharedSessionRecords(clock)
  records.set(record('a', 1, []), 1000)
  records.set(record('b', 1, []), 120_000)
  clock.advance(999)
  t.ok(records.get('a'))
  clock.advance(1)
  t.equal(records.get('a'), undefined, 'expired at its TTL')
  records.set(record('c', 1, []), 1000)
  clock.advance(60_000)
  t.equal(records.size, 1, 'the sweep drops expired records nobody reads')
  records.close()
  t.equal(clock.pending, 0, 'close stops the sweeper')
})

t.test('a crash loop backs off, doubling to a ceiling; a worker that had been up is replaced at once', async t => {
  const backoff = new RestartBackoff({ minUptimeMs: 10_000, initialDelayMs: 500, maxDelayMs: 3000 })
  t.equal(backoff.delayAfterCrash(60_000), 0)
  t.same([100, 100, 100, 100, 100].map(uptime => backoff.delayAfterCrash(uptime)), [500, 1000, 2000, 3000, 3000])
  t.equal(backoff.delayAfterCrash(10_000), 0, 'up long enough: the streak ends')
  t.equal(backoff.delayAfterCrash(100), 500)
})

t.test('workers: a positive integer, "auto" (the cores), else env WORKERS, else 1', async t => {
  t.equal(resolveWorkerCount(undefined, undefined), 1)
  t.equal(resolveWorkerCount(undefined, ''), 1)
  t.equal(resolveWorkerCount(3, '2'), 3, 'the option wins')
  t.equal(resolveWorkerCount(undefined, '2'), 2)
  t.equal(resolveWorkerCount('auto', undefined), availableParallelism())
  t.equal(resolveWorkerCount(undefined, 'auto'), availableParallelism())
  t.throws(() => resolveWorkerCount(0, undefined), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: 'Invalid llmrtc option "workers": expected a positive integer or "auto", instead got 0' })
  t.throws(() => resolveWorkerCount('2', undefined), { code: 'LLMRTC_ERR_OPTIONS_INVALID' }, 'a string other than auto is refused')
  t.throws(() => resolveWorkerCount(undefined, 'many'), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: 'Invalid environment variable WORKERS: expected a positive integer or "auto", instead got "many"' })
  t.throws(() => resolveWorkerCount(undefined, '0'), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV' })
  t.equal(parseWorkerCountText('4'), 4)
  t.equal(parseWorkerCountText('auto'), 'auto')
  t.equal(parseWorkerCountText('1.5'), undefined)
})
