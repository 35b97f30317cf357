/**
 * Main-thread cost of a WebRTC session's per-frame work, apart from the rest of the server.
 * Run: `npx tsx bench/frame-path.ts [sessions] [seconds]` (defaults 10 and 10). Prints markdown tables.
 *
 * 1. Inbound path in real time: `sessions` microphones deliver 10 ms frames of 48 kHz mono (an espeak-ng
 *    phrase + 1.5 s of silence in a loop, as bench/concurrency.ts's clients speak), each from its own
 *    timer at its own phase (as RTCAudioSinks do), into one SpeechDetector per session on the shared
 *    Silero model: resampling, windowing, batched VAD and segmentation, what plugins/pipeline/speech-
 *    detection.ts runs per session. Cost = CPU of this process (every thread) minus a run of the same
 *    timers delivering to nothing, per session-second. Median of 5 rounds (the machine is shared).
 *    The same work back to back (no wall clock, each frame in its own turn of the event loop) for 1,
 *    `sessions` and twice as many sessions: steadier on a loaded machine than real time.
 * 2. Each stage alone, in a tight loop (CPU µs per call).
 * 3. wrtc's RTCAudioSource.onData on a connected loopback peer connection: µs per 10 ms frame (wall,
 *    around the call), and the JS thread's CPU per call (its schedstat, minus a run calling nothing);
 *    then the receiver's RTCAudioSink delivering each frame to JS (minus the run without a sink), through
 *    wrtc's EventTarget shim (`ondata`) and through an own `dispatchEvent` (what InboundAudio does).
 *    Whether onData takes more than 10 ms per call is tried in a child process.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import type { AudioFrame } from '../lib/audio/audio-frame.js'
import { downmix } from '../lib/audio/downmix.js'
import { Resampler } from '../lib/audio/resampler.js'
import { SILERO_WINDOW_SAMPLES, SileroVad } from '../lib/vad/silero-vad.js'
import { SpeechDetector } from '../lib/vad/speech-detector.js'
import { SpeechSegmenter } from '../lib/vad/speech-segmenter.js'
import { loadWrtc, type WrtcAudioData, type WrtcAudioSink, type WrtcMediaStreamTrack } from '../plugins/webrtc/wrtc.js'
import { concat, silence, synthesizeSpeech } from '../test/helpers/speech.js'
import { guard } from './guard.js'

const SESSIONS = Number(process.argv[2] ?? 10)
const SECONDS = Number(process.argv[3] ?? 10)
const FRAME = 480
const fmt = (n: number, digits = 1): string => n.toFixed(digits)

if (process.argv[2] === 'batch-probe') {
  // Child: does onData take 20 ms of 48 kHz in one call?
  const wrtc = loadWrtc()
  const source = new wrtc.nonstandard.RTCAudioSource()
  try {
    source.onData({ samples: new Int16Array(960), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 960 })
    console.log('accepted')
  } catch (error) {
    console.log(`rejected: ${(error as Error).message}`)
  }
  process.exit(0)
}

guard(10 * 60_000)
const cpuNowUs = (): number => { const u = process.cpuUsage(); return u.user + u.system }

const speech = concat(await synthesizeSpeech('Hello there, what time is it right now?', 48_000), silence(1500, 48_000))
const frameAt = (i: number): Int16Array => {
  const start = (i * FRAME) % (speech.length - FRAME)
  return speech.subarray(start, start + FRAME)
}

/** CPU µs this process spends while `sessions` timers each deliver 100 frames/s for `seconds` to `deliver`. */
async function realTime (sessions: number, seconds: number, deliver: (session: number, frame: number) => void): Promise<number> {
  const timers: NodeJS.Timeout[] = []
  const frames = new Array<number>(sessions).fill(0)
  const started = cpuNowUs()
  await new Promise<void>(resolve => {
    for (let s = 0; s < sessions; s++) {
      // Each microphone at its own phase within the 10 ms period, as independent sinks are.
      setTimeout(() => {
        timers.push(setInterval(() => { deliver(s, frames[s]!++) }, 10))
      }, (s * 10) / sessions)
    }
    setTimeout(resolve, seconds * 1000)
  })
  for (const timer of timers) clearInterval(timer)
  return cpuNowUs() - started
}

