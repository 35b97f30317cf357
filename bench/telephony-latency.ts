/**
 * Latency a phone call adds against WebRTC, with providers that answer at once (bench/instant-providers.ts).
 * Run: `npx tsx bench/telephony-latency.ts [turns]` (default 20 per transport; prints markdown).
 *
 * One in-process LLMRTCServer (library mode) answering both a WebRTCTestClient (as bench/latency.ts) and
 * a simulated Twilio call (bench/telephony-call.ts: signed webhook, Media Streams WebSocket, 20 ms μ-law
 * messages in real time, marks echoed). The same espeak-ng phrases, followed by silence, are spoken on
 * each in turn (48 kHz on the microphone, 8 kHz μ-law on the call); the call streams silence between its
 * turns, as a carrier does. All times on one clock (performance.now(): both ends live in this process).
 *
 * Server side, per turn and transport (the honest comparison: what the server itself adds):
 * - the VAD's end-of-speech decision → the first audio written to the session's output (onTTSChunk);
 * - that write → the first non-silent audio handed to the transport: wrtc's RTCAudioSource.onData for
 *   WebRTC (a 10 ms frame), the media WebSocket's send for the call (a 20 ms μ-law message).
 * Client side:
 * - WebRTC: the first non-silent frame at the client's RTCAudioSink, after Opus, SRTP and the client's
 *   jitter buffer; the call: the first non-silent `media` message at the carrier's socket (before the
 *   carrier's own network, jitter buffer and the phone network, which this bench cannot see);
 * - end of the phrase → that first sound (endpointing included), and the uplink.
 */
import { cpus, loadavg } from 'node:os'
import WebSocket from 'ws'
import type { AudioFrame } from '../lib/audio/audio-frame.js'
import { encodeG711 } from '../lib/telephony/g711.js'
import { StreamedMedia } from '../lib/transport/streamed-media.js'
import { DEFAULT_SEGMENTER_OPTIONS } from '../lib/vad/segmenter-options.js'
import { loadWrtc } from '../plugins/webrtc/wrtc.js'
import { LLMRTCServer } from '../server/llmrtc-server.js'
import { concat, silence, synthesizeSpeech } from '../test/helpers/speech.js'
import { guard } from './guard.js'
import { instantProviders, summary } from './instant-providers.js'
import { MESSAGE_BYTES, TwilioCall, mulawPeak, telephonyOptions } from './telephony-call.js'
import { WebRTCTestClient, isolateNetwork } from './webrtc-test-client.js'

const isolated = isolateNetwork()
guard(20 * 60_000)
const TURNS = Number(process.argv[2] ?? 20)
const WARMUP_TURNS = 2
const TRAILING_SILENCE_MS = 1100
const SOUND_PEAK = 1000
const INBOUND_PEAK = 300
const PHRASES = [
  'Hello there, what time is it right now?',
  'Can you tell me the weather for tomorrow?',
  'Please remind me to call my sister.',
  'How far is the moon from the earth?'
]
type Transport = 'webrtc' | 'call'

// ---- server-side probes (one turn at a time, on one transport) ----
let probing: Transport | undefined
let decisionAt: number | undefined
let firstWriteAt: number | undefined
let firstOutAt: number | undefined
let firstInboundAt: number | undefined
let listeningForUplink = false

function loud (samples: ArrayLike<number>, count: number, threshold: number): boolean {
  for (let i = 0; i < count; i++) if (Math.abs(samples[i] as number) >= threshold) return true
  return false
}

// WebRTC out: each 10 ms frame handed to wrtc (a subclass, as bench/concurrency-server.ts does; the
// client's microphone goes through it too, but it sends silence while the answer is measured).
type AudioSourceClass = new () => { onData (data: { samples: Int16Array }): void }
const wrtc = loadWrtc() as unknown as { nonstandard: { RTCAudioSource: AudioSourceClass } }
const NativeAudioSource = wrtc.nonstandard.RTCAudioSource
wrtc.nonstandard.RTCAudioSource = class extends NativeAudioSource {
  override onData (data: { samples: Int16Array }): void {
    if (probing === 'webrtc' && firstWriteAt !== undefined && firstOutAt === undefined && loud(data.samples, data.samples.length, SOUND_PEAK)) firstOutAt = performance.now()
    super.onData(data)
  }
}
// Call out: each text message the server's WebSocket sends (the call's media socket).
const wsSend = WebSocket.prototype.send as (this: WebSocket, data: unknown, ...rest: unknown[]) => void
WebSocket.prototype.send = function (this: WebSocket & { _isServer?: boolean }, data: unknown, ...rest: unknown[]) {
  if (probing === 'call' && this._isServer === true && firstWriteAt !== undefined && firstOutAt === undefined && typeof data === 'string' && data.startsWith('{"event":"media"')) {
    const at = performance.now()
    const payload = (JSON.parse(data) as { media: { payload: string } }).media.payload
    if (mulawPeak(Buffer.from(payload, 'base64')) >= SOUND_PEAK) firstOutAt = at
  }
  wsSend.call(this, data, ...rest)
} as typeof WebSocket.prototype.send
// Call in: the caller's decoded audio (CallMedia.receiveAudio → StreamedMedia.receivePcm).
const receivePcm = StreamedMedia.prototype.receivePcm
StreamedMedia.prototype.receivePcm = function (this: StreamedMedia, pcm: Int16Array, count = pcm.length) {
  if (probing === 'call' && listeningForUplink && loud(pcm, count, INBOUND_PEAK)) {
    firstInboundAt = performance.now()
    listeningForUplink = false
  }
  receivePcm.call(this, pcm, count)
}

