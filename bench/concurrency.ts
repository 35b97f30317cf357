/**
 * How many simultaneous WebRTC voice sessions one server process holds before it falls behind.
 * Run: `npx tsx bench/concurrency.ts [steps] [windowSeconds]`, e.g. `npx tsx bench/concurrency.ts
 * 1,5,10,20,30 12` (defaults: 0,1,5,10,15,20,25,30,35,40,50,60 and 12 s). Prints markdown tables.
 *
 * The server runs in a child process (bench/concurrency-server.ts: LLMRTCServer, instant providers,
 * default Silero VAD) so that its CPU is measured apart from the clients'. The clients (real
 * WebRTCTestClients) live in this process: each loops an espeak-ng phrase + 1.5 s of silence on its
 * microphone in real time, so the VAD scores every 32 ms of every stream and each client gets a turn
 * (transcript, answer, 400 ms of spoken reply on the track) every ~3.5 s. Sessions are added step by
 * step (kept from one step to the next); each step warms up for 3 s, then measures a window.
 *
 * A step "falls behind" when, in its window, any of:
 * - the server's event-loop delay p99 exceeds 20 ms (its 10 ms pacing timers and audio callbacks are late);
 * - a VAD stream's backlog exceeded BACKLOG_WARN_MS (256 ms of audio waiting to be scored);
 * - the server's tracks were more than 1% of their frames short of real time (each time a track's timer
 *   is > 50 ms late it restarts its schedule and those frames are never sent: the "restarts" column).
 * A step whose window falls behind is measured once more (the machine is shared: one window can fail on
 * another job's burst), and falls behind only if the second window does too. The steps stop there. Clients share the machine's 2 cores with the
 * server: their CPU and event-loop delay are printed too (a client-side lag shows up as late microphone
 * frames at the server).
 *
 * Runs inside a loopback-only network namespace when it can (the child inherits it). With
 * BENCH_CPU_PROF=<dir> in the environment, the server child writes a V8 CPU profile into <dir> at exit;
 * with BENCH_DEBUG=1, each step also prints per-session frame and VAD-window counts (stderr).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { concat, silence, synthesizeSpeech } from '../test/helpers/speech.js'
import { WebRTCTestClient, isolateNetwork } from './webrtc-test-client.js'
import type { WindowReport } from './concurrency-server.js'
import { guard } from './guard.js'
import { summary } from './instant-providers.js'

const isolated = isolateNetwork()
const STEPS = (process.argv[2] ?? '0,1,5,10,15,20,25,30,35,40,50,60').split(',').map(Number)
const WINDOW_MS = Number(process.argv[3] ?? 12) * 1000
const WARMUP_MS = 3000
const LOOP_DELAY_LIMIT_MS = 20
const FRAMES_BEHIND_LIMIT = 0.01
const PHRASES = [
  'Hello there, what time is it right now?',
  'Can you tell me the weather for tomorrow?',
  'Please remind me to call my sister.',
  'How far is the moon from the earth?'
]

// ---- the server child ----
const here = dirname(fileURLToPath(import.meta.url))
// BENCH_CPU_PROF=<dir>: the server child also writes a V8 CPU profile there when it exits.
const profile = process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
const child: ChildProcess = spawn(process.execPath, ['--expose-gc', ...profile, '--import', 'tsx', join(here, 'concurrency-server.ts')], {
  cwd: join(here, '..'),
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: { ...process.env }
})
guard(30 * 60_000, () => { child.kill('SIGKILL') })
child.on('exit', (code, signal) => {
  if (!finished) {
    console.error(`server child exited early (${code ?? signal})`)
    process.exit(1)
  }
})
let finished = false
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
const listening = await receive('listening', 60_000)
const url = `ws://127.0.0.1:${listening.port as number}/`
const baseRssMB = listening.rssMB as number

// ---- clients ----
const utterances = await Promise.all(PHRASES.map(async p => concat(await synthesizeSpeech(p, 48_000), silence(1500, 48_000))))

interface Talker {
  client: WebRTCTestClient
  loop: Promise<void>
  /** Client-observed `speech-end` → first loud frame, per turn, with the time it was taken. */
  replies: Array<{ at: number, ms: number }>
  errors: number
  /** The server closed the connection (heartbeat, failure) while the benchmark ran. */
  lost: boolean
}
const talkers: Talker[] = []
let running = true

