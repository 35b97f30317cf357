/**
 * The server side of `bench/concurrency.ts --original <dir>`: the original llmrtc (the published
 * `@llmrtc/llmrtc-backend` 1.3, installed on its own in <dir>, since this package has the same name), in
 * library mode with the same instant providers, so both servers are measured by the same clients and the
 * same per-thread CPU accounting. It has no probe: the report carries the session count and nothing of
 * the server's insides (those columns print as NaN or 0). Same IPC as bench/concurrency-server.ts.
 *
 * Install the original once:
 *   mkdir -p /tmp/orig && cd /tmp/orig && npm init -y && ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts @llmrtc/llmrtc-backend@1.3.0
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CallStats, WindowReport } from './concurrency-probe.js'
import { instantProviders } from './instant-providers.js'

const send = (message: unknown): void => { process.send?.(message) }
const dir = process.env.BENCH_ORIGINAL_DIR
if (dir === undefined) throw new Error('BENCH_ORIGINAL_DIR: the directory where @llmrtc/llmrtc-backend 1.3 is installed')
const entry = join(dir, 'node_modules', '@llmrtc', 'llmrtc-backend', 'dist', 'index.js')
const { LLMRTCServer } = await import(pathToFileURL(entry).href) as {
  LLMRTCServer: new (config: Record<string, unknown>) => {
    on: (event: string, handler: (info: { port?: number, id?: string }) => void) => unknown
    start: () => Promise<void>
    stop: () => Promise<void>
    getServer: () => { address: () => { port: number } | string | null } | null
  }
}

// Its logs (console) go to stderr, away from the bench's tables.
console.log = console.error
const sessions = new Set<string>()
const server = new LLMRTCServer({ providers: instantProviders(), port: 0, host: '127.0.0.1' })
server.on('connection', (info) => { if (info.id !== undefined) sessions.add(info.id) })
server.on('disconnect', (info) => { if (info.id !== undefined) sessions.delete(info.id) })
await server.start()
// Its `listening` event reports the configured port (0): the bound one is the HTTP server's.
const address = server.getServer()?.address()
const port = typeof address === 'object' && address !== null ? address.port : 0

let windowStart = 0
const nan: CallStats = { calls: 0, totalMs: 0, p50Us: NaN, p99Us: NaN, maxUs: NaN }
process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'start') {
    windowStart = performance.now()
    send({ type: 'started' })
  } else if (message.cmd === 'stop') {
    ;(globalThis as { gc?: () => void }).gc?.()
    // The probe's report, typed as such, so that a field the bench reads cannot go missing here.
    const report: WindowReport = {
      type: 'window',
      windowMs: performance.now() - windowStart,
      sessions: sessions.size,
      sessionsPerProcess: [sessions.size],
      loopDelay: { p50: NaN, p99: NaN, max: NaN },
      elu: NaN,
      jsThread: { onCpuPercent: NaN, waitingForCpuPercent: NaN },
      heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20,
      vad: { windowsPerSecond: NaN, meanBatch: NaN, backlogMaxMs: NaN, backlogReports: 0 },
      output: { tracks: 0, framesSent: 0, restarts: 0 },
      inbound: { delivered: 0, gapP99Ms: NaN, gapMaxMs: NaN },
      nativeCalls: { onData: nan, channelSend: nan },
      warnings: 0,
      warningSamples: []
    }
    send(report)
  } else if (message.cmd === 'exit') {
    void server.stop().finally(() => { process.exit(0) })
    setTimeout(() => { process.exit(0) }, 5000).unref()
  }
})
process.on('disconnect', () => { process.exit(0) })
send({ type: 'listening', port, pids: [process.pid], workerPids: [] })
