/**
 * Server-added latency of a voice turn, with providers that answer at once (bench/instant-providers.ts),
 * over real WebRTC on 127.0.0.1. Run: `npx tsx bench/latency.ts [turns]` (default 40; prints markdown).
 *
 * One in-process LLMRTCServer (library mode) and one WebRTCTestClient. The client speaks an espeak-ng
 * phrase followed by silence, in real time, waits for `tts-complete` and the turn's `metrics`, and goes
 * again. Per turn it records, on one clock (performance.now(), both ends live in this process):
 * - server `metrics.timings.firstAudioOutMs`: the VAD's end-of-speech decision → first audio handed to
 *   the paced output (Date.now() based: whole milliseconds);
 * - the same interval at µs resolution, from the onSpeechEnd and first onTTSChunk hooks (both run
 *   synchronously where the server takes the decision and writes the audio);
 * - client: `speech-end` message arrival → first non-silent frame at the client's RTCAudioSink (adds the
 *   output's 10 ms frame slot, Opus encode/decode and the client's jitter buffer);
 * - uplink: the client's first phrase frame → first non-silent frame at the server's sink;
 * - end of the phrase as sent by the client → `speech-end` arrival, and → first sound (what a user waits).
 *
 * Runs inside a loopback-only network namespace when it can (see test/helpers/webrtc-client.ts).
 */
import { cpus, loadavg } from 'node:os'
import { DEFAULT_SEGMENTER_OPTIONS } from '../lib/vad/segmenter-options.js'
import type { AudioFrame } from '../lib/audio/audio-frame.js'
import { LLMRTCServer } from '../server/llmrtc-server.js'
import { concat, silence, synthesizeSpeech } from '../test/helpers/speech.js'
import { WebRTCTestClient, isolateNetwork } from './webrtc-test-client.js'
import { guard } from './guard.js'
import { instantProviders, summary } from './instant-providers.js'

const isolated = isolateNetwork()
guard(20 * 60_000)
const TURNS = Number(process.argv[2] ?? 40)
const WARMUP_TURNS = 2
const TRAILING_SILENCE_MS = 1100
const CLIENT_SOUND_PEAK = 1000
const SERVER_SOUND_PEAK = 300
const PHRASES = [
  'Hello there, what time is it right now?',
  'Can you tell me the weather for tomorrow?',
  'Please remind me to call my sister.',
  'How far is the moon from the earth?'
]

interface TurnRecord {
  firstAudioOutMs: number
  serverHiResMs: number
  sendSpeechEndMs: number
  speechEndToSoundMs: number
  phraseEndToSpeechEndMs: number
  phraseEndToSoundMs: number
  uplinkMs: number
  serverToClientMessageMs: number
  serverWriteToSoundMs: number
}

// Server-side probes, on the same clock as the client.
let serverDecisionAt: number | undefined
let serverSpeechEndAt: number | undefined
let serverFirstWriteAt: number | undefined
let serverFirstSoundAt: number | undefined
let listeningForUplink = false
/** When each stage of the turn began (first call of each hook). */
let stages: { sttStart?: number, sttEnd?: number, llmStart?: number, llmChunk?: number, ttsStart?: number } = {}
const STAGES = [
  ['decision → onSTTStart (speech-end sent, utterance WAV-encoded, turn queued and started)', 'decision', 'sttStart'],
  ['onSTTStart → onSTTEnd (the instant STT)', 'sttStart', 'sttEnd'],
  ['onSTTEnd → onLLMStart (transcript sent, history, request built)', 'sttEnd', 'llmStart'],
  ['onLLMStart → first onLLMChunk', 'llmStart', 'llmChunk'],
  ['first onLLMChunk → onTTSStart (sentence chunking, end of the LLM stream)', 'llmChunk', 'ttsStart'],
  ['onTTSStart → first audio written (TTS, 24 k → 48 k, queueing)', 'ttsStart', 'write']
] as const
const stageDurations: number[][] = STAGES.map(() => [])

