/**
 * How many simultaneous WebRTC voice sessions a server holds before latency or audio continuity
 * degrades, and what each session costs it.
 * Run: `npx tsx bench/concurrency.ts [steps] [windowSeconds] [--workers N] [--nice N]`, e.g. `npx tsx
 * bench/concurrency.ts 0,10,20 12` (default steps 0,1,5,10,15,20,25,30,40,50,60, 12 s windows; steps 0
 * and 1 are always measured: the idle server and the one-session reference). Prints markdown tables.
 *
 * Placement (taskset, when the machine has 2+ cores): the server, a child process
 * (bench/concurrency-server.ts: LLMRTCServer, instant providers, default Silero VAD), on core 0; the
 * clients, lean WebRTC clients in this process (LoadClient of bench/webrtc-test-client.ts), on core 1.
 * With `--workers N` the server runs N node:cluster workers, worker k on core (k - 1) mod cores, and the
 * clients are not pinned (they share the cores with the workers).
 *
 * Each client loops four espeak-ng phrases, each followed by 2 s of silence, on its microphone in real
 * time (out of phase with the others), so the VAD scores every 32 ms of every stream and each session
 * has a turn (transcript, answer, 400 ms of a 440 Hz tone on its track) every ~4 s. Sessions are added
 * step by step and kept; each step warms up, then measures a window (the one-session step two longer
 * ones, keeping the lower p95 as the reference).
 *
 * A step holds when, in its window (the issue's pass rules):
 * - every turn is done: each utterance got its answer before the client spoke again, no error message,
 *   no connection lost;
 * - p95 of first audio (client-measured: the client's last speech frame → the first loud frame of the
 *   answer on its track) is within +300 ms of the one-session step's;
 * - no audio gap over 100 ms inside an answer as the client received it (quiet 10 ms frames between two
 *   loud ones; what a listener would hear after the receiver's concealment), and no answer cut short
 *   (under 300 of its 400 ms).
 * The server's event-loop delay, VAD backlog and late frames are reported beside them. A failing window
 * is measured once more (the machine is shared), and the steps stop at the first step that fails twice.
 *
 * CPU is read per thread from /proc (utime + stime) for every process of the server and for this one,
 * so the server's JS thread and its native threads (libwebrtc, onnxruntime, V8) are apart, and a
 * server with workers is summed. `--nice -10` runs the bench (server and clients) at that priority (and
 * its session's autogroup, when the kernel groups by session; run it under `setsid` so that only the
 * bench's group is raised), for a machine that other jobs saturate: CPU figures stay the same, the
 * real-time ones get meaningful. Runs inside a loopback-only network namespace when it can.
 * BENCH_OPUS_DTX=1 (or 0): the server with (or without) Opus DTX on its outbound audio (webrtc.opusDtx), to compare.
 * BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there at exit; BENCH_DEBUG=1: more on stderr.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, setPriority } from 'node:os'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { synthesizeSpeech } from '../test/helpers/speech.js'
import type { WindowReport } from './concurrency-probe.js'
import { guard } from './guard.js'
import { summary } from './instant-providers.js'
import { groupPercents, processName, processTree, rssMB, threadTimes } from './process-threads.js'
import { LoadClient, MicrophoneClock, SpeechProgram, isolateNetwork } from './webrtc-test-client.js'

const isolated = isolateNetwork()
const args = process.argv.slice(2)
const workersFlag = args.indexOf('--workers')
const WORKERS = workersFlag >= 0 ? Number(args.splice(workersFlag, 2)[1]) : 1
// `--original <dir>`: measure the original llmrtc 1.3 installed in <dir> instead (bench/concurrency-original-server.ts).
const originalFlag = args.indexOf('--original')
const ORIGINAL_DIR = originalFlag >= 0 ? args.splice(originalFlag, 2)[1] : undefined
const niceFlag = args.indexOf('--nice')
const NICE = niceFlag >= 0 ? Number(args.splice(niceFlag, 2)[1]) : 0
const STEPS = [...new Set([0, 1, ...(args[0] ?? '0,1,5,10,15,20,25,30,40,50,60').split(',').map(Number)])].sort((a, b) => a - b)
const WINDOW_MS = Number(args[1] ?? 12) * 1000
const REFERENCE_WINDOW_MS = Math.max(WINDOW_MS, 24_000)
const WARMUP_MS = 4000
const FIRST_AUDIO_MARGIN_MS = 300
const MAX_GAP_MS = 100
const MIN_ANSWER_MS = 300
const PHRASES = [
  'Hello there, what time is it right now?',
  'Can you tell me the weather for tomorrow?',
  'Please remind me to call my sister.',
  'How far is the moon from the earth?'
]

// ---- placement ----
const TASKSET = '/usr/bin/taskset'
const CORES = cpus().length
const pinned = existsSync(TASKSET) && CORES >= 2
function pin (pid: number, cores: string): void {
  execFileSync(TASKSET, ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' })
}
if (pinned && WORKERS <= 1) pin(process.pid, '1') // before any client thread exists; later threads inherit it
// `--nice -10` on a machine shared with other jobs: the server child and every thread inherit it. With
// autogroup scheduling (a CPU share per session), nice only orders threads within this session's group:
// the group's own nice (/proc/self/autogroup) is what weighs against other sessions' jobs.
if (NICE !== 0) {
  setPriority(NICE)
  try { writeFileSync('/proc/self/autogroup', String(NICE)) } catch {}
}

// ---- the server child ----
const here = dirname(fileURLToPath(import.meta.url))
const profile = process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
const nodeArgs = ['--expose-gc', ...profile, '--import', 'tsx', join(here, ORIGINAL_DIR === undefined ? 'concurrency-server.ts' : 'concurrency-original-server.ts')]
const child: ChildProcess = pinned && WORKERS <= 1
  ? spawn(TASKSET, ['-c', '0', process.execPath, ...nodeArgs], { cwd: join(here, '..'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_WORKERS: '1', ...(ORIGINAL_DIR === undefined ? {} : { BENCH_ORIGINAL_DIR: ORIGINAL_DIR }) } })
  : spawn(process.execPath, nodeArgs, { cwd: join(here, '..'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_WORKERS: String(WORKERS) } })
guard(30 * 60_000, () => { child.kill('SIGKILL') })
let finished = false
child.on('exit', (code, signal) => {
  if (!finished) {
    console.error(`server child exited early (${code ?? signal})`)
    process.exit(1)
  }
})
const inbox: Array<Record<string, unknown>> = []
const waiters: Array<() => void> = []
child.on('message', (message: Record<string, unknown>) => {
  inbox.push(message)
  for (const wake of waiters.splice(0)) wake()
})
async function receive (type: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const index = inbox.findIndex(m => m.type === type)
    if (index >= 0) return inbox.splice(index, 1)[0] as Record<string, unknown>
    if (performance.now() > deadline) throw new Error(`no ${type} from the server child`)
    await new Promise<void>(resolve => {
      waiters.push(resolve)
      setTimeout(resolve, 100)
    })
  }
}
const listening = await receive('listening', 90_000)
const url = `ws://127.0.0.1:${listening.port as number}/`
const workerPids = listening.workerPids as number[]
if (pinned && WORKERS > 1) workerPids.forEach((pid, k) => { pin(pid, String(k % CORES)) })
// tsx's esbuild service (a child of each server process) compiles nothing after start-up: left out.
const serverPids = (): number[] => processTree(child.pid as number).filter(pid => processName(pid) !== 'esbuild')
const placement = (NICE !== 0 ? `nice ${NICE}; ` : '') + (!pinned
  ? 'not pinned (taskset missing or one core)'
  : WORKERS > 1 ? `${WORKERS} workers, worker k on core (k - 1) mod ${CORES}; clients not pinned` : 'server on core 0, clients on core 1 (taskset)')

// ---- clients ----
const program = new SpeechProgram(await Promise.all(PHRASES.map(async p => await synthesizeSpeech(p, 48_000))), 2000)
const clock = new MicrophoneClock()
const clients: LoadClient[] = []

async function addClient (): Promise<void> {
  const client = await LoadClient.connect(url, program, Math.floor(Math.random() * program.frames.length), { timeoutMs: 30_000, pingOnChannel: ORIGINAL_DIR === undefined })
  const index = clients.length
  void client.client.closed.then(({ code }) => {
    if (!finished) {
      client.lost = true
      console.error(`session ${index + 1} lost: WebSocket closed with ${code}`)
    }
  })
  // Like the published client: a `ping` every 15 s (without one the server closes the connection after 45 s).
  const heartbeat = setInterval(() => { if (!finished) client.client.send({ type: 'ping', timestamp: Date.now() }) }, 15_000)
  heartbeat.unref()
  clients.push(client)
  clock.clients.add(client)
}

function machineTimes (): { busy: number, total: number, steal: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  return { busy: total - idle - iowait, total, steal }
}

interface StepResult {
  n: number
  windowMs: number
  server: WindowReport
  /** % of one core by thread group, summed over the server's processes. */
  serverThreads: Record<string, number>
  serverRssMB: number
  clientThreads: Record<string, number>
  clientLoopP99: number
  micStalls: number
  machineBusyPercent: number
  stealPercent: number
  load: number
  answers: number
  missed: number
  unexpected: number
  errors: number
  lost: number
  firstSound: { p50: number, p95: number }
  afterSpeechEndMessage: { p50: number, p95: number }
  /** The server's `firstAudioOutMs` (its end-of-speech decision → first audio out of its track). */
  serverFirstAudioOut: { p50: number, p95: number }
  gaps: { max: number, over: number }
  short: number
  reasons: string[]
  retried: string[]
}
const results: StepResult[] = []
const clientLoop = monitorEventLoopDelay({ resolution: 2 })
const total = (groups: Record<string, number>): number => Object.values(groups).reduce((a, b) => a + b, 0)

