/**
 * The in-process probe of bench/concurrency-server.ts: hooks a ready LLMRTCServer app (every VAD
 * detector, every track, every microphone, wrtc's synchronous native calls) and measures this process
 * over a window the bench opens and closes. CPU per thread and RSS are read from outside (/proc, by the
 * bench), so that they cover every process of a server with workers.
 *
 * Written against what the app exposes (`llmrtcVad.createDetector`, `llmrtcTransport`'s `media` event,
 * PacedAudioOutput's `stats`) and tolerant of their absence, so one probe measures several versions.
 */
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { SileroVad } from '../lib/vad/silero-vad.js'
import type { SpeechDetector } from '../lib/vad/speech-detector.js'
import { loadWrtc } from '../plugins/webrtc/wrtc.js'

export interface CallStats { calls: number, totalMs: number, p50Us: number, p99Us: number, maxUs: number }

export interface WindowReport {
  type: 'window'
  windowMs: number
  /** Sessions with a track in this process (summed over workers). */
  sessions: number
  /** Sessions per worker (one entry without workers). */
  sessionsPerProcess: number[]
  /** Event-loop delay over the window (monitorEventLoopDelay, 2 ms resolution), ms; the worst process. */
  loopDelay: { p50: number, p99: number, max: number }
  /** Event-loop utilization (share of the window the JS thread was not waiting for events), 0-1; the busiest process. */
  elu: number
  /** The JS thread on a CPU and runnable-but-waiting for one, % of the window (/proc/self/task/<pid>/schedstat); summed. */
  jsThread: { onCpuPercent: number, waitingForCpuPercent: number }
  /** After a full GC (run with --expose-gc), summed over processes. */
  heapUsedMB: number
  /** VAD: windows scored per second, mean batch size, backlog samples (every 100 ms) and reports above BACKLOG_WARN_MS. */
  vad: { windowsPerSecond: number, meanBatch: number, backlogMaxMs: number, backlogReports: number }
  /** Paced outputs: frames sent, and schedule restarts (a track's timer > 50 ms late: those frames left late). */
  output: { tracks: number, framesSent: number, restarts: number }
  /** Inbound microphone frames delivered, and the longest gap between two frames of one session, ms. */
  inbound: { delivered: number, gapP99Ms: number, gapMaxMs: number }
  /** Time the JS thread spends inside RTCAudioSource.onData and RTCDataChannel.send. */
  nativeCalls: { onData: CallStats, channelSend: CallStats }
  warnings: number
  warningSamples: string[]
}

// Time wrtc's synchronous native calls on the JS thread (same module instance as the plugin's): call
// before the server is built.
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
export function timeNativeCalls (): void {
  type AudioSourceClass = new () => { onData (data: unknown): void }
  const wrtc = loadWrtc() as unknown as { nonstandard: { RTCAudioSource: AudioSourceClass }, RTCDataChannel: { prototype: { send: (data: string) => void } } }
  // onData is a non-configurable native method: time it in a subclass that the plugin then instantiates.
  const NativeAudioSource = wrtc.nonstandard.RTCAudioSource
  const timedOnData = timed(NativeAudioSource.prototype.onData as unknown as (this: unknown, data: unknown) => void, timings.onData)
  wrtc.nonstandard.RTCAudioSource = class extends NativeAudioSource {
    override onData (data: unknown): void { timedOnData.call(this, data) }
  }
  wrtc.RTCDataChannel.prototype.send = timed(wrtc.RTCDataChannel.prototype.send, timings.channelSend)
}

/** Sorts `values` in place; p-th percentile by nearest rank. */
function percentile (values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = values.sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}

function callStats (values: number[]): CallStats {
  const totalMs = values.reduce((a, b) => a + b, 0)
  return { calls: values.length, totalMs, p50Us: percentile(values, 50) * 1000, p99Us: percentile(values, 99) * 1000, maxUs: (values.at(-1) ?? 0) * 1000 }
}

/** ns on a CPU and ns runnable-but-waiting of the JS thread so far. */
function jsThreadSchedstat (): { onCpuNs: number, waitNs: number } {
  const [onCpu = '0', wait = '0'] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(' ')
  return { onCpuNs: Number(onCpu), waitNs: Number(wait) }
}

interface OutputLike { stats?: { framesSent?: number, restarts?: number } }
interface MediaLike { output?: OutputLike, onAudio?: (listener: (frame: unknown) => void) => unknown }
interface ProbedApp {
  llmrtcVad?: { createDetector?: (options: { signal?: AbortSignal, onBacklog?: (ms: number) => void }) => SpeechDetector }
  llmrtcTransport?: { on: (event: string, listener: (...args: never[]) => void) => unknown }
}