const server = new LLMRTCServer({
  env: false,
  port: 0,
  host: '127.0.0.1',
  logger: false,
  providers: instantProviders(),
  hooks: {
    onSpeechEnd: () => { serverSpeechEndAt = performance.now() },
    onSTTStart: () => { stages.sttStart ??= performance.now() },
    onSTTEnd: () => { stages.sttEnd ??= performance.now() },
    onLLMStart: () => { stages.llmStart ??= performance.now() },
    onLLMChunk: () => { stages.llmChunk ??= performance.now() },
    onTTSStart: () => { stages.ttsStart ??= performance.now() },
    onTTSChunk: (_ctx, _chunk, index) => { if (index === 0) serverFirstWriteAt ??= performance.now() }
  }
})
const app = server.getApp()
await app.ready()
// The VAD's decision itself: wrap each detector's onEvent (the pipeline's listener runs right after).
const createDetector = app.llmrtcVad.createDetector.bind(app.llmrtcVad)
app.llmrtcVad.createDetector = (options) => createDetector({
  ...options,
  onEvent: (event) => {
    if (event.type === 'speech-end') serverDecisionAt = performance.now()
    options.onEvent(event)
  }
})
app.llmrtcTransport.on('media', (_sessionId, media) => {
  media.onAudio((frame: AudioFrame) => {
    if (!listeningForUplink) return
    let peak = 0
    for (const sample of frame.samples) peak = Math.max(peak, Math.abs(sample))
    if (peak >= SERVER_SOUND_PEAK) {
      serverFirstSoundAt = performance.now()
      listeningForUplink = false
    }
  })
})
const { port } = await server.start()

const phrases = await Promise.all(PHRASES.map(async p => await synthesizeSpeech(p, 48_000)))
const client = await WebRTCTestClient.connect(`ws://127.0.0.1:${port}/`, { timeoutMs: 15_000 })
await client.addMicrophone()
// Like the published client: a `ping` every 15 s (without one the server closes the connection after 45 s).
const heartbeat = setInterval(() => { client.send({ type: 'ping', timestamp: Date.now() }) }, 15_000)

// Server: what sending one message costs (session.send: the WebSocket, and the data channel mirror).
const session = app.llmrtcSessions.get(client.sessionId)
if (session === undefined) throw new Error('no server session')
const sessionSend = session.send.bind(session)
let sendTimes: number[] = []
session.send = (message) => {
  const start = performance.now()
  sessionSend(message)
  sendTimes.push(performance.now() - start)
}
const sendCosts: number[] = []
const sendsPerTurn: number[] = []
const sendTotals: number[] = []

// Client-side probes: `speech-end` arrival and the first loud frame after it.
let speechEndAt: number | undefined
let firstSoundAt: number | undefined
client.ws.on('message', (data) => {
  if (speechEndAt === undefined && (JSON.parse(data.toString()) as { type: string }).type === 'speech-end') speechEndAt = performance.now()
})
const push = client.audio.push.bind(client.audio)
client.audio.push = (data) => {
  push(data)
  if (speechEndAt !== undefined && firstSoundAt === undefined && data.sampleRate === 48_000) {
    let peak = 0
    for (const sample of data.samples) peak = Math.max(peak, Math.abs(sample))
    if (peak >= CLIENT_SOUND_PEAK) firstSoundAt = performance.now()
  }
}

const records: TurnRecord[] = []
const failures: string[] = []
await new Promise(resolve => setTimeout(resolve, 500))
for (let turn = 0; turn < TURNS + WARMUP_TURNS; turn++) {
  const phrase = phrases[turn % phrases.length] as Int16Array
  const phraseMs = phrase.length / 48
  stages = {}
  sendTimes = []
  speechEndAt = firstSoundAt = serverDecisionAt = serverSpeechEndAt = serverFirstWriteAt = serverFirstSoundAt = undefined
  const from = client.wsMessages.length
  listeningForUplink = true
  const sentAt = performance.now()
  // The microphone's next 10 ms slot carries the first sample: on average 5 ms after the write.
  const phraseEndAt = sentAt + 5 + phraseMs
  const speaking = client.speak(concat(phrase, silence(TRAILING_SILENCE_MS, 48_000)), 48_000)
  try {
    await client.waitFor('tts-complete', { from, timeoutMs: 15_000 })
    const metrics = await client.waitFor('metrics', { from, timeoutMs: 5_000 })
    await speaking
    await new Promise(resolve => setTimeout(resolve, 100)) // let the tail of the answer reach the sink
    const firstAudioOutMs = metrics.timings.firstAudioOutMs
    if (firstAudioOutMs === undefined || serverDecisionAt === undefined || speechEndAt === undefined || firstSoundAt === undefined || serverSpeechEndAt === undefined ||
      serverFirstWriteAt === undefined || serverFirstSoundAt === undefined) {
      failures.push(`turn ${turn}: missing a measurement`)
      continue
    }
    if (turn < WARMUP_TURNS) continue
    const at = { ...stages, decision: serverDecisionAt, write: serverFirstWriteAt }
    STAGES.forEach(([, from, to], i) => {
      const a = at[from]
      const b = at[to]
      if (a !== undefined && b !== undefined) stageDurations[i]?.push(b - a)
    })
    sendCosts.push(...sendTimes)
    sendsPerTurn.push(sendTimes.length)
    sendTotals.push(sendTimes.reduce((a, b) => a + b, 0))
    records.push({
      firstAudioOutMs,
      serverHiResMs: serverFirstWriteAt - serverDecisionAt,
      sendSpeechEndMs: serverSpeechEndAt - serverDecisionAt,
      speechEndToSoundMs: firstSoundAt - speechEndAt,
      phraseEndToSpeechEndMs: speechEndAt - phraseEndAt,
      phraseEndToSoundMs: firstSoundAt - phraseEndAt,
      uplinkMs: serverFirstSoundAt - (sentAt + 5),
      serverToClientMessageMs: speechEndAt - serverDecisionAt,
      serverWriteToSoundMs: firstSoundAt - serverFirstWriteAt
    })
  } catch (error) {
    failures.push(`turn ${turn}: ${(error as Error).message}`)
    await speaking.catch(() => {})
  }
}

