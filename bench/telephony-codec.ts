/**
 * What a phone call costs in audio work, per 20 ms media message and per call-second, on one core.
 * Run: `npx tsx bench/telephony-codec.ts` (prints markdown tables).
 *
 * Each stage is the library's own code, timed alone and end to end (best of 3 rounds, CPU time of this
 * process, which is steadier than wall time on a shared machine):
 * - inbound, per 20 ms Twilio media message: JSON + base64 (the adapter's parse), μ-law decode and the
 *   cut into 10 ms frames (CallMedia.receiveAudio), the speech detector's 8 → 16 kHz upsampling;
 * - outbound, per 20 ms of answer: the paced output's two 10 ms frames (TTS 24 → 48 kHz, common to
 *   WebRTC), 48 → 8 kHz, μ-law encode and the media message (base64 + JSON), driven by a fake clock;
 * - Silero VAD per 32 ms window, as the pipeline runs it (16 kHz, 512 samples) and natively at 8 kHz
 *   (256 samples, the model's other rate; llmrtc does not use it), alone and in batches of 16;
 * - for comparison, the WebRTC inbound conversion (48 → 16 kHz per 10 ms frame).
 */
import { cpus } from 'node:os'
import { InferenceSession, Tensor } from 'onnxruntime-node'
import { Resampler } from '../lib/audio/resampler.js'
import { CallMedia } from '../lib/telephony/call-media.js'
import { decodeG711, encodeG711, g711SampleCodec, type G711Law } from '../lib/telephony/g711.js'
import { createTwilioAdapter } from '../lib/telephony/twilio-adapter.js'
import { PacedAudioOutput } from '../lib/transport/paced-audio-output.js'
import { defaultSileroModelPath } from '../lib/vad/silero-vad.js'
import { FakeClock } from '../test/helpers/fake-clock.js'

const MESSAGE_MS = 20
const MESSAGES_PER_SECOND = 1000 / MESSAGE_MS
const WINDOWS_PER_SECOND = 1000 / 32

function signal (n: number, rate: number, seed = 1): Int16Array {
  const out = new Int16Array(n)
  let state = seed
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = Math.round(6000 * Math.sin(2 * Math.PI * 440 * i / rate) + (state / 0x100000000 - 0.5) * 2000)
  }
  return out
}

/** Runs `fn` `iterations` times, in 3 rounds; returns the best round's CPU µs per iteration (and all three). */
async function measure (iterations: number, fn: () => unknown): Promise<{ cpuUs: number, rounds: number[] }> {
  for (let i = 0; i < Math.min(iterations, 2000); i++) await fn() // warm-up: JIT, buffers grown
  const rounds: number[] = []
  for (let round = 0; round < 3; round++) {
    const cpu = process.cpuUsage()
    for (let i = 0; i < iterations; i++) await fn()
    const used = process.cpuUsage(cpu)
    rounds.push((used.user + used.system) / iterations)
  }
  return { cpuUs: Math.min(...rounds), rounds }
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits)
const core = (usPerSecond: number): string => `${fmt(usPerSecond / 1e6 * 100, 2)}%`

interface Row { stage: string, perUnit: string, usPerUnit: number, unitsPerSecond: number, rounds: number[] }
const rows: Row[] = []
async function stage (name: string, perUnit: string, unitsPerSecond: number, iterations: number, fn: () => unknown): Promise<number> {
  const { cpuUs, rounds } = await measure(iterations, fn)
  rows.push({ stage: name, perUnit, usPerUnit: cpuUs, unitsPerSecond, rounds })
  return cpuUs
}

// ---- inbound: one 20 ms media message as Twilio sends it ----
const adapter = createTwilioAdapter({ authToken: 'bench' })
const caller = signal(8000 * 10, 8000)
const inboundMessages = Array.from({ length: 500 }, (_, n) => JSON.stringify({
  event: 'media',
  sequenceNumber: String(n + 2),
  media: { track: 'inbound', chunk: String(n + 1), timestamp: String(n * 20), payload: Buffer.from(encodeG711('mulaw', caller.subarray(n * 160, n * 160 + 160))).toString('base64') },
  streamSid: 'MZ0000'
}))
let m = 0
await stage('inbound: parse the media message (JSON + base64)', '20 ms message', MESSAGES_PER_SECOND, 20_000, () => adapter.parse(inboundMessages[m++ % inboundMessages.length] as string))