async function addTalker (index: number): Promise<void> {
  const client = await WebRTCTestClient.connect(url, { timeoutMs: 30_000 })
  await client.addMicrophone()
  const talker: Talker = { client, loop: Promise.resolve(), replies: [], errors: 0, lost: false }
  void client.closed.then(({ code }) => {
    if (running) {
      talker.lost = true
      console.error(`session ${index + 1} lost: WebSocket closed with ${code}`)
    }
  })
  // Like the published client: a `ping` every 15 s (without one the server closes the connection after 45 s).
  const heartbeat = setInterval(() => { if (running) client.send({ type: 'ping', timestamp: Date.now() }) }, 15_000)
  heartbeat.unref()
  let speechEndAt: number | undefined
  client.ws.on('message', (data) => {
    const type = (JSON.parse(data.toString()) as { type: string }).type
    if (type === 'speech-end') speechEndAt = performance.now()
    if (type === 'error') talker.errors++
  })
  const push = client.audio.push.bind(client.audio)
  client.audio.push = (data) => {
    push(data)
    if (speechEndAt !== undefined && data.sampleRate === 48_000 && (client.audio.peaks.at(-1) ?? 0) >= 1000) {
      const now = performance.now()
      talker.replies.push({ at: now, ms: now - speechEndAt })
      speechEndAt = undefined
    }
    // Only the level of the last frame is needed: keep the capture's list short.
    if (client.audio.peaks.length > 1000) client.audio.peaks.splice(0, 900)
  }
  talker.loop = (async () => {
    await new Promise(resolve => setTimeout(resolve, Math.random() * 3000)) // out of phase with the others
    let i = index
    // eslint-disable-next-line no-unmodified-loop-condition -- `running` is cleared when the run ends
    while (running) await client.speak(utterances[i++ % utterances.length] as Int16Array, 48_000)
  })()
  talkers.push(talker)
}

function machineTimes (): { busy: number, total: number, steal: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  return { busy: total - idle - iowait, total, steal }
}

interface StepResult {
  n: number
  server: WindowReport
  clientCpuPercent: number
  clientLoopP99: number
  machineBusyPercent: number
  stealPercent: number
  load: number
  turns: number
  firstAudioOut: { p50: number, p95: number }
  reply: { p50: number, p95: number }
  errors: number
  reasons: string[]
  /** Why the first window of this step fell behind, when a second window was measured. */
  retried: string[]
}
const results: StepResult[] = []
const clientLoop = monitorEventLoopDelay({ resolution: 2 })

async function measureWindow (n: number): Promise<StepResult> {
  const marks = talkers.map(t => t.client.wsMessages.length)
  const errorsBefore = talkers.reduce((sum, t) => sum + t.errors, 0)
  clientLoop.reset()
  clientLoop.enable()
  const cpu = process.cpuUsage()
  const machine = machineTimes()
  const started = performance.now()
  child.send({ cmd: 'start' })
  await receive('started')
  await new Promise(resolve => setTimeout(resolve, WINDOW_MS))
  child.send({ cmd: 'stop' })
  const server = await receive('window') as unknown as WindowReport
  const elapsed = performance.now() - started
  clientLoop.disable()
  const used = process.cpuUsage(cpu)
  const machineEnd = machineTimes()
  const firstAudioOutMs: number[] = []
  talkers.forEach((t, i) => {
    for (const m of t.client.wsMessages.slice(marks[i])) {
      if (m.type === 'metrics' && m.timings.firstAudioOutMs !== undefined) firstAudioOutMs.push(m.timings.firstAudioOutMs)
    }
  })
  const replies = talkers.flatMap(t => t.replies.filter(r => r.at >= started).map(r => r.ms))
  for (const t of talkers) t.replies = t.replies.filter(r => r.at >= started) // keep memory flat
  const reasons: string[] = []
  if (server.loopDelay.p99 > LOOP_DELAY_LIMIT_MS) reasons.push(`event-loop p99 ${server.loopDelay.p99.toFixed(1)} ms > ${LOOP_DELAY_LIMIT_MS}`)
  if (server.vad.backlogReports > 0) reasons.push(`VAD backlog > 256 ms (${server.vad.backlogReports}×, max sampled ${server.vad.backlogMaxMs.toFixed(0)} ms)`)
  if (server.output.framesExpected > 0 && server.output.framesBehind / server.output.framesExpected > FRAMES_BEHIND_LIMIT) reasons.push(`tracks ${(100 * server.output.framesBehind / server.output.framesExpected).toFixed(1)}% of frames short`)
  const lost = talkers.filter(t => t.lost).length
  if (lost > 0) reasons.push(`${lost} connection${lost > 1 ? 's' : ''} closed by the server`)
  const fa = summary(firstAudioOutMs)
  const rp = summary(replies)
  return {
    n,
    server,
    clientCpuPercent: (used.user + used.system) / 1000 / elapsed * 100,
    clientLoopP99: clientLoop.percentile(99) / 1e6,
    machineBusyPercent: (machineEnd.busy - machine.busy) / (machineEnd.total - machine.total) * 100 * cpus().length,
    stealPercent: (machineEnd.steal - machine.steal) / (machineEnd.total - machine.total) * 100 * cpus().length,
    load: loadavg()[0] ?? 0,
    turns: firstAudioOutMs.length,
    firstAudioOut: { p50: fa.p50, p95: fa.p95 },
    reply: { p50: rp.p50, p95: rp.p95 },
    errors: talkers.reduce((sum, t) => sum + t.errors, 0) - errorsBefore,
    reasons,
    retried: []
  }
}