const server = new LLMRTCServer({
  env: false,
  port: 0,
  host: '127.0.0.1',
  logger: false,
  providers: instantProviders(),
  telephony: telephonyOptions,
  hooks: {
    onTTSChunk: (_ctx, _chunk, index) => { if (index === 0) firstWriteAt ??= performance.now() }
  }
})
const app = server.getApp()
await app.ready()
const createDetector = app.llmrtcVad.createDetector.bind(app.llmrtcVad)
app.llmrtcVad.createDetector = (options) => createDetector({
  ...options,
  onEvent: (event) => {
    if (event.type === 'speech-end') decisionAt ??= performance.now()
    options.onEvent(event)
  }
})
app.llmrtcTransport.on('media', (_sessionId, media) => {
  media.onAudio((frame: AudioFrame) => {
    if (probing === 'webrtc' && listeningForUplink && loud(frame.samples, frame.samples.length, INBOUND_PEAK)) {
      firstInboundAt = performance.now()
      listeningForUplink = false
    }
  })
})
const { port } = await server.start()
const base = `127.0.0.1:${port}`

// ---- clients ----
const phrases48 = await Promise.all(PHRASES.map(async p => await synthesizeSpeech(p, 48_000)))
const phrases8 = await Promise.all(PHRASES.map(async p => await synthesizeSpeech(p, 8000)))
const firstLoud = (pcm: Int16Array): number => { const i = pcm.findIndex(s => Math.abs(s) >= INBOUND_PEAK); return i < 0 ? 0 : i }

const client = await WebRTCTestClient.connect(`ws://${base}/`, { timeoutMs: 15_000 })
await client.addMicrophone()
const heartbeat = setInterval(() => { client.send({ type: 'ping', timestamp: Date.now() }) }, 15_000)
let clientSoundAt: number | undefined
const push = client.audio.push.bind(client.audio)
client.audio.push = (data) => {
  push(data)
  if (probing === 'webrtc' && firstOutAt !== undefined && clientSoundAt === undefined && data.sampleRate === 48_000 && loud(data.samples, data.samples.length, SOUND_PEAK)) clientSoundAt = performance.now()
}

const call = await TwilioCall.dial(base, 'CABENCH1')
call.onMedia = (payload, at) => {
  if (probing === 'call' && clientSoundAt === undefined && mulawPeak(payload) >= SOUND_PEAK) clientSoundAt = at
}
// The carrier streams 20 ms messages in real time, silence when the caller says nothing; each message
// leaves once its 20 ms were captured. `queue` holds the caller's next μ-law; `sentAt` when each left.
const SILENT_MESSAGE = encodeG711('mulaw', new Int16Array(MESSAGE_BYTES))
let callQueue: Uint8Array = new Uint8Array(0)
let callQueueSentAt: number[] = []
const callStarted = performance.now()
let callMessages = 0
let callLateMessages = 0
let stopCall = false
void (async () => {
  // eslint-disable-next-line no-unmodified-loop-condition -- cleared when the run ends
  while (!stopCall) {
    const due = callStarted + ++callMessages * 20
    const wait = due - performance.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    if (performance.now() - due > 10) callLateMessages++
    if (callQueue.length > 0) {
      callQueueSentAt.push(performance.now())
      call.sendAudio(callQueue.subarray(0, MESSAGE_BYTES))
      callQueue = callQueue.subarray(MESSAGE_BYTES)
    } else {
      call.sendAudio(SILENT_MESSAGE)
    }
  }
})()

/** Speaks `pcm8` on the call; resolves with when its phrase ended and its first loud sample left. */
async function speakOnCall (phrase: Int16Array): Promise<{ phraseEndAt: number, firstLoudSentAt: number }> {
  const padded = concat(phrase, silence(TRAILING_SILENCE_MS, 8000))
  const messages = Math.ceil(padded.length / MESSAGE_BYTES)
  const bytes = new Uint8Array(messages * MESSAGE_BYTES).fill(SILENT_MESSAGE[0] as number)
  bytes.set(encodeG711('mulaw', padded))
  callQueueSentAt = []
  callQueue = bytes
  while (callQueue.length > 0) await new Promise(resolve => setTimeout(resolve, 20))
  const last = Math.floor((phrase.length - 1) / MESSAGE_BYTES)
  // The message carrying the phrase's last sample left once its 20 ms were captured: the phrase ended before.
  const phraseEndAt = (callQueueSentAt[last] as number) - (MESSAGE_BYTES * (last + 1) - phrase.length) / 8
  const firstLoudSentAt = callQueueSentAt[Math.floor(firstLoud(phrase) / MESSAGE_BYTES)] as number
  return { phraseEndAt, firstLoudSentAt }
}