/** Hooks `app` (ready, not yet listening) and returns the window's start and stop. */
export async function probe (fastify: FastifyInstance, log: { warnings: number, samples: string[] }): Promise<{ start: () => void, stop: () => WindowReport }> {
  const app = fastify as unknown as ProbedApp
  const detectors = new Set<SpeechDetector>()
  let backlogReports = 0
  const vadDecorator = app.llmrtcVad
  const createDetector = vadDecorator?.createDetector?.bind(vadDecorator)
  if (vadDecorator !== undefined && createDetector !== undefined) {
    vadDecorator.createDetector = (options) => {
      const detector = createDetector({ ...options, onBacklog: (ms) => { backlogReports++; options.onBacklog?.(ms) } })
      detectors.add(detector)
      options.signal?.addEventListener('abort', () => { detectors.delete(detector) }, { once: true })
      return detector
    }
  }
  const outputs = new Map<string, OutputLike>()
  let inboundDelivered = 0
  let inboundGaps: number[] = []
  app.llmrtcTransport?.on('media', ((sessionId: string, media: MediaLike) => {
    outputs.set(sessionId, media.output ?? {})
    let last = 0
    media.onAudio?.(() => {
      const now = performance.now()
      inboundDelivered++
      if (last !== 0 && inboundGaps.length < 2_000_000) inboundGaps.push(now - last)
      last = now
    })
  }) as (...args: never[]) => void)
  app.llmrtcTransport?.on('closed', ((sessionId: string) => { outputs.delete(sessionId) }) as (...args: never[]) => void)
  // A second handle on the process's shared Silero model, only to read its counters.
  const vad = await SileroVad.acquire()

  const loopDelay = monitorEventLoopDelay({ resolution: 2 })
  let windowStart = 0
  let schedStart = { onCpuNs: 0, waitNs: 0 }
  let eluStart: EventLoopUtilization = performance.eventLoopUtilization()
  let vadStart = vad.stats
  let outputStart = new Map<string, { framesSent: number, restarts: number }>()
  let backlogSamples: number[] = []
  let backlogTimer: NodeJS.Timeout | undefined
  const outputStats = (output: OutputLike): { framesSent: number, restarts: number } => ({ framesSent: output.stats?.framesSent ?? 0, restarts: output.stats?.restarts ?? 0 })

  function start (): void {
    loopDelay.reset()
    loopDelay.enable()
    windowStart = performance.now()
    schedStart = jsThreadSchedstat()
    eluStart = performance.eventLoopUtilization()
    vadStart = vad.stats
    outputStart = new Map([...outputs].map(([id, output]) => [id, outputStats(output)]))
    backlogReports = 0
    log.warnings = 0
    log.samples = []
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

  function stop (): WindowReport {
    loopDelay.disable()
    clearInterval(backlogTimer)
    const windowMs = performance.now() - windowStart
    const sched = jsThreadSchedstat()
    const stats = vad.stats
    let framesSent = 0
    let restarts = 0
    for (const [id, output] of outputs) {
      const before = outputStart.get(id)
      if (before === undefined) continue // joined during the window
      const now = outputStats(output)
      framesSent += now.framesSent - before.framesSent
      restarts += now.restarts - before.restarts
    }
    ;(globalThis as { gc?: () => void }).gc?.() // with --expose-gc: live memory, not garbage not yet collected
    const ms = (ns: number): number => ns / 1e6
    return {
      type: 'window',
      windowMs,
      sessions: outputs.size,
      sessionsPerProcess: [outputs.size],
      loopDelay: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      elu: performance.eventLoopUtilization(eluStart).utilization,
      jsThread: { onCpuPercent: (sched.onCpuNs - schedStart.onCpuNs) / 1e6 / windowMs * 100, waitingForCpuPercent: (sched.waitNs - schedStart.waitNs) / 1e6 / windowMs * 100 },
      heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20,
      vad: {
        windowsPerSecond: (stats.windows - vadStart.windows) / windowMs * 1000,
        meanBatch: (stats.windows - vadStart.windows) / Math.max(1, stats.runs - vadStart.runs),
        backlogMaxMs: backlogSamples.reduce((a, b) => Math.max(a, b), 0),
        backlogReports
      },
      output: { tracks: outputStart.size, framesSent, restarts },
      inbound: { delivered: inboundDelivered, gapP99Ms: percentile(inboundGaps, 99), gapMaxMs: inboundGaps.at(-1) ?? 0 },
      nativeCalls: { onData: callStats(timings.onData), channelSend: callStats(timings.channelSend) },
      warnings: log.warnings,
      warningSamples: log.samples
    }
  }
  return { start, stop }
}

/** One report for a server with workers: counts summed, delays and utilization of the worst worker. */
export function mergeWindows (reports: WindowReport[]): WindowReport {
  const sum = (f: (r: WindowReport) => number): number => reports.reduce((total, r) => total + f(r), 0)
  const max = (f: (r: WindowReport) => number): number => reports.reduce((m, r) => Math.max(m, f(r)), 0)
  const calls = (f: (r: WindowReport) => CallStats): CallStats => ({
    calls: sum(r => f(r).calls), totalMs: sum(r => f(r).totalMs), p50Us: max(r => f(r).p50Us), p99Us: max(r => f(r).p99Us), maxUs: max(r => f(r).maxUs)
  })
  return {
    type: 'window',
    windowMs: max(r => r.windowMs),
    sessions: sum(r => r.sessions),
    sessionsPerProcess: reports.flatMap(r => r.sessionsPerProcess),
    loopDelay: { p50: max(r => r.loopDelay.p50), p99: max(r => r.loopDelay.p99), max: max(r => r.loopDelay.max) },
    elu: max(r => r.elu),
    jsThread: { onCpuPercent: sum(r => r.jsThread.onCpuPercent), waitingForCpuPercent: sum(r => r.jsThread.waitingForCpuPercent) },
    heapUsedMB: sum(r => r.heapUsedMB),
    vad: { windowsPerSecond: sum(r => r.vad.windowsPerSecond), meanBatch: max(r => r.vad.meanBatch), backlogMaxMs: max(r => r.vad.backlogMaxMs), backlogReports: sum(r => r.vad.backlogReports) },
    output: { tracks: sum(r => r.output.tracks), framesSent: sum(r => r.output.framesSent), restarts: sum(r => r.output.restarts) },
    inbound: { delivered: sum(r => r.inbound.delivered), gapP99Ms: max(r => r.inbound.gapP99Ms), gapMaxMs: max(r => r.inbound.gapMaxMs) },
    nativeCalls: { onData: calls(r => r.nativeCalls.onData), channelSend: calls(r => r.nativeCalls.channelSend) },
    warnings: sum(r => r.warnings),
    warningSamples: reports.flatMap(r => r.warningSamples).slice(0, 5)
  }
}