async function inboundPath (vad: SileroVad): Promise<{ usPerSessionSecond: number, idleUs: number, meanBatch: number }> {
  const rounds: Array<{ usPerSessionSecond: number, idleUs: number, meanBatch: number }> = []
  for (let round = 0; round < 5; round++) {
    // Idle and busy back to back in every round; the median round is reported (the machine is shared).
    const idleUs = await realTime(SESSIONS, SECONDS, () => {})
    const detectors = Array.from({ length: SESSIONS }, () => new SpeechDetector(vad, { onEvent: () => {}, onError: (e) => { throw e } }))
    const frame: AudioFrame = { samples: new Int16Array(0), sampleRateHz: 48_000, channels: 1, samplesPerChannel: FRAME }
    const before = vad.stats
    const busyUs = await realTime(SESSIONS, SECONDS, (s, f) => {
      frame.samples = frameAt(f + s * 37)
      detectors[s]!.push(frame)
    })
    await Promise.all(detectors.map(async d => { await d.drain() }))
    const after = vad.stats
    for (const d of detectors) d.close()
    rounds.push({ usPerSessionSecond: (busyUs - idleUs) / SESSIONS / SECONDS, idleUs, meanBatch: (after.windows - before.windows) / (after.runs - before.runs) })
  }
  return rounds.sort((a, b) => a.usPerSessionSecond - b.usPerSessionSecond)[2]!
}

/**
 * The same work without the wall clock: the sessions' frames one after another, each in its own turn of
 * the event loop (as separate sinks deliver them), as fast as the CPU goes. All CPU is the work's (no
 * idle to subtract), so this holds up on a loaded machine. Best of 3 rounds.
 */
async function inboundPathBackToBack (vad: SileroVad, sessions: number, seconds: number): Promise<{ usPerSessionSecond: number, meanBatch: number }> {
  let best = { usPerSessionSecond: Infinity, meanBatch: 0 }
  const frame: AudioFrame = { samples: new Int16Array(0), sampleRateHz: 48_000, channels: 1, samplesPerChannel: FRAME }
  const nextTurn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
  for (let round = 0; round < 3; round++) {
    const detectors = Array.from({ length: sessions }, () => new SpeechDetector(vad, { onEvent: () => {}, onError: (e) => { throw e } }))
    const before = vad.stats
    const started = cpuNowUs()
    for (let f = 0; f < seconds * 100; f++) {
      for (let s = 0; s < sessions; s++) {
        frame.samples = frameAt(f + s * 37)
        detectors[s]!.push(frame)
        await nextTurn()
      }
    }
    await Promise.all(detectors.map(async d => { await d.drain() }))
    const loopStarted = cpuNowUs()
    const used = loopStarted - started
    // The loop's own cost (the turns of the event loop), measured alone.
    for (let i = 0; i < seconds * 100 * sessions; i++) await nextTurn()
    const loopUs = cpuNowUs() - loopStarted
    const after = vad.stats
    for (const d of detectors) d.close()
    const usPerSessionSecond = (used - loopUs) / sessions / seconds
    if (usPerSessionSecond < best.usPerSessionSecond) best = { usPerSessionSecond, meanBatch: (after.windows - before.windows) / (after.runs - before.runs) }
  }
  return best
}

/** Best of 3 rounds of CPU µs per call. */
async function perCall (iterations: number, fn: (i: number) => unknown): Promise<number> {
  let best = Infinity
  for (let round = 0; round < 3; round++) {
    const start = cpuNowUs()
    for (let i = 0; i < iterations; i++) await fn(i)
    best = Math.min(best, (cpuNowUs() - start) / iterations)
  }
  return best
}

