/**
 * How many simultaneous phone calls one server process holds before it falls behind.
 * Run: `npx tsx bench/telephony-capacity.ts [steps] [windowSeconds]`, e.g. `npx tsx
 * bench/telephony-capacity.ts 10,20,40 10` (defaults: 10,20,40,60,80,100,120,160 and 10 s). Prints markdown.
 *
 * The server runs in a child process (bench/telephony-capacity-server.ts: LLMRTCServer, instant providers,
 * default Silero VAD, Twilio calls, WebRTC off) so that its CPU is measured apart from the carrier's. The
 * simulated carrier lives in this process (bench/telephony-call.ts): each call streams, in real time, 20 ms
 * μ-law messages of an espeak-ng phrase followed by 1.5 s of silence, looped, so the VAD scores every
 * 32 ms of every call and each call gets an answer (400 ms of speech, 20 μ-law messages) every ~3.5 s.
 * One timer paces every call (absolute 20 ms schedule). Calls are added step by step (kept from one step to
 * the next); each step warms up for 3 s, then measures a window.
 *
 * A step "falls behind" when, in its window, any of:
 * - the server's event-loop delay p99 exceeds 20 ms;
 * - more than 1% of the answers' media messages left over 20 ms after their due time, 20 ms after the
 *   one before (frame pacing broken: a stall the caller may hear);
 * - a VAD stream's backlog exceeded 256 ms, or a call was lost.
 * A failing window is measured once more (the machine is shared) and fails only if the second one does.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { encodeG711 } from '../lib/telephony/g711.js'
import { concat, silence, synthesizeSpeech } from '../test/helpers/speech.js'
import { guard } from './guard.js'
import type { CallWindowReport } from './telephony-capacity-server.js'
import { LATE_MESSAGE_MS, MESSAGE_BYTES, TwilioCall } from './telephony-call.js'

const STEPS = (process.argv[2] ?? '10,20,40,60,80,100,120,160').split(',').map(Number)
const WINDOW_MS = Number(process.argv[3] ?? 10) * 1000
const WARMUP_MS = 3000
const LOOP_DELAY_LIMIT_MS = 20
const LATE_LIMIT = 0.01
const PHRASES = [
  'Hello there, what time is it right now?',
  'Can you tell me the weather for tomorrow?',
  'Please remind me to call my sister.',
  'How far is the moon from the earth?'
]

// ---- the server child ----
const here = dirname(fileURLToPath(import.meta.url))
const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'telephony-capacity-server.ts')], {
  cwd: join(here, '..'),
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: { ...process.env }
})
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
const listening = await receive('listening', 60_000)
const base = `127.0.0.1:${listening.port as number}`
const baseRssMB = listening.rssMB as number

// ---- the carrier: every call's caller audio, paced by one timer ----
const loops = await Promise.all(PHRASES.map(async p => {
  const pcm = concat(await synthesizeSpeech(p, 8000), silence(1500, 8000))
  const bytes = new Uint8Array(Math.ceil(pcm.length / MESSAGE_BYTES) * MESSAGE_BYTES).fill(0xff) // μ-law silence
  bytes.set(encodeG711('mulaw', pcm))
  return bytes
}))

interface Caller { call: TwilioCall, audio: Uint8Array, offset: number, answers: number, lost: boolean }
const callers: Caller[] = []
let running = true
let ticks = 0
let lateTicks = 0
const startedAt = performance.now()
void (async () => {
  // eslint-disable-next-line no-unmodified-loop-condition -- cleared when the run ends
  while (running) {
    const due = startedAt + ++ticks * 20
    const wait = due - performance.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    if (performance.now() - due > 10) lateTicks++
    for (const caller of callers) {
      caller.call.sendAudio(caller.audio.subarray(caller.offset, caller.offset + MESSAGE_BYTES))
      caller.offset = (caller.offset + MESSAGE_BYTES) % caller.audio.length
    }
  }
})()

async function addCall (index: number): Promise<void> {
  const call = await TwilioCall.dial(base, `CA${String(index).padStart(6, '0')}`)
  const audio = loops[index % loops.length] as Uint8Array
  // Out of phase with the others: start somewhere in the loop.
  const caller: Caller = { call, audio, offset: Math.floor(Math.random() * audio.length / MESSAGE_BYTES) * MESSAGE_BYTES, answers: 0, lost: false }
  let lastMediaAt = 0
  call.onMedia = (_payload, at) => {
    if (at - lastMediaAt > 100) caller.answers++
    lastMediaAt = at
  }
  call.socket.on('close', () => {
    if (running) {
      caller.lost = true
      console.error(`call ${index + 1} lost`)
    }
  })
  callers.push(caller)
}

function machineTimes (): { busy: number, total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  return { busy: total - idle - iowait, total }
}

interface StepResult {
  n: number
  server: CallWindowReport
  clientCpuPercent: number
  clientLoopP99: number
  clientLateTicks: number
  machineBusyPercent: number
  load: number
  answers: number
  reasons: string[]
  retried: string[]
}
const results: StepResult[] = []
const clientLoop = monitorEventLoopDelay({ resolution: 2 })

async function measureWindow (n: number): Promise<StepResult> {
  const answersBefore = callers.reduce((sum, c) => sum + c.answers, 0)
  const lateBefore = lateTicks
  clientLoop.reset()
  clientLoop.enable()
  const cpu = process.cpuUsage()
  const machine = machineTimes()
  const started = performance.now()
  child.send({ cmd: 'start' })
  await receive('started')
  await new Promise(resolve => setTimeout(resolve, WINDOW_MS))
  child.send({ cmd: 'stop' })
  const server = await receive('window') as unknown as CallWindowReport
  const elapsed = performance.now() - started
  clientLoop.disable()
  const used = process.cpuUsage(cpu)
  const machineEnd = machineTimes()
  const reasons: string[] = []
  if (server.loopDelay.p99 > LOOP_DELAY_LIMIT_MS) reasons.push(`event-loop p99 ${server.loopDelay.p99.toFixed(1)} ms > ${LOOP_DELAY_LIMIT_MS}`)
  if (server.outbound.messages > 0 && server.outbound.late / server.outbound.messages > LATE_LIMIT) reasons.push(`${(100 * server.outbound.late / server.outbound.messages).toFixed(1)}% of media messages > ${LATE_MESSAGE_MS} ms late`)
  if (server.vad.backlogReports > 0) reasons.push(`VAD backlog > 256 ms (${server.vad.backlogReports}×)`)
  const lost = callers.filter(c => c.lost).length
  if (lost > 0) reasons.push(`${lost} call${lost > 1 ? 's' : ''} lost`)
  return {
    n,
    server,
    clientCpuPercent: (used.user + used.system) / 1000 / elapsed * 100,
    clientLoopP99: clientLoop.percentile(99) / 1e6,
    clientLateTicks: lateTicks - lateBefore,
    machineBusyPercent: (machineEnd.busy - machine.busy) / (machineEnd.total - machine.total) * 100 * cpus().length,
    load: loadavg()[0] ?? 0,
    answers: callers.reduce((sum, c) => sum + c.answers, 0) - answersBefore,
    reasons,
    retried: []
  }
}

for (const n of STEPS) {
  try {
    while (callers.length < n) await addCall(callers.length)
  } catch (error) {
    console.error(`could not dial call ${callers.length + 1}: ${(error as Error).message}`)
    break
  }
  await new Promise(resolve => setTimeout(resolve, WARMUP_MS))
  let result = await measureWindow(n)
  if (result.reasons.length > 0) {
    console.error(`N=${n}: fell behind (${result.reasons.join('; ')}), measuring again`)
    const first = result
    result = await measureWindow(n)
    result.retried = first.reasons
  }
  results.push(result)
  console.error(`N=${n}: server CPU ${result.server.cpuPercent.toFixed(0)}%, loop p99 ${result.server.loopDelay.p99.toFixed(1)} ms, late ${result.server.outbound.late}/${result.server.outbound.messages}, ` +
    `carrier CPU ${result.clientCpuPercent.toFixed(0)}%, machine ${result.machineBusyPercent.toFixed(0)}%${result.reasons.length > 0 ? ' — FALLS BEHIND: ' + result.reasons.join('; ') : ''}`)
  if (result.reasons.length > 0) break
}

// ---- report ----
const f = (x: number, digits = 1): string => Number.isFinite(x) ? x.toFixed(digits) : '–'
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}; ${WINDOW_MS / 1000} s window per step after ${WARMUP_MS / 1000} s warm-up; ` +
  `server RSS at start ${f(baseRssMB, 0)} MB\n`)
console.log('| calls | server CPU % of one core | per call | event-loop utilization | loop delay p50 / p99 / max (ms) | VAD windows/s (expected) | mean VAD batch | answers in window | media messages out / stalls (> 20 ms late) / worst (ms) | inbound messages (expected) / worst gap (ms) | RSS / heap MB | verdict |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  const s = r.server
  const seconds = s.windowMs / 1000
  console.log(`| ${r.n} | ${f(s.cpuPercent, 0)} | ${f(s.cpuPercent / r.n, 2)} | ${f(s.elu, 2)} | ${f(s.loopDelay.p50)} / ${f(s.loopDelay.p99)} / ${f(s.loopDelay.max)} | ` +
    `${f(s.vad.windowsPerSecond, 0)} (${f(r.n * 31.25, 0)}) | ${f(s.vad.meanBatch)} | ${r.answers} | ${s.outbound.messages} / ${s.outbound.late} / ${f(s.outbound.maxLateMs, 0)} | ` +
    `${s.inbound.messages} (${f(r.n * 50 * seconds, 0)}) / ${f(s.inbound.gapMaxMs, 0)} | ${f(s.rssMB, 0)} / ${f(s.heapUsedMB, 0)} | ` +
    `${r.reasons.length > 0 ? 'falls behind: ' + r.reasons.join('; ') : 'holds'}${r.retried.length > 0 ? ` (first window: ${r.retried.join('; ')})` : ''} |`)
}
console.log('\nThe simulated carrier (this process) and the machine:\n')
console.log('| calls | carrier CPU % of one core | carrier loop delay p99 (ms) | carrier ticks > 10 ms late | machine busy % (of 200) | other jobs % | load avg (1 min) | server warnings |')
console.log('|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.n} | ${f(r.clientCpuPercent, 0)} | ${f(r.clientLoopP99)} | ${r.clientLateTicks} | ${f(r.machineBusyPercent, 0)} | ${f(Math.max(0, r.machineBusyPercent - r.server.cpuPercent - r.clientCpuPercent), 0)} | ${f(r.load, 2)} | ${r.server.warnings} |`)
}
const held = results.filter(r => r.reasons.length === 0).at(-1)
console.log(`\nMost calls held: ${held?.n ?? 0}${results.at(-1)?.reasons.length === 0 ? ' (the last step: the limit is higher)' : ''}.`)

finished = true
running = false
child.send({ cmd: 'exit' })
await Promise.race([new Promise(resolve => child.once('exit', resolve)), new Promise(resolve => setTimeout(resolve, 6000))])
if (child.exitCode === null) child.kill('SIGKILL')
process.exit(0)
