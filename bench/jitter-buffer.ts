/**
 * What the server's idle track costs, at both ends. Two modes:
 *
 * `npx tsx bench/jitter-buffer.ts browser [answers] [gapMs] [--wake=ms] [--dtx]` (default 8 answers, 3000 ms apart):
 * the voice page (public/) in the headless Debian Chromium of the browser tests, with a silent fake
 * microphone, against an in-process server. The bench writes "answers" (a 440 Hz tone of 1 s at 24 kHz,
 * as a TTS would) straight to the session's output, `gapMs` of silence apart. Per answer, from the page's
 * `getStats()` inbound-rtp from the write to 1 s after the answer's first sound: the receiver's mean jitter-buffer delay
 * (Δ jitterBufferDelay / Δ jitterBufferEmittedCount), its target delay and the concealed samples; and the
 * first-sound delay, from the server's write to the first loud block seen by a ScriptProcessor (256
 * samples) on the page's remote stream (both ends on the same wall clock: performance.timeOrigin + now()).
 * `--wake=ms`: the output's `wake()` is called that long before each write, as the pipeline does on the
 * user's speech (no-op on outputs without it).
 *
 * `npx tsx bench/jitter-buffer.ts idle [sessions] [windowMs] [--dtx]` (default 10 sessions, 15000 ms):
 * the server in a child process, `sessions` WebRTC test clients connected with their microphone added
 * (streaming silence, as a browser's does), nobody speaking; the server's CPU per thread name over the
 * window (/proc/<pid>/task/ * /stat, 10 ms ticks), minus the same window with no session, in % of one core.
 *
 * `--dtx`: the server applies every offer with `usedtx=1` on Opus, so its encoder uses discontinuous
 * transmission (a packet every 400 ms of silence instead of every 20 ms); llmrtc does not do this.
 *
 * Runs inside a loopback-only network namespace when it can (see test/helpers/webrtc-client.ts).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import llmrtc from '../plugins/llmrtc/index.js'
import type { SessionMedia } from '../lib/transport/media-transport.js'
import { WebRTCTestClient, isolateNetwork } from './webrtc-test-client.js'
import { guard } from './guard.js'

const DTX = process.argv.includes('--dtx')
const WAKE_BEFORE_MS = Number(process.argv.find(arg => arg.startsWith('--wake='))?.slice(7) ?? NaN)
const [mode = 'browser', first, second] = process.argv.slice(2).filter(arg => !arg.startsWith('--') || arg === '--server')
if (mode !== '--server') isolateNetwork()
guard(20 * 60_000)

const wallNow = (): number => performance.timeOrigin + performance.now()

if (DTX) {
  const { createRequire } = await import('node:module')
  const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as { RTCPeerConnection: { prototype: { setRemoteDescription: (d: { type: string, sdp: string }) => Promise<void> } } }
  const proto = wrtc.RTCPeerConnection.prototype
  const apply = proto.setRemoteDescription
  proto.setRemoteDescription = function (this: unknown, d) {
    return apply.call(this, { type: d.type, sdp: d.sdp.replace(/(a=fmtp:111 [^\r\n]*)/g, (line) => line.includes('usedtx') ? line : `${line};usedtx=1`) })
  }
}

async function startServer (): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify({ logger: false })
  await app.register(llmrtc, { env: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `http://127.0.0.1:${address.port}${app.llmrtcConfig.path}` }
}

function tone (ms: number, rateHz: number): Int16Array {
  const samples = new Int16Array(Math.round(rateHz * ms / 1000))
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rateHz))
  return samples
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
}

/** Installed in the page: the inbound-rtp figures, and the times loud audio was seen on the remote stream. */
const PAGE_SCRIPT = `(() => {
  const bench = { sounds: [] }
  window.llmrtcBench = bench
  const Native = window.RTCPeerConnection
  const peers = []
  window.RTCPeerConnection = class extends Native { constructor (c) { super(c); peers.push(this) } }
  bench.stats = async () => {
    let out = null
    ;(await peers.at(-1).getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') out = r })
    return out && { delay: out.jitterBufferDelay, target: out.jitterBufferTargetDelay, emitted: out.jitterBufferEmittedCount, concealed: out.concealedSamples, received: out.totalSamplesReceived, packets: out.packetsReceived }
  }
  bench.listen = async () => {
    const element = document.getElementById('speaker')
    const context = new AudioContext()
    await context.resume()
    const source = context.createMediaStreamSource(element.srcObject)
    const node = context.createScriptProcessor(256, 1, 1)
    let loud = false
    node.onaudioprocess = (event) => {
      const samples = event.inputBuffer.getChannelData(0)
      let peak = 0
      for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]))
      if (peak > 0.05 && !loud) bench.sounds.push(performance.timeOrigin + performance.now())
      loud = peak > 0.05
    }
    source.connect(node)
    node.connect(context.destination)
  }
})()`

