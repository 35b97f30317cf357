/**
 * The server side of bench/concurrency.ts, run as its child process (`node --import tsx
 * bench/concurrency-server.ts`, with an IPC channel): an LLMRTCServer (library mode, instant providers,
 * default VAD) on 127.0.0.1 plus a probe that measures this process over a window the parent opens and
 * closes. Not meant to be run by hand.
 *
 * IPC: the child sends `{ type: 'listening', port }`; the parent sends `{ cmd: 'start' }` (answer
 * `{ type: 'started' }`), `{ cmd: 'stop' }` (answer `{ type: 'window', ... }`, see WindowReport) and
 * `{ cmd: 'exit' }`.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'
import { Writable } from 'node:stream'
import type { AudioFrame } from '../lib/audio/audio-frame.js'
import type { PacedAudioOutput } from '../lib/transport/paced-audio-output.js'
import { SileroVad } from '../lib/vad/silero-vad.js'
import { BACKLOG_WARN_MS, type SpeechDetector } from '../lib/vad/speech-detector.js'
import { loadWrtc } from '../plugins/webrtc/wrtc.js'
import { LLMRTCServer } from '../server/llmrtc-server.js'
import { instantProviders } from './instant-providers.js'

export interface WindowReport {
  type: 'window'
  windowMs: number
  sessions: number
  /** Event-loop delay over the window (monitorEventLoopDelay, 2 ms resolution), ms. */
  loopDelay: { p50: number, p99: number, max: number }
  /** Event-loop utilization (share of the window the JS thread was not waiting for events), 0-1. */
  elu: number
  /**
   * The JS thread's window, in % of wall time: running on a CPU, and runnable but waiting for one (the
   * machine busy: other jobs, the clients, the server's own threads), from /proc/<pid>/task/<pid>/schedstat.
   * Event-loop utilization minus both ≈ time blocked inside synchronous calls (waiting on another thread).
   */
  jsThread: { onCpuPercent: number, waitingForCpuPercent: number }
  /** CPU per thread of this process, grouped by thread name (/proc), % of one core; the JS thread is the process's name. */
  threads: Record<string, number>
  /** CPU of the whole process (JS thread + wrtc, onnxruntime and libuv threads), % of one core. */
  cpuPercent: number
  /** After a full GC when run with --expose-gc. */
  rssMB: number
  heapUsedMB: number
  /** VAD: windows scored per second, mean batch size, backlog samples (every 100 ms) and reports above BACKLOG_WARN_MS. */
  vad: { windowsPerSecond: number, meanBatch: number, backlogP99Ms: number, backlogMaxMs: number, backlogReports: number }
  /** Paced outputs: frames short of real time over the window (all tracks), and schedule restarts (> 50 ms behind). */
  output: { tracks: number, framesBehind: number, framesExpected: number, restarts: number }
  /** Inbound microphone frames: delivered vs 100/s per session, and the gaps between frames of one session. */
  inbound: { delivered: number, expected: number, gapP99Ms: number, gapMaxMs: number }
  /**
   * Time the JS thread spends inside wrtc's synchronous native calls: RTCAudioSource.onData (one per
   * outbound 10 ms frame per session) and RTCDataChannel.send (each payload message is mirrored there).
   */
  nativeCalls: { onData: CallStats, channelSend: CallStats }
  /** Per session: outbound frames sent, inbound frames delivered; per detector: windows scored (all over the window). */
  perSession: { framesSent: number[], inbound: number[], vadWindows: number[] }
  /** Warnings and errors the server logged in the window (first few kept). */
  warnings: number
  warningSamples: string[]
}

export interface CallStats { calls: number, totalMs: number, p50Us: number, p99Us: number, maxUs: number }

const send = (message: unknown): void => { process.send?.(message) }