async function stages (vad: SileroVad): Promise<string[]> {
  const rows: string[] = []
  const stereo = new Int16Array(2 * FRAME)
  const mono = new Int16Array(FRAME)
  const frame = frameAt(10)
  for (let i = 0; i < FRAME; i++) stereo.fill(frame[i]!, 2 * i, 2 * i + 2)
  rows.push(`| downmix, 10 ms of 48 kHz stereo | ${fmt(await perCall(50_000, () => downmix(stereo, 2, mono)), 2)} |`)
  const resampler = new Resampler(48_000, 16_000)
  rows.push(`| resample 48 kHz → 16 kHz, 10 ms | ${fmt(await perCall(50_000, (i) => resampler.process(frameAt(i))), 2)} |`)
  const window = new Int16Array(SILERO_WINDOW_SAMPLES)
  const state = vad.createState()
  rows.push(`| Silero window alone (batch 1) | ${fmt(await perCall(500, async () => await vad.detect(state, window)))} |`)
  for (const streams of [4, 10, 20]) {
    const states = Array.from({ length: streams }, () => vad.createState())
    rows.push(`| Silero window in a batch of ${streams} | ${fmt(await perCall(Math.round(2000 / streams), async () => await Promise.all(states.map(async s => await vad.detect(s, window)))) / streams)} |`)
  }
  const segmenter = new SpeechSegmenter(undefined, () => {})
  const windowed = new Int16Array(SILERO_WINDOW_SAMPLES)
  rows.push(`| segmenter, one window (speech 1 s, silence 1 s) | ${fmt(await perCall(50_000, (i) => { segmenter.push(windowed, i % 62 < 31 ? 0.9 : 0.1) }), 2)} |`)
  return rows
}

/** Main-thread ns on CPU so far (schedstat of the JS thread). */
function jsThreadNs (): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
}

async function nativeCalls (): Promise<{ wallP50Us: number, wallMeanUs: number, onDataUs: number, sinkShimUs: number, sinkDirectUs: number, sendWallP50Us: number, sendCpuUs: number }> {
  const wrtc = loadWrtc()
  const sender = new wrtc.RTCPeerConnection()
  const receiver = new wrtc.RTCPeerConnection()
  sender.onicecandidate = ({ candidate }) => { if (candidate !== null) void receiver.addIceCandidate(candidate) }
  receiver.onicecandidate = ({ candidate }) => { if (candidate !== null) void sender.addIceCandidate(candidate) }
  const source = new wrtc.nonstandard.RTCAudioSource()
  sender.addTrack(source.createTrack())
  // The `data` channel payload messages are mirrored on (lib/signaling/client-connection.ts).
  const channel = sender.createDataChannel('data')
  let track: WrtcMediaStreamTrack | undefined
  receiver.ontrack = (event) => { track = event.track }
  await sender.setLocalDescription(await sender.createOffer())
  await receiver.setRemoteDescription(sender.localDescription!)
  await receiver.setLocalDescription(await receiver.createAnswer())
  await sender.setRemoteDescription(receiver.localDescription!)
  while (sender.connectionState !== 'connected' || channel.readyState !== 'open') await new Promise(resolve => setTimeout(resolve, 20))
  // onData wants an array of its own (it checks the buffer's byteLength), not a view into the loop.
  const samples = new Int16Array(FRAME)
  const data: WrtcAudioData = { samples, sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME }
  const calls = SECONDS * 100
  const run = async (push: boolean, listen?: 'ondata' | 'dispatchEvent'): Promise<{ ns: number, wall: number[] }> => {
    const wall: number[] = []
    // The receiving side's RTCAudioSink: each 10 ms frame comes to JS, through wrtc's EventTarget shim
    // (ondata) or straight into an own dispatchEvent (what InboundAudio sets).
    const sink: (WrtcAudioSink & { dispatchEvent?: () => void }) | undefined = listen !== undefined && track !== undefined ? new wrtc.nonstandard.RTCAudioSink(track) : undefined
    if (sink !== undefined) {
      if (listen === 'ondata') sink.ondata = () => {}
      else sink.dispatchEvent = () => {}
    }
    const started = jsThreadNs()
    await new Promise<void>(resolve => {
      let n = 0
      const timer = setInterval(() => {
        samples.set(frameAt(n))
        const t = performance.now()
        if (push) source.onData(data)
        wall.push((performance.now() - t) * 1000)
        if (++n === calls) { clearInterval(timer); resolve() }
      }, 10)
    })
    const ns = jsThreadNs() - started
    sink?.stop()
    return { ns, wall }
  }
  await run(true)
  const idle = await run(false)
  const busy = await run(true)
  const shim: number[] = []
  const direct: number[] = []
  for (let round = 0; round < 3; round++) {
    const pushed = await run(true)
    shim.push((await run(true, 'ondata')).ns - pushed.ns)
    direct.push((await run(true, 'dispatchEvent')).ns - pushed.ns)
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1]!
  // RTCDataChannel.send of a typical payload message (~120 bytes of JSON), 100 a second.
  const message = JSON.stringify({ type: 'llm-chunk', content: 'A table for four, at what time would you like it?', done: false })
  const sendWall: number[] = []
  const sendStarted = jsThreadNs()
  await new Promise<void>(resolve => {
    let n = 0
    const timer = setInterval(() => {
      const t = performance.now()
      channel.send(message)
      sendWall.push((performance.now() - t) * 1000)
      if (++n === calls) { clearInterval(timer); resolve() }
    }, 10)
  })
  const sendNs = jsThreadNs() - sendStarted
  sender.close()
  receiver.close()
  const wall = busy.wall.sort((a, b) => a - b)
  return {
    wallP50Us: wall[wall.length >> 1]!,
    wallMeanUs: wall.reduce((a, b) => a + b, 0) / calls,
    onDataUs: (busy.ns - idle.ns) / 1000 / calls,
    sinkShimUs: median(shim) / 1000 / calls,
    sinkDirectUs: median(direct) / 1000 / calls,
    sendWallP50Us: median(sendWall),
    sendCpuUs: (sendNs - idle.ns) / 1000 / calls
  }
}

