/**
 * The server side of bench/concurrency.ts, run as its child process (`node --expose-gc --import tsx
 * bench/concurrency-server.ts`, with an IPC channel): an LLMRTCServer (library mode, instant providers,
 * default VAD) on 127.0.0.1 with the probe of bench/concurrency-probe.ts. Not meant to be run by hand.
 *
 * BENCH_WORKERS=N (N > 1) passes `workers: N` to LLMRTCServer: this script then runs again in each
 * worker (node:cluster), where the probe is installed, and the process the bench started is the
 * cluster's primary, which relays the bench's commands to every worker and merges their reports.
 *
 * IPC: the child sends `{ type: 'listening', port, pids }`; the parent sends `{ cmd: 'start' }` (answer
 * `{ type: 'started' }`), `{ cmd: 'stop' }` (answer a WindowReport) and `{ cmd: 'exit' }`.
 */
import cluster, { type Worker } from 'node:cluster'
import { Writable } from 'node:stream'
import { LLMRTCServer, type LLMRTCServerOptions } from '../server/llmrtc-server.js'
import { mergeWindows, probe, timeNativeCalls, type WindowReport } from './concurrency-probe.js'
import { instantProviders } from './instant-providers.js'

const send = (message: unknown): void => { process.send?.(message) }
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1)
// BENCH_OPUS_DTX=1 (or 0): the server's outbound audio with (or without) Opus DTX (webrtc.opusDtx), to
// compare; unset, the server's default.
const OPUS_DTX = process.env.BENCH_OPUS_DTX

timeNativeCalls()
// Fastify's logger at warn level into a counter (stdout stays free for the parent).
const log = { warnings: 0, samples: [] as string[] }
const logStream = new Writable({
  write (chunk: Buffer, _encoding, callback) {
    log.warnings++
    if (log.samples.length < 5) log.samples.push(chunk.toString().slice(0, 300))
    callback()
  }
})

const server = new LLMRTCServer({
  env: false,
  port: 0,
  host: '127.0.0.1',
  logger: { level: 'warn', stream: logStream },
  providers: instantProviders(),
  // Every benchmark client connects from 127.0.0.1: no per-client session limit, no HTTP rate limit.
  maxSessionsPerClient: 0,
  rateLimit: false,
  // Versions without the option (before Opus DTX) refuse it: only set when asked.
  ...(OPUS_DTX === undefined ? {} : { webrtc: { opusDtx: OPUS_DTX === '1' } }),
  // Versions without workers ignore the option.
  ...(WORKERS > 1 ? { workers: WORKERS } : {})
} as LLMRTCServerOptions)
const cluster_ = server as unknown as { role?: 'single' | 'primary' | 'worker', workerPids?: number[] }

if (cluster_.role === 'primary') {
  // Serves nothing: relays the bench's commands to every worker and merges their answers.
  const { port } = await server.start()
  const workers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
  let waiting: { type: string, answers: unknown[], count: number, done: (answers: unknown[]) => void } | undefined
  cluster.on('message', (_worker, message: { type?: string }) => {
    if (waiting === undefined || message?.type !== waiting.type) return
    waiting.answers.push(message)
    if (waiting.answers.length === waiting.count) waiting.done(waiting.answers)
  })
  const ask = async (cmd: string, type: string): Promise<unknown[]> => await new Promise(resolve => {
    const all = workers()
    waiting = { type, answers: [], count: all.length, done: resolve }
    for (const worker of all) worker.send({ cmd })
  })
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'start') {
      void ask('start', 'started').then(() => { send({ type: 'started' }) })
    } else if (message.cmd === 'stop') {
      void ask('stop', 'window').then((reports) => { send(mergeWindows(reports as WindowReport[])) })
    } else if (message.cmd === 'exit') {
      void server.stop({ drainTimeoutMs: 0 }).finally(() => { process.exit(0) })
      setTimeout(() => { process.exit(0) }, 8000).unref()
    }
  })
  process.on('disconnect', () => { process.exit(0) })
  send({ type: 'listening', port, pids: [process.pid, ...(cluster_.workerPids ?? [])], workerPids: cluster_.workerPids ?? [] })
} else {
  const app = server.getApp()
  await app.ready()
  const window = await probe(app, log)
  const { port } = await server.start()
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'start') {
      window.start()
      send({ type: 'started' })
    } else if (message.cmd === 'stop') {
      send(window.stop())
    } else if (message.cmd === 'exit') {
      void server.stop().finally(() => { process.exit(0) })
      setTimeout(() => { process.exit(0) }, 5000).unref()
    }
  })
  // The parent gone: leave at once (explicitly: wrtc segfaults at a natural exit).
  process.on('disconnect', () => { process.exit(0) })
  send({ type: 'listening', port, pids: [process.pid], workerPids: [] })
}