const sink = new CallMedia({ adapter, streamId: 'MZ0000', law: 'mulaw', sampleRateHz: 8000, send: () => {}, clock: new FakeClock() })
const payloads = inboundMessages.map(text => { const event = adapter.parse(text); return event?.type === 'media' ? event.payload : Buffer.alloc(160) })
sink.onAudio(() => {})
await stage('inbound: μ-law decode + 10 ms frames (CallMedia.receiveAudio)', '20 ms message', MESSAGES_PER_SECOND, 50_000, () => { sink.receiveAudio(payloads[m++ % payloads.length] as Buffer) })

for (const law of ['mulaw', 'alaw'] as const satisfies readonly G711Law[]) {
  const bytes = encodeG711(law, caller.subarray(0, 160))
  const codec = g711SampleCodec(law)
  const out = new Int16Array(160)
  await stage(`${law === 'mulaw' ? 'μ' : 'A'}-law decode alone, per-sample codec into a kept buffer`, '160 samples', MESSAGES_PER_SECOND, 100_000, () => { for (let i = 0; i < 160; i++) out[i] = codec.decode(bytes[i] as number) })
  await stage(`${law === 'mulaw' ? 'μ' : 'A'}-law decode alone, alawmulaw's array API (decodeG711: an array per call)`, '160 samples', MESSAGES_PER_SECOND, 100_000, () => decodeG711(law, bytes))
}

const up = new Resampler(8000, 16000)
const frame8k = caller.subarray(0, 80)
await stage('inbound: 8 → 16 kHz for the VAD and STT (speech detector)', '10 ms frame', 100, 50_000, () => up.process(frame8k))

const inboundEndToEnd = new CallMedia({ adapter, streamId: 'MZ0000', law: 'mulaw', sampleRateHz: 8000, send: () => {}, clock: new FakeClock() })
const detectorResampler = new Resampler(8000, 16000)
inboundEndToEnd.onAudio((frame) => { detectorResampler.process(frame.samples) })
const inboundUs = await stage('**inbound end to end**: parse + decode + frames + 8 → 16 kHz', '20 ms message', MESSAGES_PER_SECOND, 20_000, () => {
  const event = adapter.parse(inboundMessages[m++ % inboundMessages.length] as string)
  if (event?.type === 'media') inboundEndToEnd.receiveAudio(event.payload)
})

const webrtcDown = new Resampler(48000, 16000)
const frame48k = signal(480, 48000)
const webrtcInboundUs = await stage('WebRTC inbound for comparison: 48 → 16 kHz', '10 ms frame', 100, 50_000, () => webrtcDown.process(frame48k))

// ---- outbound: the answer, paced in real time on a fake clock ----
const tts = signal(24_000 * 120, 24_000)
function outbound (): { advance: () => void, messages: () => number } {
  const clock = new FakeClock()
  let sent = 0
  const media = new CallMedia({ adapter, streamId: 'MZ0000', law: 'mulaw', sampleRateHz: 8000, send: () => { sent++ }, clock })
  media.start()
  let queuedMs = 0
  let playedMs = 0
  return {
    advance: () => {
      if (queuedMs - playedMs < 1000) { media.write(tts, 24_000); queuedMs += tts.length / 24 }
      clock.advance(MESSAGE_MS)
      playedMs += MESSAGE_MS
    },
    messages: () => sent
  }
}
const call = outbound()
const outboundUs = await stage('**outbound end to end**: paced 24 → 48 kHz frames, 48 → 8 kHz, μ-law, media message', '20 ms message', MESSAGES_PER_SECOND, 20_000, call.advance)
const expectedMessages = 2000 + 3 * 20_000
if (Math.abs(call.messages() - expectedMessages) > 2) throw new Error(`expected ${expectedMessages} media messages, got ${call.messages()}`)