async function measureWindow (n: number, windowMs: number): Promise<StepResult> {
  const counts = clients.map(c => ({ unexpected: c.unexpectedSound, errors: c.errors }))
  const stallsBefore = clock.stalls
  child.send({ cmd: 'start' })
  await receive('started')
  clientLoop.reset()
  clientLoop.enable()
  const pids = serverPids()
  const serverBefore = threadTimes(pids)
  const clientBefore = threadTimes([process.pid])
  const machine = machineTimes()
  const started = performance.now()
  await new Promise(resolve => setTimeout(resolve, windowMs))
  const elapsed = performance.now() - started
  const serverThreads = groupPercents(serverBefore, threadTimes(serverPids()), elapsed)
  const clientThreads = groupPercents(clientBefore, threadTimes([process.pid]), elapsed)
  const machineEnd = machineTimes()
  clientLoop.disable()
  child.send({ cmd: 'stop' })
  const server = await receive('window') as unknown as WindowReport
  const serverRssMB = serverPids().reduce((sum, pid) => sum + rssMB(pid), 0) // after the probe's GC
  const ended = started + elapsed
  const inWindow = (at: number): boolean => at >= started && at < ended
  const answers = clients.flatMap(c => c.answers.filter(a => inWindow(a.at) && Number.isFinite(a.firstSoundMs)))
  const missed = clients.reduce((sum, c) => sum + c.missed.filter(m => inWindow(m.at)).length, 0)
  const serverFirst = summary(clients.flatMap(c => c.serverFirstAudio.filter(m => inWindow(m.at)).map(m => m.ms)))
  for (const c of clients) { // keep memory flat
    c.answers.splice(0, c.answers.findIndex(a => a.at >= ended) >>> 0)
    c.missed = c.missed.filter(m => m.at >= ended)
    c.serverFirstAudio = c.serverFirstAudio.filter(m => m.at >= ended)
  }
  const lost = clients.filter(c => c.lost).length
  const unexpected = clients.reduce((sum, c, i) => sum + c.unexpectedSound - (counts[i]?.unexpected ?? 0), 0)
  const errors = clients.reduce((sum, c, i) => sum + c.errors - (counts[i]?.errors ?? 0), 0)
  const first = summary(answers.map(a => a.firstSoundMs))
  const afterMessage = summary(answers.map(a => a.afterSpeechEndMessageMs).filter(Number.isFinite))
  const gaps = answers.map(a => a.longestGapMs)
  const short = answers.filter(a => a.loudMs < MIN_ANSWER_MS).length
  const reasons: string[] = []
  if (n > 0 && answers.length === 0) reasons.push('no answer heard')
  if (missed > 0) reasons.push(`${missed} turn${missed > 1 ? 's' : ''} without an answer`)
  if (errors > 0) reasons.push(`${errors} error message${errors > 1 ? 's' : ''}`)
  if (lost > 0) reasons.push(`${lost} connection${lost > 1 ? 's' : ''} lost`)
  const reference = results.find(r => r.n === 1)
  if (reference !== undefined && n > 1 && first.p95 > reference.firstSound.p95 + FIRST_AUDIO_MARGIN_MS) {
    reasons.push(`first audio p95 ${first.p95.toFixed(0)} ms > ${reference.firstSound.p95.toFixed(0)} + ${FIRST_AUDIO_MARGIN_MS}`)
  }
  const over = gaps.filter(g => g > MAX_GAP_MS).length
  if (over > 0) reasons.push(`${over} answer${over > 1 ? 's' : ''} with a gap > ${MAX_GAP_MS} ms (longest ${Math.max(...gaps)} ms)`)
  if (short > 0) reasons.push(`${short} answer${short > 1 ? 's' : ''} under ${MIN_ANSWER_MS} ms`)
  return {
    n,
    windowMs: elapsed,
    server,
    serverThreads,
    serverRssMB,
    clientThreads,
    clientLoopP99: clientLoop.percentile(99) / 1e6,
    micStalls: clock.stalls - stallsBefore,
    machineBusyPercent: (machineEnd.busy - machine.busy) / (machineEnd.total - machine.total) * 100 * CORES,
    stealPercent: (machineEnd.steal - machine.steal) / (machineEnd.total - machine.total) * 100 * CORES,
    load: loadavg()[0] ?? 0,
    answers: answers.length,
    missed,
    unexpected,
    errors,
    lost,
    firstSound: { p50: first.p50, p95: first.p95 },
    afterSpeechEndMessage: { p50: afterMessage.p50, p95: afterMessage.p95 },
    serverFirstAudioOut: { p50: serverFirst.p50, p95: serverFirst.p95 },
    gaps: { max: gaps.reduce((a, b) => Math.max(a, b), 0), over },
    short,
    reasons,
    retried: []
  }
}