interface TurnRecord {
  decisionToWrite: number
  writeToOut: number
  decisionToOut: number
  outToClient: number
  phraseEndToDecision: number
  phraseEndToClient: number
  uplink: number
}
const records: Record<Transport, TurnRecord[]> = { webrtc: [], call: [] }
const failures: string[] = []

async function until (check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function turn (transport: Transport, index: number, measured: boolean): Promise<void> {
  decisionAt = firstWriteAt = firstOutAt = firstInboundAt = clientSoundAt = undefined
  probing = transport
  listeningForUplink = true
  try {
    let phraseEndAt: number
    let firstLoudSentAt: number
    if (transport === 'webrtc') {
      const phrase = phrases48[index % phrases48.length] as Int16Array
      const from = client.wsMessages.length
      const sentAt = performance.now()
      // The microphone's next 10 ms slot carries the first sample: on average 5 ms after the write.
      phraseEndAt = sentAt + 5 + phrase.length / 48
      firstLoudSentAt = sentAt + 5 + firstLoud(phrase) / 48
      const speaking = client.speak(concat(phrase, silence(TRAILING_SILENCE_MS, 48_000)), 48_000)
      await client.waitFor('tts-complete', { from, timeoutMs: 15_000 })
      await speaking
    } else {
      ({ phraseEndAt, firstLoudSentAt } = await speakOnCall(phrases8[index % phrases8.length] as Int16Array))
    }
    await until(() => clientSoundAt !== undefined, 5000)
    await new Promise(resolve => setTimeout(resolve, 500)) // the rest of the answer plays out
    if (decisionAt === undefined || firstWriteAt === undefined || firstOutAt === undefined || firstInboundAt === undefined || clientSoundAt === undefined) {
      throw new Error('missing a measurement')
    }
    if (!measured) return
    records[transport].push({
      decisionToWrite: firstWriteAt - decisionAt,
      writeToOut: firstOutAt - firstWriteAt,
      decisionToOut: firstOutAt - decisionAt,
      outToClient: clientSoundAt - firstOutAt,
      phraseEndToDecision: decisionAt - phraseEndAt,
      phraseEndToClient: clientSoundAt - phraseEndAt,
      uplink: firstInboundAt - firstLoudSentAt
    })
  } catch (error) {
    failures.push(`${transport} turn ${index}: ${(error as Error).message}`)
  } finally {
    probing = undefined
  }
}

await new Promise(resolve => setTimeout(resolve, 500))
for (let i = 0; i < TURNS + WARMUP_TURNS; i++) {
  await turn('webrtc', i, i >= WARMUP_TURNS)
  await turn('call', i, i >= WARMUP_TURNS)
}

// ---- report ----
const fmt = (n: number): string => Number.isNaN(n) ? '–' : n.toFixed(1)
const cell = (values: number[]): string => { const s = summary(values); return `${fmt(s.p50)} (${fmt(s.min)}–${fmt(s.max)})` }
const column = (transport: Transport, key: keyof TurnRecord): number[] => records[transport].map(r => r[key])
const median = (values: number[]): number => summary(values).p50
const ROWS: Array<[string, keyof TurnRecord]> = [
  ['server: VAD decision → first audio written to the output (pipeline, same code)', 'decisionToWrite'],
  ['server: first write → first non-silent audio handed to the transport', 'writeToOut'],
  ['**server: VAD decision → first audio out**', 'decisionToOut'],
  ['first audio out → first sound at the client (WebRTC: Opus, SRTP, jitter buffer, sink; call: loopback WebSocket)', 'outToClient'],
  ['uplink: first loud sample sent → first loud inbound frame at the server', 'uplink'],
  ['end of phrase → VAD decision (endpointing + uplink)', 'phraseEndToDecision'],
  ['end of phrase → first sound at the client', 'phraseEndToClient']
]
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${loadavg().map(x => x.toFixed(2)).join(' ')}, ` +
  `${isolated ? 'loopback-only network namespace' : 'host network'}; ${records.webrtc.length} WebRTC and ${records.call.length} call turns measured (+${WARMUP_TURNS} warm-up each), ` +
  `endOfSpeechSilenceMs ${DEFAULT_SEGMENTER_OPTIONS.endOfSpeechSilenceMs}; call messages sent > 10 ms late by this client: ${callLateMessages} of ${callMessages}\n`)
console.log('| interval (ms): median (min–max) | WebRTC | phone call (Twilio, μ-law) | call − WebRTC (medians) |')
console.log('|---|---|---|---|')
for (const [label, key] of ROWS) {
  const w = column('webrtc', key)
  const c = column('call', key)
  console.log(`| ${label} | ${cell(w)} | ${cell(c)} | ${fmt(median(c) - median(w))} |`)
}
if (failures.length > 0) console.log(`\nFailures (${failures.length}):\n${failures.map(f => `- ${f}`).join('\n')}`)

stopCall = true
clearInterval(heartbeat)
await call.hangUp().catch(() => {})
await client.close()
await server.stop()
process.exit(failures.length > 0 && records.call.length === 0 ? 1 : 0)