for (const n of STEPS) {
  try {
    while (talkers.length < n) await addTalker(talkers.length)
  } catch (error) {
    console.error(`could not connect session ${talkers.length + 1}: ${(error as Error).message}`)
    break
  }
  await new Promise(resolve => setTimeout(resolve, n === 0 ? 1000 : WARMUP_MS))
  let result = await measureWindow(n)
  if (result.reasons.length > 0) {
    // One window can fail on another job's burst (this machine is shared): a second one decides.
    console.error(`N=${n}: fell behind (${result.reasons.join('; ')}), measuring again`)
    const first = result
    result = await measureWindow(n)
    result.retried = first.reasons
  }
  results.push(result)
  if (process.env.BENCH_DEBUG !== undefined) console.error(JSON.stringify(result.server.perSession))
  console.error(`N=${n}: server CPU ${result.server.cpuPercent.toFixed(0)}%, ELU ${result.server.elu.toFixed(2)}, loop p99 ${result.server.loopDelay.p99.toFixed(1)} ms, clients CPU ${result.clientCpuPercent.toFixed(0)}%, machine ${result.machineBusyPercent.toFixed(0)}%` +
    `${result.reasons.length > 0 ? ' — FALLS BEHIND: ' + result.reasons.join('; ') : ''}`)
  if (result.reasons.length > 0) break
}