const loadAtStart = loadavg()
clock.start()
for (const n of STEPS) {
  try {
    while (clients.length < n) await addClient()
  } catch (error) {
    console.error(`could not connect session ${clients.length + 1}: ${(error as Error).message}`)
    break
  }
  await new Promise(resolve => setTimeout(resolve, n === 0 ? 1000 : WARMUP_MS))
  const windowMs = n === 1 ? REFERENCE_WINDOW_MS : WINDOW_MS
  let result = await measureWindow(n, windowMs)
  if (n === 1) {
    // The reference of the +300 ms rule: one window stalled by another job would loosen it for every
    // step, so it is measured twice and the lower p95 kept.
    const second = await measureWindow(n, windowMs)
    if (!(second.firstSound.p95 >= result.firstSound.p95)) result = second
  }
  if (result.reasons.length > 0) {
    console.error(`N=${n}: fails (${result.reasons.join('; ')}), measuring again`)
    const first = result
    result = await measureWindow(n, windowMs)
    result.retried = first.reasons
  }
  results.push(result)
  if (process.env.BENCH_DEBUG !== undefined) console.error(JSON.stringify({ n, serverThreads: result.serverThreads, clientThreads: result.clientThreads, sessions: result.server.sessionsPerProcess }))
  console.error(`N=${n}: server ${total(result.serverThreads).toFixed(0)}% (JS ${(result.serverThreads['JS main thread'] ?? 0).toFixed(0)}%), clients ${total(result.clientThreads).toFixed(0)}%, ` +
    `first audio p95 ${result.firstSound.p95.toFixed(0)} ms, longest gap ${result.gaps.max} ms, load ${result.load.toFixed(2)}` +
    `${result.reasons.length > 0 ? ' — FAILS: ' + result.reasons.join('; ') : ''}`)
  if (result.reasons.length > 0) break
}