// Probe: time wrtc's synchronous native calls on the JS thread (same module instance as the plugin's).
const timings = { onData: [] as number[], channelSend: [] as number[] }
function timed<F extends (...args: never[]) => unknown> (original: F, into: number[]): F {
  return function (this: unknown, ...args: Parameters<F>) {
    const start = performance.now()
    try {
      return original.apply(this, args)
    } finally {
      if (into.length < 1_000_000) into.push(performance.now() - start)
    }
  } as unknown as F
}
type AudioSourceClass = new () => { onData (data: unknown): void }
const wrtc = loadWrtc() as unknown as { nonstandard: { RTCAudioSource: AudioSourceClass }, RTCDataChannel: { prototype: { send: (data: string) => void } } }
// onData is a non-configurable native method: time it in a subclass that the plugin then instantiates.
const NativeAudioSource = wrtc.nonstandard.RTCAudioSource
const nativeOnData = NativeAudioSource.prototype.onData as unknown as (this: unknown, data: unknown) => void
const timedOnData = timed(nativeOnData, timings.onData)
wrtc.nonstandard.RTCAudioSource = class extends NativeAudioSource {
  override onData (data: unknown): void { timedOnData.call(this, data) }
}
wrtc.RTCDataChannel.prototype.send = timed(wrtc.RTCDataChannel.prototype.send, timings.channelSend)
/** CPU ticks (1/100 s) used so far by each thread of this process, by thread id, with its name. */
function threadTicks (): Map<string, { name: string, ticks: number }> {
  const byTid = new Map<string, { name: string, ticks: number }>()
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread ended
    }
    const name = tid === String(process.pid) ? 'JS main thread' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, 'N')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    byTid.set(tid, { name, ticks: Number(fields[11]) + Number(fields[12]) }) // utime + stime
  }
  return byTid
}

/** ns on a CPU and ns runnable-but-waiting of the JS thread so far. */
function jsThreadSchedstat (): { onCpuNs: number, waitNs: number } {
  const [onCpu = '0', wait = '0'] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(' ')
  return { onCpuNs: Number(onCpu), waitNs: Number(wait) }
}

function callStats (values: number[]): CallStats {
  const totalMs = values.reduce((a, b) => a + b, 0)
  return { calls: values.length, totalMs, p50Us: percentile(values, 50) * 1000, p99Us: percentile(values, 99) * 1000, maxUs: (values.at(-1) ?? 0) * 1000 }
}

