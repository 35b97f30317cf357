import type { Worker } from 'node:cluster'
import { EventEmitter } from 'node:events'
import t from 'tap'
import { ClusterPrimary } from '../../../lib/cluster/cluster-primary.js'
import { ClusterWorker } from '../../../lib/cluster/cluster-worker.js'
import { RestartBackoff } from '../../../lib/cluster/restart-backoff.js'
import { ClusterSessionStore } from '../../../lib/sessions/cluster-session-store.js'
import type { Logger } from '../../../lib/logger.js'
import { until } from '../../helpers/ws-client.js'

// The primary's supervision with fake workers in this process: each fake is node:cluster's Worker as the
// primary sees it (events, send, kill), with a ClusterWorker at the other end of its "IPC".

const copy = (message: unknown): unknown => JSON.parse(JSON.stringify(message))

class FakeWorker extends EventEmitter {
  static nextId = 1
  readonly id = FakeWorker.nextId++
  readonly channel: ClusterWorker
  readonly signals: string[] = []
  connected = true
  /** The IPC channel closed under the primary before the exit arrived (the worker is exiting): sends fail with EPIPE. */
  channelBroken = false
  readonly process = { pid: 10_000 + this.id, kill: (signal: string) => { this.signals.push(signal); if (signal === 'SIGKILL') this.exit(null, 'SIGKILL') } }

  constructor () {
    super()
    this.channel = new ClusterWorker(this.id, (message) => { queueMicrotask(() => { this.emit('message', copy(message)) }) })
  }

  isConnected (): boolean { return this.connected }
  /** As node's: a failed send reports to its callback, or without one as an 'error' event (which crashes when unheard). */
  send (message: unknown, _handle?: unknown, callback?: (error: Error | null) => void): boolean {
    if (this.channelBroken) {
      const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })
      process.nextTick(() => { if (callback === undefined) this.emit('error', epipe); else callback(epipe) })
      return false
    }
    queueMicrotask(() => { this.channel.receive(copy(message)); callback?.(null) })
    return true
  }

  listen (port = 4321): void { this.emit('listening', { address: '127.0.0.1', port, addressType: 4 }) }
  exit (code: number | null, signal: string | null = null): void {
    if (!this.connected) return
    this.connected = false
    this.emit('exit', code, signal)
  }
}

function recordingLog (): { log: Logger, lines: Array<{ msg: string, fields: Record<string, unknown> }> } {
  const lines: Array<{ msg: string, fields: Record<string, unknown> }> = []
  const write = (fields: unknown, msg?: string): void => { lines.push({ msg: msg ?? '', fields: fields as Record<string, unknown> }) }
  const log: Logger = { trace: write, debug: write, info: write, warn: write, error: write, child: () => log }
  return { log, lines }
}

/** The environment each fake was forked with. */
const forkEnvs: Array<Record<string, string>> = []

function primaryWithFakes (workers: number, options: { backoff?: RestartBackoff, exitGraceMs?: number } = {}): { primary: ClusterPrimary, forked: FakeWorker[], lines: ReturnType<typeof recordingLog>['lines'] } {
  const forked: FakeWorker[] = []
  const { log, lines } = recordingLog()
  const primary = new ClusterPrimary({
    workers,
    log,
    ...options,
    fork: (env) => {
      const worker = new FakeWorker()
      forkEnvs.push(env)
      forked.push(worker)
      return worker as unknown as Worker
    }
  })
  return { primary, forked, lines }
}

t.test('start resolves with the shared address once every worker listens; stop drains each and waits for its exit', async t => {
  const { primary, forked } = primaryWithFakes(2)
  const started = primary.start()
  t.equal(forked.length, 2)
  forked[0]?.listen()
  forked[1]?.listen()
  t.same(await started, { host: '127.0.0.1', port: 4321 })
  t.equal(primary.size, 2)
  t.same(primary.pids, forked.map(w => w.process.pid))
  t.same(forkEnvs, [{ LLMRTC_CLUSTER_WORKER: '1' }, { LLMRTC_CLUSTER_WORKER: '1' }], 'a forked worker knows it is one of llmrtc\'s')

  const drains: Array<number | undefined> = []
  for (const worker of forked) worker.channel.handle({ drain: (ms) => { drains.push(ms); worker.exit(0) } })
  await primary.stop(1234)
  t.same(drains, [1234, 1234], 'every worker was told to drain, with the timeout')
  await primary.stop()
  t.equal(primary.size, 0)
})