function pacedOnly (): () => void {
  const clock = new FakeClock()
  const paced = new PacedAudioOutput({ onFrame: () => {}, clock })
  paced.start()
  let queuedMs = 0
  let playedMs = 0
  return () => {
    if (queuedMs - playedMs < 1000) { paced.write(tts, 24_000); queuedMs += tts.length / 24 }
    clock.advance(MESSAGE_MS)
    playedMs += MESSAGE_MS
  }
}
const pacedUs = await stage('… of which the paced output alone (24 → 48 kHz, two 10 ms frames; WebRTC does the same)', '20 ms', MESSAGES_PER_SECOND, 20_000, pacedOnly())
const down = new Resampler(48000, 8000)
await stage('… 48 → 8 kHz', '10 ms frame', 100, 50_000, () => down.process(frame48k))
const codec = g711SampleCodec('mulaw')
const pcm160 = caller.subarray(0, 160)
const encoded = new Uint8Array(160)
await stage('… μ-law encode, per-sample codec into a kept buffer', '160 samples', MESSAGES_PER_SECOND, 100_000, () => { for (let i = 0; i < 160; i++) encoded[i] = codec.encode(pcm160[i] as number) })
await stage('… the media message (base64 + JSON.stringify)', '20 ms message', MESSAGES_PER_SECOND, 50_000, () => adapter.media('MZ0000', encoded))

// ---- Silero VAD: 16 kHz (the pipeline) vs 8 kHz (native) ----
const session = await InferenceSession.create(defaultSileroModelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' })
const vadRows: string[] = []
const vadUs: Record<string, number> = {}
for (const rate of [16000, 8000] as const) {
  const window = rate === 16000 ? 512 : 256
  const context = rate === 16000 ? 64 : 32
  const audio = signal(rate, rate)
  for (const batch of [1, 16]) {
    const input = new Float32Array(batch * (context + window))
    for (let i = 0; i < input.length; i++) input[i] = (audio[i % audio.length] as number) / 32768
    let state: Float32Array = new Float32Array(2 * batch * 128)
    const sr = new Tensor('int64', BigInt64Array.from([BigInt(rate)]), [])
    const { cpuUs, rounds } = await measure(Math.max(200, Math.round(3000 / batch)), async () => {
      const result = await session.run({ input: new Tensor('float32', input, [batch, context + window]), state: new Tensor('float32', state, [2, batch, 128]), sr })
      state = result.stateN?.data as Float32Array
    })
    vadUs[`${rate}:${batch}`] = cpuUs / batch
    vadRows.push(`| ${rate / 1000} kHz, ${window} samples${rate === 16000 ? ' (what llmrtc runs)' : ' (native 8 kHz, not used)'} | ${batch} | ${fmt(cpuUs / batch)} | ${rounds.map(r => fmt(r / batch)).join(' / ')} | ${core(cpuUs / batch * WINDOWS_PER_SECOND)} |`)
  }
}
await session.release()

// ---- structural delay of each output, on a fake clock (no load, no timer lateness) ----
/** Writes a loud chunk `phaseMs` after a 10 ms slot and returns how long until the first loud audio leaves. */
function firstOutMs (kind: 'webrtc' | 'call', phaseMs: number): number {
  const clock = new FakeClock()
  const out = { at: NaN }
  const chunk = signal(24_000 * 0.4, 24_000)
  if (kind === 'webrtc') {
    const paced = new PacedAudioOutput({ onFrame: (samples) => { if (Number.isNaN(out.at) && samples.some(x => Math.abs(x) >= 1000)) out.at = clock.now() }, clock })
    paced.start()
    clock.advance(100 + phaseMs)
    const writtenAt = clock.now()
    paced.write(chunk, 24_000)
    for (let i = 0; i < 1000 && Number.isNaN(out.at); i++) clock.advance(1)
    paced.close()
    return out.at - writtenAt
  }
  const media = new CallMedia({
    adapter,
    streamId: 'MZ0000',
    law: 'mulaw',
    sampleRateHz: 8000,
    clock,
    send: (message) => {
      const payload = (JSON.parse(message) as { media?: { payload: string } }).media?.payload
      if (Number.isNaN(out.at) && payload !== undefined && decodeG711('mulaw', Buffer.from(payload, 'base64')).some(x => Math.abs(x) >= 1000)) out.at = clock.now()
    }
  })
  media.start()
  clock.advance(100 + phaseMs)
  const writtenAt = clock.now()
  media.write(chunk, 24_000)
  for (let i = 0; i < 1000 && Number.isNaN(out.at); i++) clock.advance(1)
  media.close()
  return out.at - writtenAt
}
const phases = Array.from({ length: 10 }, (_, i) => i)
const structural = (kind: 'webrtc' | 'call'): { mean: number, min: number, max: number } => {
  const values = phases.map(p => firstOutMs(kind, p))
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) }
}
const webrtcSlot = structural('webrtc')
const callSlot = structural('call')