// ---- report ----
const f = (x: number, digits = 1): string => Number.isFinite(x) ? x.toFixed(digits) : '–'
const idle = results.find(r => r.n === 0)
const perSession = (r: StepResult, value: (s: StepResult) => number): number => idle === undefined || r.n === 0 ? NaN : (value(r) - value(idle)) / r.n
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${CORES}; ${placement}; ${isolated ? 'loopback-only network namespace' : 'host network, 127.0.0.1 candidates only'}; ` +
  `${WINDOW_MS / 1000} s windows (one session: ${REFERENCE_WINDOW_MS / 1000} s) after ${WARMUP_MS / 1000} s warm-up; load average at start ${loadAtStart.map(l => l.toFixed(2)).join(' ')}\n`)

console.log('Pass rules (client-measured) and the server\'s real-time signals:\n')
console.log('| sessions | answers / missed | first audio p50 / p95 (ms) | after `speech-end` p50 / p95 (ms) | server `firstAudioOutMs` p50 / p95 (ms) | longest gap in an answer (ms) | answers < 300 ms | server loop delay p99 / max (ms) | VAD backlog max (ms) | late frames (track restarts) | verdict |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.n} | ${r.answers} / ${r.missed} | ${f(r.firstSound.p50, 0)} / ${f(r.firstSound.p95, 0)} | ${f(r.afterSpeechEndMessage.p50, 0)} / ${f(r.afterSpeechEndMessage.p95, 0)} | ${f(r.serverFirstAudioOut.p50, 0)} / ${f(r.serverFirstAudioOut.p95, 0)} | ${r.answers > 0 ? r.gaps.max : '–'} | ${r.short} | ` +
    `${f(r.server.loopDelay.p99)} / ${f(r.server.loopDelay.max, 0)} | ${f(r.server.vad.backlogMaxMs, 0)} | ${r.server.output.restarts} | ` +
    `${r.reasons.length > 0 ? 'fails: ' + r.reasons.join('; ') : 'holds'}${r.retried.length > 0 ? ` (first window: ${r.retried.join('; ')})` : ''} |`)
}

