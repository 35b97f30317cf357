import type { FastifyInstance } from 'fastify'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { LLMRTCServer } from '../../server/llmrtc-server.js'
import { cleanEnv, startChild, type RunningChild } from '../helpers/child-server.js'
import { connectOverNetwork, type RecordingSocket } from '../helpers/ws-client.js'

// LLMRTCServer({ workers: 2 }) as a user runs it: a script (workers-server.ts) in a child process, which
// node:cluster runs again in each worker. Embedded default providers, no keys.

const script = fileURLToPath(new URL('./workers-server.ts', import.meta.url))

// Each cluster is three processes loading the server (10-60 s in all on a busy 2-core machine), four clusters
// in this file: more than the suite's 180 s per file.
t.setTimeout(8 * 60_000)

interface Cluster { run: RunningChild, port: number }

/** No keys, nothing of the developer's shell; the flag the script wants before it starts anything. */
const fixtureEnv = (env: Record<string, string> = {}): Record<string, string> => cleanEnv({ WORKERS_FIXTURE: '1', ...env })

async function startCluster (t: Test, env: Record<string, string> = {}): Promise<Cluster> {
  const run = startChild(t, process.execPath, ['--import', 'tsx', script], fixtureEnv(env))
  const [, port] = await run.waitFor(/primary listening (\d+)/)
  return { run, port: Number(port) }
}

/** GET on a new connection each time (no keep-alive), so that node:cluster hands each to the next worker. */
async function get (port: number, path: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    }).on('error', reject).end()
  })
}

/** A WebSocket to the cluster, and the worker the primary handed it to (the script prints each connection). */
async function connectTo (cluster: Cluster): Promise<{ client: RecordingSocket, id: string, worker: number }> {
  // connectOverNetwork needs only a listening server's port: the cluster's.
  const stub = { server: { listening: true, address: () => ({ port: cluster.port }) } } as unknown as FastifyInstance
  const client = await connectOverNetwork(stub)
  const { id } = await client.next('ready') as { id: string }
  const [, worker] = await cluster.run.waitFor(new RegExp(`connection ${id} on worker (\\d+)`))
  return { client, id, worker: Number(worker) }
}

/** Connects until a connection lands on a worker other than `worker` (round-robin: the next one does). */
async function connectElsewhere (cluster: Cluster, worker: number): Promise<{ client: RecordingSocket, id: string, worker: number }> {
  for (;;) {
    const next = await connectTo(cluster)
    if (next.worker !== worker) return next
    next.client.ws.close()
  }
}

async function turn (client: RecordingSocket, text: string): Promise<void> {
  const from = client.messages.length
  client.send({ type: 'text', text })
  await client.next('metrics', from, 15_000)
}

function metric (text: string, line: RegExp): number {
  const match = text.match(line)
  return match?.[1] === undefined ? Number.NaN : Number(match[1])
}

t.test('two workers share one port: connections land on both, a session resumes on the other worker with its history, /metrics sums both, SIGTERM drains both and exits 0', async t => {
  const cluster = await startCluster(t)
  const [, pids] = await cluster.run.waitFor(/primary listening \d+ pids ([\d,]+)/)
  // Each worker prints its own line: a worker's line may reach the pipe after the primary's.
  const listening = await Promise.all([1, 2].map(async worker => (await cluster.run.waitFor(new RegExp(`worker ${worker} pid \\d+ listening (\\d+)`)))[1]))
  t.same(listening.map(Number), [cluster.port, cluster.port], 'port 0: the workers listen on the port the primary reports')

  const health = [await get(cluster.port, '/health'), await get(cluster.port, '/health')].map(r => JSON.parse(r.body) as { ok: boolean, worker: number, pid: number })
  t.same(health.map(h => h.worker).sort(), [1, 2], '/health answers per process: one from each worker')
  t.ok(health.every(h => h.ok && pids?.split(',').includes(String(h.pid))), 'with the worker\'s pid')

  const first = await connectTo(cluster)
  await turn(first.client, 'hello there')
  const record = JSON.parse((await get(cluster.port, `/test/record/${first.id}`)).body) as { history: string[] | null }
  t.equal(record.history?.length, 2, 'the turn\'s record is in the shared store, read from either worker')
  first.client.ws.close()
  await first.client.closed

  const second = await connectElsewhere(cluster, first.worker)
  second.client.send({ type: 'reconnect', sessionId: first.id })
  t.same(await second.client.next('reconnect-ack'), { type: 'reconnect-ack', success: true, sessionId: first.id, historyRecovered: true }, `the session of worker ${first.worker} resumes on worker ${second.worker}`)
  await turn(second.client, 'and again')
  let history: string[] | null = null
  for (let i = 0; i < 20 && history?.length !== 4; i++) {
    history = (JSON.parse((await get(cluster.port, `/test/record/${first.id}`)).body) as { history: string[] | null }).history
  }
  t.equal(history?.length, 4, 'the conversation continued from its history: 2 messages before the move, 2 after')
  t.equal(history?.[0], 'hello there')

  const other = await connectElsewhere(cluster, second.worker)
  await turn(other.client, 'one more')
  const scrapes = [await get(cluster.port, '/metrics'), await get(cluster.port, '/metrics')]
  for (const scrape of scrapes) {
    t.equal(metric(scrape.body, /^llmrtc_active_connections (\d+)$/m), 2, 'connections of both workers, whichever worker answers the scrape')
    t.equal(metric(scrape.body, /^llmrtc_turns_total\{outcome="completed",transport="websocket"\} (\d+)$/m), 3, 'turns of both workers')
  }

  const last = second.client.messages.length
  second.client.send({ type: 'text', text: 'a last question' })
  await second.client.next('transcript', last)
  cluster.run.child.kill('SIGTERM')
  t.equal((await second.client.closed).code, 1001, 'each worker drains: its sockets close with 1001 (going away)')
  t.ok(second.client.messages.slice(last).some(m => m.type === 'metrics'), 'after the turn in progress has finished')
  t.equal((await other.client.closed).code, 1001)
  t.same(await cluster.run.exited, { code: 0, signal: null }, 'the primary exits 0 once every worker has')
  t.equal(cluster.run.output().match(/"msg":"drained: no turn in progress"/g)?.length, 2, 'both workers drained')
})