const vad = await SileroVad.acquire()
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${loadavg().map(l => fmt(l, 2)).join(' ')}\n`)
console.log('| inbound path: 48 kHz mono → 16 kHz → Silero → segmenter | sessions | CPU µs per session-second | share of one core per session | mean VAD batch |')
console.log('|---|---|---|---|---|')
for (const sessions of [1, SESSIONS, 2 * SESSIONS]) {
  const fast = await inboundPathBackToBack(vad, sessions, SECONDS)
  console.log(`| frames back to back | ${sessions} | ${fmt(fast.usPerSessionSecond, 0)} | ${fmt(fast.usPerSessionSecond / 1e4, 2)}% | ${fmt(fast.meanBatch)} |`)
}
const inbound = await inboundPath(vad)
console.log(`| real time, median of 5 (timers alone: ${fmt(inbound.idleUs / SECONDS, 0)} µs/s, subtracted) | ${SESSIONS} | ${fmt(inbound.usPerSessionSecond, 0)} | ${fmt(inbound.usPerSessionSecond / 1e4, 2)}% | ${fmt(inbound.meanBatch)} |`)
console.log('\n| stage | CPU µs per call |')
console.log('|---|---|')
for (const row of await stages(vad)) console.log(row)
await vad.close()
const native = await nativeCalls()
const probe = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'batch-probe'], { encoding: 'utf8' })
console.log('\n| wrtc native call per 10 ms frame, connected loopback pair | wall p50 (µs) | wall mean (µs) | JS thread CPU (µs) |')
console.log('|---|---|---|---|')
console.log(`| RTCAudioSource.onData, 48 kHz mono (${SECONDS * 100} calls at 100/s) | ${fmt(native.wallP50Us)} | ${fmt(native.wallMeanUs)} | ${fmt(native.onDataUs)} |`)
console.log(`| RTCAudioSink delivering the frame to JS: ondata, through wrtc's EventTarget shim (median of 3) | | | ${fmt(native.sinkShimUs)} |`)
console.log(`| RTCAudioSink delivering the frame to JS: an own dispatchEvent, as InboundAudio takes it (median of 3) | | | ${fmt(native.sinkDirectUs)} |`)
console.log(`| RTCDataChannel.send, ~120 bytes of JSON (not per frame: per payload message) | ${fmt(native.sendWallP50Us)} | | ${fmt(native.sendCpuUs)} |`)
console.log(`\n20 ms in one onData call: ${probe.stdout.trim() || probe.stderr.trim().split('\n').at(-1)}`)
// wrtc can crash at a natural exit once an RTCAudioSource existed.
process.exit(0)