let warnings = 0
let warningSamples: string[] = []
// Fastify's logger at warn level into a counter (stdout stays free for the parent).
const logStream = new Writable({
  write (chunk: Buffer, _encoding, callback) {
    warnings++
    if (warningSamples.length < 5) warningSamples.push(chunk.toString().slice(0, 300))
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
  rateLimit: false
})
const app = server.getApp()
await app.ready()

// Probe: every detector (backlog), every track (pacing), every microphone (arrival gaps).
const detectors = new Set<SpeechDetector>()
let backlogReports = 0
const createDetector = app.llmrtcVad.createDetector.bind(app.llmrtcVad)
app.llmrtcVad.createDetector = (options) => {
  const detector = createDetector({ ...options, onBacklog: () => { backlogReports++ } })
  detectors.add(detector)
  options.signal?.addEventListener('abort', () => { detectors.delete(detector) }, { once: true })
  return detector
}
const outputs = new Map<string, PacedAudioOutput>()
let inboundDelivered = 0
const inboundBySession = new Map<string, number>()
let inboundGaps: number[] = []
app.llmrtcTransport.on('media', (sessionId, media) => {
  outputs.set(sessionId, media.output as PacedAudioOutput)
  let last = 0
  media.onAudio((_frame: AudioFrame) => {
    const now = performance.now()
    inboundDelivered++
    inboundBySession.set(sessionId, (inboundBySession.get(sessionId) ?? 0) + 1)
    if (last !== 0 && inboundGaps.length < 2_000_000) inboundGaps.push(now - last)
    last = now
  })
})
app.llmrtcTransport.on('closed', (sessionId) => { outputs.delete(sessionId) })
// A second handle on the process's shared Silero model, only to read its counters.
const vad = await SileroVad.acquire()

const { port } = await server.start()

const loopDelay = monitorEventLoopDelay({ resolution: 2 })
let windowStart = 0
let cpuStart = process.cpuUsage()
let schedStart = { onCpuNs: 0, waitNs: 0 }
let threadsStart = new Map<string, { name: string, ticks: number }>()
let eluStart: EventLoopUtilization = performance.eventLoopUtilization()
let vadStart = vad.stats
let outputStart = new Map<string, { framesSent: number, restarts: number }>()
let backlogSamples: number[] = []
let inboundStart = new Map<string, number>()
let detectorWindowsStart = new Map<SpeechDetector, number>()
let backlogTimer: NodeJS.Timeout | undefined

/** Sorts `values` in place; p-th percentile by nearest rank. */
function percentile (values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = values.sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}

function startWindow (): void {
  loopDelay.reset()
  loopDelay.enable()
  windowStart = performance.now()
  cpuStart = process.cpuUsage()
  threadsStart = threadTicks()
  schedStart = jsThreadSchedstat()
  eluStart = performance.eventLoopUtilization()
  vadStart = vad.stats
  outputStart = new Map([...outputs].map(([id, output]) => [id, { ...output.stats }]))
  inboundStart = new Map(inboundBySession)
  detectorWindowsStart = new Map([...detectors].map(d => [d, d.windows]))
  backlogReports = 0
  warnings = 0
  warningSamples = []
  inboundDelivered = 0
  inboundGaps = []
  backlogSamples = []
  timings.onData.length = 0
  timings.channelSend.length = 0
  backlogTimer = setInterval(() => {
    let max = 0
    for (const detector of detectors) max = Math.max(max, detector.backlogMs)
    backlogSamples.push(max)
  }, 100)
}

function stopWindow (): WindowReport {
  loopDelay.disable()
  clearInterval(backlogTimer)
  const windowMs = performance.now() - windowStart
  const cpu = process.cpuUsage(cpuStart)
  const sched = jsThreadSchedstat()
  const threads: Record<string, number> = {}
  for (const [tid, { name, ticks }] of threadTicks()) {
    // Threads that started during the window count from 0; those that ended are missed.
    threads[name] = (threads[name] ?? 0) + (ticks - (threadsStart.get(tid)?.ticks ?? 0)) * 10 / windowMs * 100 // 1 tick = 10 ms
  }
  for (const [name, percent] of Object.entries(threads)) if (percent < 0.5) delete threads[name]
  const stats = vad.stats
  ;(globalThis as { gc?: () => void }).gc?.() // with --expose-gc: live memory, not garbage not yet collected
  const memory = process.memoryUsage()
  let framesBehind = 0
  let framesExpected = 0
  let restarts = 0
  for (const [id, output] of outputs) {
    const start = outputStart.get(id)
    if (start === undefined) continue // joined during the window
    const expected = Math.floor(windowMs / 10)
    framesExpected += expected
    framesBehind += Math.max(0, expected - (output.stats.framesSent - start.framesSent))
    restarts += output.stats.restarts - start.restarts
  }
  const ms = (ns: number): number => ns / 1e6
  return {
    type: 'window',
    windowMs,
    sessions: outputs.size,
    loopDelay: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
    threads,
    jsThread: { onCpuPercent: (sched.onCpuNs - schedStart.onCpuNs) / 1e6 / windowMs * 100, waitingForCpuPercent: (sched.waitNs - schedStart.waitNs) / 1e6 / windowMs * 100 },
    elu: performance.eventLoopUtilization(eluStart).utilization,
    cpuPercent: (cpu.user + cpu.system) / 1000 / windowMs * 100,
    rssMB: memory.rss / 2 ** 20,
    heapUsedMB: memory.heapUsed / 2 ** 20,
    vad: {
      windowsPerSecond: (stats.windows - vadStart.windows) / windowMs * 1000,
      meanBatch: (stats.windows - vadStart.windows) / Math.max(1, stats.runs - vadStart.runs),
      backlogP99Ms: percentile(backlogSamples, 99),
      backlogMaxMs: backlogSamples.reduce((a, b) => Math.max(a, b), 0),
      backlogReports
    },
    output: { tracks: outputs.size, framesBehind, framesExpected, restarts },
    inbound: { delivered: inboundDelivered, expected: Math.floor(outputs.size * windowMs / 10), gapP99Ms: percentile(inboundGaps, 99), gapMaxMs: inboundGaps.at(-1) ?? 0 },
    perSession: {
      framesSent: [...outputs].map(([id, o]) => o.stats.framesSent - (outputStart.get(id)?.framesSent ?? 0)),
      inbound: [...outputs.keys()].map(id => (inboundBySession.get(id) ?? 0) - (inboundStart.get(id) ?? 0)),
      vadWindows: [...detectors].map(d => d.windows - (detectorWindowsStart.get(d) ?? 0))
    },
    nativeCalls: { onData: callStats(timings.onData), channelSend: callStats(timings.channelSend) },
    warnings,
    warningSamples
  }
}

process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'start') {
    startWindow()
    send({ type: 'started' })
  } else if (message.cmd === 'stop') {
    send(stopWindow())
  } else if (message.cmd === 'exit') {
    void server.stop().finally(() => { process.exit(0) })
    setTimeout(() => { process.exit(0) }, 5000).unref()
  }
})
// The parent gone: leave at once (explicitly: wrtc segfaults at a natural exit).
process.on('disconnect', () => { process.exit(0) })

send({ type: 'listening', port, backlogWarnMs: BACKLOG_WARN_MS, rssMB: process.memoryUsage().rss / 2 ** 20 })