t.test('a worker killed by SIGKILL is replaced, the other worker\'s session goes on talking, and the lost one resumes from its record', async t => {
  const cluster = await startCluster(t)
  const doomed = await connectTo(cluster)
  await turn(doomed.client, 'a question before the crash')
  const survivor = await connectElsewhere(cluster, doomed.worker)
  await turn(survivor.client, 'before the crash')
  const victim = JSON.parse((await get(cluster.port, '/health')).body) as { worker: number, pid: number }
  const target = victim.worker === doomed.worker ? victim : JSON.parse((await get(cluster.port, '/health')).body) as { worker: number, pid: number }
  t.equal(target.worker, doomed.worker)
  process.kill(target.pid, 'SIGKILL')
  t.equal((await doomed.client.closed).code, 1006, 'the killed worker\'s session is lost')
  await cluster.run.waitFor(/"msg":"worker exited: its sessions are lost, a new worker replaces it"/)
  await cluster.run.waitFor(/"msg":"replacement worker listening"/)

  survivor.client.send({ type: 'ping', timestamp: 7 })
  t.same(await survivor.client.next('pong'), { type: 'pong', timestamp: 7 }, 'the other worker\'s session is untouched')
  await turn(survivor.client, 'after the crash')
  t.equal(survivor.client.messages.filter(m => m.type === 'metrics').length, 2, 'and its turns go on')

  const back = await connectTo(cluster)
  back.client.send({ type: 'reconnect', sessionId: doomed.id })
  t.same(await back.client.next('reconnect-ack'), { type: 'reconnect-ack', success: true, sessionId: doomed.id, historyRecovered: true }, 'the lost session\'s client resumes on a live worker from the record of its last turn')
  back.client.ws.close()

  const workers = new Set<number>()
  for (let i = 0; i < 4; i++) workers.add((JSON.parse((await get(cluster.port, '/health')).body) as { worker: number }).worker)
  t.ok(!workers.has(doomed.worker) && workers.size === 2, `two workers serve again, the replacement among them (${[...workers].join(', ')})`)
  survivor.client.ws.close()
})

t.test('a worker that cannot start makes the primary\'s start() reject with LLMRTC_ERR_CLUSTER_WORKER_START, naming its error', async t => {
  const run = startChild(t, process.execPath, ['--import', 'tsx', script], fixtureEnv({ TEST_OPTIONS: JSON.stringify({ historyLimit: -1 }) }))
  await run.waitFor(/primary start failed LLMRTC_ERR_CLUSTER_WORKER_START: A worker failed to start: worker \d: .*historyLimit.*\(LLMRTC_ERR_OPTIONS_INVALID\)/)
  t.same(await run.exited, { code: 1, signal: null })
})

t.test('workers: 1 is one process, as before: no cluster, /health as before', async t => {
  const run = startChild(t, process.execPath, ['--import', 'tsx', script], fixtureEnv({ TEST_WORKERS: '1' }))
  const [, port] = await run.waitFor(/single 0 pid \d+ listening (\d+)/)
  t.same(JSON.parse((await get(Number(port), '/health')).body), { ok: true })
  t.notMatch(run.output(), /primary|worker \d/)
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null })
})

t.test('in this process: workers 1 is single, a bad count fails at construction, and a primary that was never started serves nothing', async t => {
  const single = new LLMRTCServer({ env: false, workers: 1, port: 0, host: '127.0.0.1', logger: false, webrtc: false })
  t.teardown(() => single.stop())
  t.equal(single.role, 'single')
  t.equal(single.workerId, undefined)
  const { port } = await single.start()
  t.same(JSON.parse((await get(port, '/health')).body), { ok: true }, '`workers` is not passed to the plugin as an unknown option')

  t.throws(() => new LLMRTCServer({ env: false, workers: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"workers": expected a positive integer or "auto", instead got 0/ })
  t.throws(() => new LLMRTCServer({ env: { WORKERS: '2', TWILIO_AUTH_TOKEN: 'x' } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"workers": expected 1 with phone calls \(telephony\), instead got "2"/ })
  t.throws(() => new LLMRTCServer({ env: false, workers: 2, telephony: { plivo: { authToken: 'x' } } }), { message: /1 with phone calls/ })
  t.throws(() => new LLMRTCServer({ env: { WORKERS: 'two' } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: /WORKERS: expected a positive integer or "auto", instead got "two"/ })

  const primary = new LLMRTCServer({ env: { WORKERS: '2' }, logger: false })
  t.equal(primary.role, 'primary', 'env WORKERS is read when the option is not given')
  primary.getApp().get('/ignored', async () => ({}))
  t.equal(primary.getApp().server.listening, false, 'the primary\'s app is inert')
  t.equal(await primary.say('any', 'hello'), undefined, 'no session lives in the primary')
  t.equal(await primary.generateReply('any', 'greet'), undefined)
  t.same(primary.workerPids, [])
  await primary.stop()
  t.equal(primary.started, false)
})