const groups = [...new Set(results.flatMap(r => Object.keys(r.serverThreads)))]
  .filter(g => g !== 'JS main thread' && results.some(r => (r.serverThreads[g] ?? 0) >= 0.3))
  .sort((a, b) => (results.at(-1)?.serverThreads[b] ?? 0) - (results.at(-1)?.serverThreads[a] ?? 0))
const one = results.find(r => r.n === 1)
const native = (r: StepResult): number => total(r.serverThreads) - (r.serverThreads['JS main thread'] ?? 0)
console.log('\nServer CPU, % of one core, in all and per session above the idle server ((step − idle) / sessions), by thread (threads named by libwebrtc, onnxruntime, V8; summed over processes):\n')
console.log(`| sessions | server CPU | per session | per added session (since the previous step) | JS main thread | native threads | ${groups.join(' | ')} | RSS MB | RSS per session beyond the first (MB) | frames sent / s per session |`)
console.log(`|---|---|---|---|---|---|${groups.map(() => '---').join('|')}|---|---|---|`)
for (const r of results) {
  const cell = (value: (s: StepResult) => number): string => r.n === 0 ? f(value(r), 1) : f(perSession(r, value), 2)
  const previous = results[results.indexOf(r) - 1]
  const marginal = previous === undefined || r.n === 0 ? NaN : (total(r.serverThreads) - total(previous.serverThreads)) / (r.n - previous.n)
  console.log(`| ${r.n} | ${f(total(r.serverThreads), 0)} | ${r.n === 0 ? '(idle)' : f(perSession(r, s => total(s.serverThreads)), 2)} | ${f(marginal, 2)} | ${cell(s => s.serverThreads['JS main thread'] ?? 0)} | ${cell(native)} | ` +
    `${groups.map(g => cell(s => s.serverThreads[g] ?? 0)).join(' | ')} | ${f(r.serverRssMB, 0)} | ${one === undefined || r.n <= 1 ? '–' : f((r.serverRssMB - one.serverRssMB) / (r.n - 1), 2)} | ` +
    `${r.server.output.tracks > 0 ? f(r.server.output.framesSent / r.server.output.tracks / r.server.windowMs * 1000, 0) : '–'} |`)
}
console.log('\n(Step 0 shows the idle server\'s own figures; the other rows are per session above it.)')