t.test('the workers share the primary\'s records, and a scrape on any worker sums them all', async t => {
  const { primary, forked } = primaryWithFakes(2)
  const started = primary.start()
  for (const worker of forked) worker.listen()
  await started
  const [a, b] = forked as [FakeWorker, FakeWorker]
  const storeA = new ClusterSessionStore(a.channel)
  const storeB = new ClusterSessionStore(b.channel)
  await storeA.set({ id: 's1', principal: null, history: [{ role: 'user', content: 'hi' }], data: { stage: 'greet' }, createdAt: 1, lastActivityAt: 2 }, 60_000)
  t.same((await storeB.get('s1'))?.data, { stage: 'greet' }, 'written by one worker, read by the other')
  await storeB.delete('s1')
  t.equal(await storeA.get('s1'), undefined)

  a.channel.handle({ metricsSnapshot: async () => [{ name: 'llmrtc_active_connections', help: 'c', type: 'gauge', values: [{ value: 2, labels: {} }], aggregator: 'sum' }] })
  b.channel.handle({ metricsSnapshot: async () => [{ name: 'llmrtc_active_connections', help: 'c', type: 'gauge', values: [{ value: 3, labels: {} }], aggregator: 'sum' }] })
  const scrape = await b.channel.request({ op: 'metrics' }) as { body: string }
  t.match(scrape.body, /^llmrtc_active_connections 5$/m)
  await t.rejects(a.channel.request({ op: 'nonsense' } as never), { message: /unknown request nonsense/ })

  for (const worker of forked) worker.channel.handle({ drain: () => { worker.exit(0) } })
  await primary.stop()
})

t.test('a worker that exits before listening fails start with LLMRTC_ERR_CLUSTER_WORKER_START, naming its reported error, and stops the others', async t => {
  const { primary, forked } = primaryWithFakes(2, { exitGraceMs: 10 })
  const started = primary.start()
  const [bad, good] = forked as [FakeWorker, FakeWorker]
  good.listen()
  await bad.channel.request({ op: 'start-failed', message: 'port in use', code: 'EADDRINUSE' })
  bad.exit(1)
  await t.rejects(started, { code: 'LLMRTC_ERR_CLUSTER_WORKER_START', message: `A worker failed to start: worker ${bad.id}: port in use (EADDRINUSE)` })
  t.same(good.signals, ['SIGKILL'], 'the other worker, which never registered a drain, is killed after the grace')

  const silent = primaryWithFakes(1)
  const failing = silent.primary.start()
  silent.forked[0]?.exit(null, 'SIGSEGV')
  await t.rejects(failing, { message: /worker \d+: exited with SIGSEGV before listening/ })
})

t.test('a drain sent on a channel that broke as its worker exits (EPIPE) neither crashes the primary nor stops it waiting for that exit', async t => {
  const { primary, forked } = primaryWithFakes(2, { exitGraceMs: 10 })
  const started = primary.start()
  for (const worker of forked) worker.listen()
  await started
  const [exiting, other] = forked as [FakeWorker, FakeWorker]
  other.channel.handle({ drain: () => { other.exit(0) } })
  exiting.channelBroken = true
  await primary.stop(0)
  t.same(exiting.signals, ['SIGKILL'], 'the worker the drain never reached is killed after the grace')
  t.same(other.signals, [], 'the other drained')
  t.equal(primary.size, 0)
})

t.test('a crashed worker is replaced; a crash loop backs off instead of spinning; nothing is replaced once stopping', async t => {
  const { primary, forked, lines } = primaryWithFakes(2, { backoff: new RestartBackoff({ minUptimeMs: 60_000, initialDelayMs: 5, maxDelayMs: 20 }) })
  const started = primary.start()
  for (const worker of forked) worker.listen()
  await started

  // Each replacement dies young: the waits double, up to the ceiling.
  for (let crash = 0; crash < 4; crash++) {
    const victim = forked[forked.length - 1] as FakeWorker
    victim.exit(null, 'SIGKILL')
    await until(() => forked.length === 3 + crash, `replacement ${crash + 1}`)
  }
  const delays = lines.filter(l => l.msg === 'worker exited: its sessions are lost, a new worker replaces it').map(l => l.fields.delayMs)
  t.same(delays, [5, 10, 20, 20])
  t.equal(primary.size, 2, 'two workers again')
  forked[forked.length - 1]?.listen()
  await until(() => lines.some(l => l.msg === 'replacement worker listening'), 'the replacement listening')

  for (const worker of forked) worker.channel.handle({ drain: () => { worker.exit(0) } })
  const victim = forked[forked.length - 1] as FakeWorker
  victim.exit(null, 'SIGKILL')
  await primary.stop()
  await new Promise(resolve => setTimeout(resolve, 40))
  t.equal(forked.length, 6, 'the replacement due after that crash is not forked: the primary is stopping')
})
