/**
 * The server side of bench/telephony-capacity.ts, run as its child process (`node --import tsx
 * bench/telephony-capacity-server.ts`, with an IPC channel): an LLMRTCServer (library mode, instant
 * providers, default VAD, Twilio calls, no WebRTC) on 127.0.0.1 plus a probe that measures this process
 * over a window the parent opens and closes. Not meant to be run by hand.
 *
 * IPC as bench/concurrency-server.ts: `{ type: 'listening', port }`; `{ cmd: 'start' }` → `{ type:
 * 'started' }`; `{ cmd: 'stop' }` → CallWindowReport; `{ cmd: 'exit' }`.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'
import WebSocket from 'ws'
import { SileroVad } from '../lib/vad/silero-vad.js'
import { LLMRTCServer } from '../server/llmrtc-server.js'
import { instantProviders } from './instant-providers.js'
import { LATE_MESSAGE_MS, telephonyOptions } from './telephony-call.js'

export interface CallWindowReport {
  type: 'window'
  windowMs: number
  /** Calls with a media stream open at the end of the window. */
  calls: number
  /** Event-loop delay over the window (monitorEventLoopDelay, 2 ms resolution), ms. */
  loopDelay: { p50: number, p99: number, max: number }
  elu: number
  /** CPU of the whole process (JS thread, onnxruntime and libuv threads), % of one core. */
  cpuPercent: number
  rssMB: number
  heapUsedMB: number
  vad: { windowsPerSecond: number, meanBatch: number, backlogReports: number }
  /** Outbound media messages sent in the window, the stalls (one left > LATE_MESSAGE_MS after its due time), the worst (ms), answers begun. */
  outbound: { messages: number, late: number, maxLateMs: number, answers: number }
  /** Inbound media messages received in the window, and the largest gap between two of one call (ms). */
  inbound: { messages: number, gapMaxMs: number }
  warnings: number
  warningSamples: string[]
}

const send = (message: unknown): void => { process.send?.(message) }

let warnings = 0
let warningSamples: string[] = []
const logStream = {
  write (line: string): void {
    warnings++
    if (warningSamples.length < 5) warningSamples.push(line.slice(0, 300))
  }
}

// Probe: each outbound media message of a call's socket against the one before it in the same answer (an
// answer is a run of media messages with no gap over 100 ms): the output sends one every 20 ms, so one
// that leaves more than LATE_MESSAGE_MS after its due time is a stall the caller may hear. After a stall
// the output restarts its schedule (late audio is delayed, never burst out): the next one is due 20 ms on.
interface Schedule { lastAt: number }
const schedules = new WeakMap<object, Schedule>()
let outbound = { messages: 0, late: 0, maxLateMs: 0, answers: 0 }
const wsSend = WebSocket.prototype.send as (this: WebSocket, data: unknown, ...rest: unknown[]) => void
WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
  if (typeof data === 'string' && data.startsWith('{"event":"media"')) {
    const now = performance.now()
    const schedule = schedules.get(this)
    outbound.messages++
    if (schedule === undefined || now - schedule.lastAt > 100) {
      schedules.set(this, { lastAt: now })
      outbound.answers++
    } else {
      const lateMs = now - (schedule.lastAt + 20)
      schedule.lastAt = now
      if (lateMs > LATE_MESSAGE_MS) outbound.late++
      if (lateMs > outbound.maxLateMs) outbound.maxLateMs = lateMs
    }
  }
  wsSend.call(this, data, ...rest)
} as typeof WebSocket.prototype.send

const server = new LLMRTCServer({
  env: false,
  port: 0,
  host: '127.0.0.1',
  logger: { level: 'warn', stream: logStream },
  providers: instantProviders(),
  telephony: telephonyOptions,
  webrtc: false,
  // Every simulated call comes from 127.0.0.1: no per-client limit, no rate limit, and room past the default 100 sessions.
  maxSessionsPerClient: 0,
  maxSessions: 10_000,
  rateLimit: false
})
const app = server.getApp()
await app.ready()
let backlogReports = 0
const createDetector = app.llmrtcVad.createDetector.bind(app.llmrtcVad)
app.llmrtcVad.createDetector = (options) => createDetector({ ...options, onBacklog: () => { backlogReports++ } })
// Inbound: every message the server's sockets receive (the calls' media sockets).
let inboundMessages = 0
let inboundGapMax = 0
const lastInbound = new WeakMap<object, number>()
const wsEmit = WebSocket.prototype.emit as (this: WebSocket, event: string | symbol, ...args: unknown[]) => boolean
WebSocket.prototype.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]) {
  if (event === 'message') {
    const now = performance.now()
    inboundMessages++
    const last = lastInbound.get(this)
    if (last !== undefined && now - last > inboundGapMax) inboundGapMax = now - last
    lastInbound.set(this, now)
  }
  return wsEmit.call(this, event, ...args)
} as typeof WebSocket.prototype.emit
const vad = await SileroVad.acquire()
const { port } = await server.start()

const loopDelay = monitorEventLoopDelay({ resolution: 2 })
let windowStart = 0
let cpuStart = process.cpuUsage()
let eluStart: EventLoopUtilization = performance.eventLoopUtilization()
let vadStart = vad.stats

process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'start') {
    loopDelay.reset()
    loopDelay.enable()
    windowStart = performance.now()
    cpuStart = process.cpuUsage()
    eluStart = performance.eventLoopUtilization()
    vadStart = vad.stats
    backlogReports = 0
    warnings = 0
    warningSamples = []
    outbound = { messages: 0, late: 0, maxLateMs: 0, answers: 0 }
    inboundMessages = 0
    inboundGapMax = 0
    send({ type: 'started' })
  } else if (message.cmd === 'stop') {
    loopDelay.disable()
    const windowMs = performance.now() - windowStart
    const cpu = process.cpuUsage(cpuStart)
    const stats = vad.stats
    ;(globalThis as { gc?: () => void }).gc?.()
    const memory = process.memoryUsage()
    const ms = (ns: number): number => ns / 1e6
    const report: CallWindowReport = {
      type: 'window',
      windowMs,
      calls: app.llmrtcSessions.list().length,
      loopDelay: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      elu: performance.eventLoopUtilization(eluStart).utilization,
      cpuPercent: (cpu.user + cpu.system) / 1000 / windowMs * 100,
      rssMB: memory.rss / 2 ** 20,
      heapUsedMB: memory.heapUsed / 2 ** 20,
      vad: {
        windowsPerSecond: (stats.windows - vadStart.windows) / windowMs * 1000,
        meanBatch: (stats.windows - vadStart.windows) / Math.max(1, stats.runs - vadStart.runs),
        backlogReports
      },
      outbound: { ...outbound },
      inbound: { messages: inboundMessages, gapMaxMs: inboundGapMax },
      warnings,
      warningSamples
    }
    send(report)
  } else if (message.cmd === 'exit') {
    void server.stop().finally(() => { process.exit(0) })
    setTimeout(() => { process.exit(0) }, 5000).unref()
  }
})
process.on('disconnect', () => { process.exit(0) })
// The parent gone without a disconnect (killed): leave too.
const parent = process.ppid
setInterval(() => { if (process.ppid !== parent) process.exit(0) }, 1000).unref()

send({ type: 'listening', port, rssMB: process.memoryUsage().rss / 2 ** 20 })