// ---- report ----
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}; CPU time of this process, best of 3 rounds (the three rounds in brackets)\n`)
console.log('| stage | unit | µs per unit (CPU) | rounds | per call-second | % of one core per call |')
console.log('|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.stage} | ${r.perUnit} | ${fmt(r.usPerUnit, 2)} | ${r.rounds.map(x => fmt(x, 2)).join(' / ')} | ${fmt(r.usPerUnit * r.unitsPerSecond, 0)} µs | ${core(r.usPerUnit * r.unitsPerSecond)} |`)
}
console.log('\n| Silero VAD per 32 ms window | batch | µs per window (CPU) | rounds | % of one core per stream |')
console.log('|---|---|---|---|---|')
for (const row of vadRows) console.log(row)

const vad16 = vadUs['16000:16'] ?? NaN
const perCall = inboundUs * MESSAGES_PER_SECOND + outboundUs * MESSAGES_PER_SECOND + vad16 * WINDOWS_PER_SECOND
const callOnly = inboundUs * MESSAGES_PER_SECOND + (outboundUs - pacedUs) * MESSAGES_PER_SECOND
const webrtcSame = webrtcInboundUs * 100
console.log(`\nPer call, caller speaking and the answer playing at once (the worst second): inbound ${fmt(inboundUs * MESSAGES_PER_SECOND, 0)} µs + outbound ${fmt(outboundUs * MESSAGES_PER_SECOND, 0)} µs ` +
  `+ VAD (batches of 16) ${fmt(vad16 * WINDOWS_PER_SECOND, 0)} µs = ${fmt(perCall, 0)} µs per call-second, ${core(perCall)} of one core.`)
console.log(`What the call's media path costs beyond what a WebRTC session's audio conversion does: ${fmt(callOnly, 0)} µs per call-second (${core(callOnly)}), ` +
  `against ${fmt(webrtcSame, 0)} µs (${core(webrtcSame)}) for WebRTC's 48 → 16 kHz (WebRTC's Opus, SRTP and jitter buffer run in wrtc's native threads, not counted here).`)

console.log('\nStructural delay (fake clock: no load, timers on time; a write at each 1 ms phase of the 10 ms slot):\n')
console.log('| path | mean (ms) | min–max (ms) |')
console.log('|---|---|---|')
console.log(`| WebRTC: audio written → first loud 10 ms frame handed to the track | ${fmt(webrtcSlot.mean)} | ${fmt(webrtcSlot.min)}–${fmt(webrtcSlot.max)} |`)
console.log(`| call: audio written → first loud 20 ms media message sent | ${fmt(callSlot.mean)} | ${fmt(callSlot.min)}–${fmt(callSlot.max)} |`)
console.log(`| call: 48 → 8 kHz filter delay (outbound, in the audio) | ${fmt(new Resampler(48000, 8000).delayMs, 2)} | |`)
console.log(`| call: 8 → 16 kHz filter delay (inbound, before the VAD) | ${fmt(new Resampler(8000, 16000).delayMs, 2)} | |`)
console.log(`| WebRTC: 48 → 16 kHz filter delay (inbound, before the VAD) | ${fmt(new Resampler(48000, 16000).delayMs, 2)} | |`)