console.log('\nServer JS thread (the busiest process with workers): event-loop utilization, on a CPU / waiting for one (% of the window, summed), and wrtc\'s synchronous native calls:\n')
console.log('| sessions | ELU | on CPU / waiting (%) | RTCAudioSource.onData calls/s, p50 / p99 µs, wall share | RTCDataChannel.send calls, p50 / p99 µs | VAD windows/s (expected), mean batch | mic frames delivered, gap p99 / max (ms) | sessions per process | warnings |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  const s = r.server
  const seconds = s.windowMs / 1000
  const { onData, channelSend } = s.nativeCalls
  console.log(`| ${r.n} | ${f(s.elu, 2)} | ${f(s.jsThread.onCpuPercent, 0)} / ${f(s.jsThread.waitingForCpuPercent, 0)} | ${f(onData.calls / seconds, 0)}, ${f(onData.p50Us, 0)} / ${f(onData.p99Us, 0)}, ${f(onData.totalMs / s.windowMs * 100, 1)}% | ` +
    `${channelSend.calls}, ${f(channelSend.p50Us, 0)} / ${f(channelSend.p99Us, 0)} | ${f(s.vad.windowsPerSecond, 0)} (${f(r.n * 31.25, 0)}), ${f(s.vad.meanBatch)} | ` +
    `${r.n > 0 ? f(100 * s.inbound.delivered / (r.n * s.windowMs / 10), 1) + '%' : '–'}, ${f(s.inbound.gapP99Ms)} / ${f(s.inbound.gapMaxMs, 0)} | ${s.sessionsPerProcess.join(' + ')} | ${s.warnings} |`)
}

console.log('\nClients (this process) and the machine:\n')
console.log('| sessions | clients CPU % of one core | per session: JS / native | client loop delay p99 (ms) | microphone stalls | machine busy % (of ' + String(CORES * 100) + ') | other jobs % | steal % | load avg (1 min) |')
console.log('|---|---|---|---|---|---|---|---|---|')
const clientIdle = idle?.clientThreads ?? {}
for (const r of results) {
  const js = r.clientThreads['JS main thread'] ?? 0
  const nat = total(r.clientThreads) - js
  const idleJs = clientIdle['JS main thread'] ?? 0
  const idleNative = total(clientIdle) - idleJs
  console.log(`| ${r.n} | ${f(total(r.clientThreads), 0)} | ${r.n > 0 ? `${f((js - idleJs) / r.n, 2)} / ${f((nat - idleNative) / r.n, 2)}` : '–'} | ${f(r.clientLoopP99)} | ${r.micStalls} | ${f(r.machineBusyPercent, 0)} | ` +
    `${f(Math.max(0, r.machineBusyPercent - total(r.serverThreads) - total(r.clientThreads)), 0)} | ${f(r.stealPercent, 1)} | ${f(r.load, 2)} |`)
}
const held = results.filter(r => r.reasons.length === 0 && r.n > 0).map(r => r.n)
const failed = results.find(r => r.reasons.length > 0)
console.log(`\nLargest N that held: ${held.length > 0 ? Math.max(...held) : 'none'}${failed !== undefined ? `; N=${failed.n} failed (${failed.reasons.join('; ')})` : '; no step failed'}.`)
for (const r of results) for (const w of r.server.warningSamples.slice(0, 2)) console.error(`server warning at N=${r.n}: ${w.trim()}`)

// ---- shutdown ----
finished = true
clock.stop()
await Promise.all(clients.map(async c => { await c.close().catch(() => {}) }))
child.on('error', () => {}) // the child may be gone already (EPIPE)
if (child.connected) child.send({ cmd: 'exit' })
if (child.exitCode === null && child.signalCode === null) await new Promise(resolve => { child.once('exit', resolve); setTimeout(resolve, 10_000) })
if (child.exitCode === null) child.kill('SIGKILL')
process.exit(0)