async function browserMode (answers: number, gapMs: number): Promise<void> {
  const { launchChromium, fakeMicrophoneFile } = await import('../test/helpers/browser.js')
  const dir = mkdtempSync(join(tmpdir(), 'llmrtc-jitter-'))
  const teardowns: Array<() => unknown> = []
  const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }
  try {
    const browser = await launchChromium(t as never, await fakeMicrophoneFile(dir, [20_000]))
    const { app, url } = await startServer()
    teardowns.push(async () => await app.close())
    const media = new Promise<SessionMedia>(resolve => { app.llmrtcTransport.once('media', (_id, media) => { resolve(media) }) })
    const page = browser.pages()[0] ?? await browser.newPage()
    await page.addInitScript({ content: PAGE_SCRIPT })
    await page.goto(url)
    await page.click('#connect')
    await page.locator('#mic:enabled').waitFor({ timeout: 30_000 })
    await page.click('#mic')
    const { output } = await media as { output: SessionMedia['output'] & { wake?: () => void } }
    await page.waitForFunction('document.getElementById("speaker").srcObject !== null', undefined, { timeout: 30_000 })
    await page.evaluate('window.llmrtcBench.listen()')
    const answer = tone(1000, 24_000)
    const rows: Array<{ firstSoundMs: number, jitterMs: number, targetMs: number, concealedMs: number }> = []
    for (let i = 0; i < answers; i++) {
      if (WAKE_BEFORE_MS >= 0) { await sleep(gapMs - WAKE_BEFORE_MS); output.wake?.(); await sleep(WAKE_BEFORE_MS) } else await sleep(gapMs)
      type Stats = { delay: number, target: number, emitted: number, concealed: number }
      const before = await page.evaluate('window.llmrtcBench.stats()') as Stats
      const sounds = (await page.evaluate('window.llmrtcBench.sounds.length')) as number
      const writtenAt = wallNow()
      output.write(answer, 24_000)
      // The receiver's figures over the answer: until 1 s after its first sound (or 5 s).
      await page.waitForFunction(`window.llmrtcBench.sounds.length > ${sounds}`, undefined, { timeout: 5000, polling: 20 }).catch(() => {})
      await sleep(1000)
      const after = await page.evaluate('window.llmrtcBench.stats()') as Stats
      const heard = (await page.evaluate(`window.llmrtcBench.sounds.slice(${sounds})`)) as number[]
      const emitted = after.emitted - before.emitted
      rows.push({
        firstSoundMs: (heard[0] ?? NaN) - writtenAt,
        jitterMs: 1000 * (after.delay - before.delay) / emitted,
        targetMs: 1000 * ((after.target ?? NaN) - (before.target ?? NaN)) / emitted,
        concealedMs: (after.concealed - before.concealed) / 48
      })
    }
    console.log(`${answers} answers ${gapMs} ms apart${WAKE_BEFORE_MS >= 0 ? `, woken ${WAKE_BEFORE_MS} ms before` : ''}${DTX ? ', DTX' : ''}, load average ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
    console.log('| answer | first sound ms | jitter buffer ms | target ms | concealed ms |\n|---:|---:|---:|---:|---:|')
    rows.forEach((row, i) => { console.log(`| ${i + 1} | ${row.firstSoundMs.toFixed(1)} | ${row.jitterMs.toFixed(1)} | ${row.targetMs.toFixed(1)} | ${row.concealedMs.toFixed(0)} |`) })
    const firstSound = rows.map(r => r.firstSoundMs)
    const jitter = rows.map(r => r.jitterMs)
    console.log(`\nfirst sound: mean ${mean(firstSound).toFixed(1)} ms, p50 ${percentile(firstSound, 0.5).toFixed(1)}, max ${Math.max(...firstSound).toFixed(1)}; jitter buffer: mean ${mean(jitter).toFixed(1)} ms, p50 ${percentile(jitter, 0.5).toFixed(1)}, max ${Math.max(...jitter).toFixed(1)}`)
  } finally {
    for (const fn of teardowns.reverse()) await fn()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** CPU ticks (utime + stime) per thread name of process `pid`. */
function threadTicks (pid: number): Map<string, number> {
  const ticks = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]))
    } catch {} // the thread ended meanwhile
  }
  return ticks
}

/** % of one core per thread name over `windowMs` (ticks are 10 ms). */
async function cpuWindow (pid: number, windowMs: number): Promise<Map<string, number>> {
  const start = threadTicks(pid)
  await sleep(windowMs)
  const end = threadTicks(pid)
  const percent = new Map<string, number>()
  for (const [name, ticks] of end) percent.set(name, (ticks - (start.get(name) ?? 0)) * 10 / windowMs * 100)
  return percent
}

async function idleMode (sessions: number, windowMs: number): Promise<void> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--server', ...(DTX ? ['--dtx'] : [])], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const clients: WebRTCTestClient[] = []
  try {
    const url = await new Promise<string>(resolve => { child.once('message', (message) => { resolve(String(message)) }) })
    const pid = child.pid as number
    await sleep(2000)
    const empty = await cpuWindow(pid, windowMs)
    for (let i = 0; i < sessions; i++) {
      const client = await WebRTCTestClient.connect(url.replace(/^http:/, 'ws:'), { timeoutMs: 15_000 })
      clients.push(client)
      await client.addMicrophone()
    }
    await sleep(12_000) // longer than the outputs' idleAfterMs
    const loaded = await cpuWindow(pid, windowMs)
    const names = [...new Set([...empty.keys(), ...loaded.keys()])].sort((a, b) => (loaded.get(b) ?? 0) - (loaded.get(a) ?? 0))
    console.log(`${sessions} idle sessions${DTX ? ', DTX' : ''}, ${windowMs} ms window, load average ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
    console.log('| thread | no session, % core | with sessions, % core | per session, % core |\n|---|---:|---:|---:|')
    let total = 0
    for (const name of names) {
      const perSession = ((loaded.get(name) ?? 0) - (empty.get(name) ?? 0)) / sessions
      total += perSession
      if ((loaded.get(name) ?? 0) === 0 && (empty.get(name) ?? 0) === 0) continue
      console.log(`| ${name} | ${(empty.get(name) ?? 0).toFixed(2)} | ${(loaded.get(name) ?? 0).toFixed(2)} | ${perSession.toFixed(3)} |`)
    }
    console.log(`| total | | | ${total.toFixed(3)} |`)
  } finally {
    await Promise.all(clients.map(async client => { await client.close() }))
    child.kill()
  }
}

if (mode === '--server') {
  const { url } = await startServer()
  process.send?.(url)
} else if (mode === 'idle') {
  await idleMode(Number(first ?? 10), Number(second ?? 15_000))
  process.exit(0)
} else {
  await browserMode(Number(first ?? 8), Number(second ?? 3000))
  process.exit(0)
}