const fmt = (n: number): string => Number.isNaN(n) ? '–' : n.toFixed(1)
const row = (label: string, values: number[]): string => {
  const s = summary(values)
  return `| ${label} | ${s.n} | ${fmt(s.min)} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.max)} |`
}
const column = (key: keyof TurnRecord): number[] => records.map(r => r[key])
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${loadavg().map(x => x.toFixed(2)).join(' ')}, ` +
  `${isolated ? 'loopback-only network namespace' : 'host network, 127.0.0.1 candidates only'}; ${records.length} turns measured (+${WARMUP_TURNS} warm-up), ` +
  `endOfSpeechSilenceMs ${DEFAULT_SEGMENTER_OPTIONS.endOfSpeechSilenceMs} (default)\n`)
console.log('| interval (ms) | turns | min | p50 | p95 | max |')
console.log('|---|---|---|---|---|---|')
console.log(row('server `firstAudioOutMs` (metrics; VAD end-of-speech decision → first audio handed to the paced output; whole ms)', column('firstAudioOutMs')))
console.log(row('same interval at µs resolution (detector event → first onTTSChunk hook)', column('serverHiResMs')))
console.log(row('… of which sending `speech-end` (WebSocket + data channel) and the hook call', column('sendSpeechEndMs')))
console.log(row('client: `speech-end` arrival → first non-silent frame at its sink', column('speechEndToSoundMs')))
console.log(row('… of which server: decision → `speech-end` at the client (WebSocket)', column('serverToClientMessageMs')))
console.log(row('… of which downlink: first audio handed to the output → non-silent frame at the client\'s sink', column('serverWriteToSoundMs')))
console.log(row('uplink: client mic frame → non-silent frame at the server\'s sink', column('uplinkMs')))
console.log(row('end of phrase sent → `speech-end` at the client (endpointing + VAD windows + uplink)', column('phraseEndToSpeechEndMs')))
console.log(row('end of phrase sent → first sound at the client (what the user waits)', column('phraseEndToSoundMs')))
console.log('\nWhere the server\'s own time goes (same turns, hook timestamps):\n')
console.log('| stage (ms) | turns | min | p50 | p95 | max |')
console.log('|---|---|---|---|---|---|')
STAGES.forEach(([label], i) => { console.log(row(label, stageDurations[i] ?? [])) })
console.log('\nSending messages (server `session.send`: JSON, WebSocket, and the data-channel mirror of payload events):\n')
console.log('| per turn (ms) | turns | min | p50 | p95 | max |')
console.log('|---|---|---|---|---|---|')
console.log(row('one `session.send` call', sendCosts).replace(`| ${sendCosts.length} |`, `| ${sendsPerTurn.length} (${sendCosts.length} calls) |`))
console.log(row('all sends of a turn', sendTotals))
console.log(row('messages per turn', sendsPerTurn))

// The same wrtc data channel API from the client's side, against ws.send, for comparison.
const channel = client.channel
if (channel?.readyState === 'open') {
  const text = JSON.stringify({ type: 'ping', timestamp: 0 })
  const perCall = (fn: () => void): number => {
    const start = performance.now()
    for (let i = 0; i < 200; i++) fn()
    return (performance.now() - start) / 200 * 1000
  }
  const channelUs: number[] = []
  const wsUs: number[] = []
  for (let round = 0; round < 5; round++) {
    channelUs.push(perCall(() => { channel.send(text) }))
    wsUs.push(perCall(() => { client.ws.send(text) }))
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  console.log(`\nOne send from the client, µs per call (5 rounds of 200): wrtc RTCDataChannel.send ${channelUs.map(x => x.toFixed(0)).join(', ')}; ws WebSocket.send ${wsUs.map(x => x.toFixed(0)).join(', ')}`)
}
if (failures.length > 0) console.log(`\nFailures (${failures.length}):\n${failures.map(f => `- ${f}`).join('\n')}`)

clearInterval(heartbeat)
await client.close()
await server.stop()
process.exit(failures.length > 0 && records.length === 0 ? 1 : 0)