// ---- report ----
const f = (x: number, digits = 1): string => Number.isFinite(x) ? x.toFixed(digits) : '–'
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${isolated ? 'loopback-only network namespace' : 'host network, 127.0.0.1 candidates only'}; ` +
  `${WINDOW_MS / 1000} s window per step after ${WARMUP_MS / 1000} s warm-up; server RSS at start ${f(baseRssMB, 0)} MB\n`)
console.log('Server process (child):\n')
console.log('| sessions | CPU % of one core | event-loop utilization | loop delay p50 / p99 / max (ms) | VAD windows/s (expected) | mean VAD batch | VAD backlog max (ms) | track frames short / restarts | mic frames delivered / gap p99 (ms) | RSS / heap MB after GC (RSS per added session) | turns: firstAudioOutMs p50 / p95 | verdict |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  const s = r.server
  const one = results.find(x => x.n === 1)
  const perSession = one !== undefined && r.n > 1 ? ` (${f((s.rssMB - one.server.rssMB) / (r.n - 1))})` : ''
  console.log(`| ${r.n} | ${f(s.cpuPercent, 0)} | ${f(s.elu, 2)} | ${f(s.loopDelay.p50)} / ${f(s.loopDelay.p99)} / ${f(s.loopDelay.max)} | ${f(s.vad.windowsPerSecond, 0)} (${f(r.n * 31.25, 0)}) | ${f(s.vad.meanBatch)} | ${f(s.vad.backlogMaxMs, 0)} | ` +
    `${s.output.framesExpected > 0 ? f(100 * s.output.framesBehind / s.output.framesExpected, 2) + '%' : '–'} / ${s.output.restarts} | ` +
    `${s.inbound.expected > 0 ? f(100 * s.inbound.delivered / s.inbound.expected, 1) + '%' : '–'} / ${s.inbound.expected > 0 ? f(s.inbound.gapP99Ms) : '–'} | ${f(s.rssMB, 0)} / ${f(s.heapUsedMB, 0)}${perSession} | ` +
    `${r.turns > 0 ? `${r.turns}: ${f(r.firstAudioOut.p50, 0)} / ${f(r.firstAudioOut.p95, 0)}` : '–'} | ${r.reasons.length > 0 ? 'falls behind: ' + r.reasons.join('; ') : 'holds'}${r.retried.length > 0 ? ` (first window: ${r.retried.join('; ')})` : ''} |`)
}
console.log('\nClients (this process) and the machine:\n')
console.log('| sessions | clients CPU % of one core | clients loop delay p99 (ms) | machine busy % (of 200) | other jobs % | steal % | load avg (1 min) | client: speech-end → first sound p50 / p95 (ms) | error messages | server warnings |')
console.log('|---|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.n} | ${f(r.clientCpuPercent, 0)} | ${f(r.clientLoopP99)} | ${f(r.machineBusyPercent, 0)} | ${f(Math.max(0, r.machineBusyPercent - r.server.cpuPercent - r.clientCpuPercent), 0)} | ${f(r.stealPercent, 1)} | ${f(r.load, 2)} | ${r.n > 0 ? `${f(r.reply.p50, 0)} / ${f(r.reply.p95, 0)}` : '–'} | ${r.errors} | ${r.server.warnings} |`)
}
console.log('\nServer JS thread inside wrtc\'s synchronous native calls (timed around each call):\n')
console.log('| sessions | RTCAudioSource.onData: calls/s | share of one core | p50 / p99 / max (µs) | RTCDataChannel.send: calls in window | total ms | p50 / p99 / max (µs) |')
console.log('|---|---|---|---|---|---|---|')
for (const r of results) {
  const { onData, channelSend } = r.server.nativeCalls
  const seconds = r.server.windowMs / 1000
  console.log(`| ${r.n} | ${f(onData.calls / seconds, 0)} | ${f(onData.totalMs / r.server.windowMs * 100, 1)}% | ${f(onData.p50Us, 0)} / ${f(onData.p99Us, 0)} / ${f(onData.maxUs, 0)} | ` +
    `${channelSend.calls} | ${f(channelSend.totalMs, 1)} | ${f(channelSend.p50Us, 0)} / ${f(channelSend.p99Us, 0)} / ${f(channelSend.maxUs, 0)} |`)
}
console.log('\nServer JS thread, % of the window: busy (event-loop utilization), on a CPU, runnable but waiting for a CPU, and the rest of busy (blocked inside synchronous calls):\n')
console.log('| sessions | busy (ELU) | on CPU | waiting for a CPU | blocked (busy − on CPU − waiting) | of which inside RTCAudioSource.onData + RTCDataChannel.send (wall) |')
console.log('|---|---|---|---|---|---|')
for (const r of results) {
  const { elu, jsThread, nativeCalls } = r.server
  const busy = elu * 100
  const inside = (nativeCalls.onData.totalMs + nativeCalls.channelSend.totalMs) / r.server.windowMs * 100
  console.log(`| ${r.n} | ${f(busy, 0)} | ${f(jsThread.onCpuPercent, 0)} | ${f(jsThread.waitingForCpuPercent, 0)} | ${f(Math.max(0, busy - jsThread.onCpuPercent - jsThread.waitingForCpuPercent), 0)} | ${f(inside, 0)} |`)
}
console.log('\nServer CPU by thread (% of one core; threads named by libwebrtc, onnxruntime and libuv; "N" stands for a number):\n')
const threadNames = [...new Set(results.flatMap(r => Object.keys(r.server.threads)))].sort((a, b) => (results.at(-1)?.server.threads[b] ?? 0) - (results.at(-1)?.server.threads[a] ?? 0))
console.log(`| sessions | ${threadNames.join(' | ')} |`)
console.log(`|---|${threadNames.map(() => '---').join('|')}|`)
for (const r of results) console.log(`| ${r.n} | ${threadNames.map(name => f(r.server.threads[name] ?? 0, 0)).join(' | ')} |`)
const held = results.filter(r => r.reasons.length === 0 && r.n > 0).map(r => r.n)
const fell = results.find(r => r.reasons.length > 0)
console.log(`\nLargest N that held: ${held.length > 0 ? Math.max(...held) : 'none'}${fell !== undefined ? `; N=${fell.n} fell behind (${fell.reasons.join('; ')})` : '; no step fell behind'}.`)
for (const r of results) for (const w of r.server.warningSamples.slice(0, 2)) console.error(`server warning at N=${r.n}: ${w.trim()}`)

// ---- shutdown ----
running = false
await Promise.race([Promise.all(talkers.map(async t => { await t.loop })), new Promise(resolve => setTimeout(resolve, 8000))])
await Promise.all(talkers.map(async t => { await t.client.close().catch(() => {}) }))
finished = true
child.send({ cmd: 'exit' })
await new Promise(resolve => { child.once('exit', resolve); setTimeout(resolve, 6000) })
if (child.exitCode === null) child.kill('SIGKILL')
process.exit(0)
