/**
 * Turn-taking benchmark over real WebRTC on 127.0.0.1: false cut-offs on paused speech, dead air after
 * the end of speech, false barge-ins on coughs and backchannels, how fast the assistant goes quiet when
 * the user talks over it, and the answer audio lost on the way.
 *
 * Run: `npx tsx bench/turn-taking.ts [--baseline] [--delays stt=300,llm=400,tts=150] [--items N] [--json out.json]`
 * (42 items, about 7 minutes; prints markdown; `--only cough,backchannel` keeps some categories, `--repeat N` says
 * each item N times, as `id`, `id#2`, …; `--onset-threshold P` sets `interruption.onsetThreshold`). `--baseline` passes the options that reproduce the
 * behaviour before turn-taking (`interruption: { mode: 'confirm', minWords: 0 }, turnDetection: false,
 * preemptive: false`: a fixed 550 ms end-of-speech wait, cancel on 250 ms of confirmed speech); without
 * it the server gets no turn-taking options (its defaults).
 *
 * One in-process LLMRTCServer (library mode) with scripted providers (bench/turn-taking-providers.ts) and
 * one WebRTCTestClient, which speaks the corpus (bench/turn-taking-corpus.ts) in real time: each part
 * as it is sent is stamped from the microphone track's own frames, each server message and each received
 * audio frame (level, and which answer's tone it carries) as it arrives, all on performance.now().
 * bench/turn-taking-record.ts turns that into the figures.
 */
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { loadWrtc, type Wrtc, type WrtcAudioData, type WrtcAudioSource } from '../plugins/webrtc/wrtc.js'
import { LLMRTCServer } from '../server/llmrtc-server.js'
import { guard } from './guard.js'
import { summary } from './instant-providers.js'
import { SAMPLE_RATE_HZ, loadCorpus, type Category, type Item } from './turn-taking-corpus.js'
import { Script, scriptedProviders, toneOf, type Delays, type SentPart } from './turn-taking-providers.js'
import { CLIENT_SOUND_PEAK, measureItem, type ItemRun, type Message, type Recording, type VadEvent } from './turn-taking-record.js'
import { categoriesOf, duringTable, perItemTable, speculativeMetrics, sttMismatches, targets, turnTable } from './turn-taking-report.js'
import { WebRTCTestClient, isolateNetwork } from './webrtc-test-client.js'
import { synthesizeSpeech } from '../test/helpers/speech.js'

const isolated = isolateNetwork()
guard(10 * 60_000)

const { values: args } = parseArgs({
  options: { baseline: { type: 'boolean', default: false }, delays: { type: 'string' }, items: { type: 'string' }, only: { type: 'string' }, repeat: { type: 'string', default: '1' }, 'onset-threshold': { type: 'string' }, json: { type: 'string' } }
})
const delays: Delays = { sttMs: 0, llmMs: 0, ttsMs: 0 }
for (const pair of (args.delays ?? '').split(',').filter(p => p !== '')) {
  const [name, value] = pair.split('=')
  const ms = Number(value)
  if (!['stt', 'llm', 'tts'].includes(name ?? '') || !Number.isFinite(ms) || ms < 0) throw new TypeError(`--delays: expected stt=MS,llm=MS,tts=MS, instead got ${pair}`)
  delays[`${name as 'stt' | 'llm' | 'tts'}Ms`] = ms
}
const SILENCE_BETWEEN_ITEMS_MS = 2000
/** After the answer: the server counts as done after this long without a message or a loud frame. */
const QUIET_MS = 1000
const ANSWER_TIMEOUT_MS = 15_000

const WARM_UP_TEXT = 'Hello, can you hear me?'
const WARM_UP: Item = { id: 'warm-up', category: 'complete', parts: [{ text: WARM_UP_TEXT, pauseBeforeMs: 0, source: { say: WARM_UP_TEXT } }], answer: 'Yes, I can hear you.', audio: [await synthesizeSpeech(WARM_UP_TEXT, SAMPLE_RATE_HZ)] }
const only = args.only?.split(',') as Category[] | undefined
const repeat = Number(args.repeat)
if (!Number.isInteger(repeat) || repeat < 1) throw new TypeError(`--repeat: expected a positive integer, instead got ${args.repeat}`)
const corpus = await loadCorpus(args.items !== undefined ? Number(args.items) : undefined, only)
const items = Array.from({ length: repeat }, (_, r) => corpus.map(item => r === 0 ? item : { ...item, id: `${item.id}#${r + 1}` })).flat()
const script = new Script([...items, WARM_UP])
const rec: Recording = { messages: [], rx: [], vad: [], sttCalls: script.sttCalls, llmCalls: script.llmCalls, ttsCalls: script.ttsCalls, audioWrites: [] }

// The turn-taking options are being added: until the server knows them it ignores them.
const turnTaking: Record<string, unknown> = args.baseline ? { interruption: { mode: 'confirm', minWords: 0 }, turnDetection: false, preemptive: false } : {}
// `--onset-threshold 0.5`: speech over the answer starts (and pauses it) only at the VAD's activation threshold, as before 0.35 became the default.
if (args['onset-threshold'] !== undefined) turnTaking.interruption = { ...(turnTaking.interruption as object | undefined), onsetThreshold: Number(args['onset-threshold']) }
const serverErrors: string[] = []
const server = new LLMRTCServer({
  env: false,
  port: 0,
  host: '127.0.0.1',
  logger: false,
  providers: scriptedProviders(script, delays),
  hooks: { onTTSChunk: (_ctx, _chunk, index) => { if (index === 0) rec.audioWrites.push(performance.now()) } },
  ...(turnTaking as object)
})
server.on('error', (error) => { serverErrors.push(error.message) })
const app = server.getApp()
await app.ready()
// The VAD's own events (a cough the pipeline keeps from the client is still an onset here).
const createDetector = app.llmrtcVad.createDetector.bind(app.llmrtcVad)
app.llmrtcVad.createDetector = (options) => {
  let started = false
  return createDetector({
    ...options,
    onEvent: (event) => {
      const at = performance.now()
      if (event.type === 'speech-start') { started = true; rec.vad.push({ type: 'speech-start', at }) }
      if (event.type === 'speech-audio' && started) { started = false; rec.vad.push({ type: 'speech-confirmed', at }) }
      if (event.type === 'speech-end' || event.type === 'speech-cancelled' || event.type === 'speech-resume') rec.vad.push({ type: event.type as VadEvent['type'], at })
      options.onEvent(event)
    }
  })
}
const { port } = await server.start()
const metricsText = async (): Promise<string | undefined> => {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined)
  return response?.ok === true ? await response.text() : undefined
}
const metricsBefore = await metricsText()

// The microphone, tapped: each part's first and last non-silent sample as the track takes it.
let speaking: SentPart | undefined
const wrtc = loadWrtc()
const Source = wrtc.nonstandard.RTCAudioSource
const tapped: Wrtc = {
  ...wrtc,
  nonstandard: {
    ...wrtc.nonstandard,
    RTCAudioSource: class implements WrtcAudioSource {
      readonly #source = new Source()
      createTrack (): ReturnType<WrtcAudioSource['createTrack']> { return this.#source.createTrack() }
      onData (data: WrtcAudioData): void {
        const part = speaking
        if (part !== undefined) {
          const at = performance.now()
          const samples = data.samples
          let first = -1
          let last = -1
          for (let i = 0; i < samples.length; i++) {
            if (Math.abs(samples[i] as number) >= 300) { if (first < 0) first = i; last = i }
          }
          if (first >= 0) {
            if (Number.isNaN(part.startAt)) part.startAt = at + first / 48
            part.endAt = at + (last + 1) / 48
          }
        }
        this.#source.onData(data)
      }
    }
  }
}
const client = await WebRTCTestClient.connect(`ws://127.0.0.1:${port}/`, { timeoutMs: 15_000, wrtc: tapped })
await client.addMicrophone()
const heartbeat = setInterval(() => { client.send({ type: 'ping', timestamp: Date.now() }) }, 15_000)

let lastActivityAt = performance.now()
client.ws.on('message', (data) => {
  const message = JSON.parse(data.toString()) as { type: string, text?: string }
  if (message.type === 'pong' || message.type === 'ice') return
  const at = performance.now()
  rec.messages.push({ type: message.type, at, ...(typeof message.text === 'string' ? { text: message.text } : {}) })
  lastActivityAt = at
})
const push = client.audio.push.bind(client.audio)
client.audio.push = (data) => {
  push(data)
  if (data.sampleRate !== SAMPLE_RATE_HZ) return
  const at = performance.now()
  let peak = 0
  for (const sample of data.samples) peak = Math.max(peak, Math.abs(sample))
  rec.rx.push({ at, peak, tone: toneOf(data.samples, CLIENT_SOUND_PEAK) })
  if (peak >= CLIENT_SOUND_PEAK) lastActivityAt = at
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, Math.max(0, ms))) }
async function until (done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (!done()) {
    if (performance.now() > deadline) return false
    await sleep(10)
  }
  return true
}

async function say (item: Item, index: number): Promise<SentPart> {
  const audio = item.audio[index] ?? new Int16Array(0)
  const part: SentPart = { itemId: item.id, index, text: item.parts[index]?.text ?? '', startAt: NaN, endAt: NaN, durationMs: audio.length / (SAMPLE_RATE_HZ / 1000) }
  script.sent.push(part)
  speaking = part
  await client.speak(audio, SAMPLE_RATE_HZ)
  speaking = undefined
  return part
}

/** Waits for the answer after `after` to finish (`tts-complete`), or for the server to go quiet. */
async function settle (after: number): Promise<ItemRun['settled']> {
  const start = performance.now()
  const complete = (): boolean => rec.messages.some(m => m.type === 'tts-complete' && m.at > after)
  // The user's own speech counts as activity: the server may stay silent while it listens.
  const quiet = (ms: number) => () => performance.now() - Math.max(lastActivityAt, after) >= ms
  const completed = await until(() => complete() || quiet(4000)(), ANSWER_TIMEOUT_MS)
  const settled = await until(quiet(QUIET_MS), ANSWER_TIMEOUT_MS - (performance.now() - start) + 5000)
  return !completed || !settled ? 'timeout' : complete() ? 'tts-complete' : 'quiet'
}

async function runItem (item: Item): Promise<ItemRun> {
  script.item = item
  const { audio, ...spec } = item
  const run: ItemRun = { spec, startAt: performance.now(), endAt: NaN, parts: [], settled: 'timeout' }
  try {
    for (let i = 0; i < audio.length; i++) {
      const part = item.parts[i]
      if (item.segmentAfterMs !== undefined && i === 1) {
        const questionEnd = run.parts[0]?.endAt ?? NaN
        const heard = (): number | undefined => rec.rx.find(f => f.at > questionEnd && f.peak >= CLIENT_SOUND_PEAK)?.at
        if (!await until(() => heard() !== undefined, ANSWER_TIMEOUT_MS)) throw new Error('no answer to the question')
        run.answerOnsetAt = heard() as number
        await sleep(run.answerOnsetAt + item.segmentAfterMs - performance.now())
      } else if ((part?.pauseBeforeMs ?? 0) > 0) {
        // speak() settles one 10 ms frame after the last sample.
        await sleep((part?.pauseBeforeMs ?? 0) - 10)
      }
      run.parts.push(await say(item, i))
    }
    run.settled = await settle(run.parts.at(-1)?.endAt ?? performance.now())
  } catch (error) {
    run.error = (error as Error).message
    await until(() => performance.now() - lastActivityAt >= QUIET_MS, ANSWER_TIMEOUT_MS)
  }
  run.endAt = performance.now()
  return run
}

const startedAt = performance.now()
await sleep(500)
await runItem(WARM_UP)
await sleep(SILENCE_BETWEEN_ITEMS_MS)
const runs: ItemRun[] = []
for (const item of items) {
  runs.push(await runItem(item))
  process.stderr.write(`${item.id}: ${runs.at(-1)?.error ?? runs.at(-1)?.settled}\n`)
  await sleep(SILENCE_BETWEEN_ITEMS_MS)
}
const metricsAfter = await metricsText()
const measures = runs.map(run => measureItem(run, rec))
const mismatches = sttMismatches(items, measures, rec.sttCalls)
for (const m of mismatches) process.stderr.write(`STT rule mismatch: ${m}\n`)

const lagErrors = summary(rec.sttCalls.flatMap(c => c.lagErrorMs !== undefined ? [Math.abs(c.lagErrorMs)] : []))
const mode = (args.baseline ? '`--baseline` (interruption confirm/minWords 0, turnDetection false, preemptive false)' : 'server defaults (no turn-taking options passed)') +
  (args['onset-threshold'] !== undefined ? `, \`interruption.onsetThreshold\` ${args['onset-threshold']}` : '')
const out: string[] = [
  `Turn-taking, ${mode}; delays stt ${delays.sttMs} / llm ${delays.llmMs} / tts ${delays.ttsMs} ms. ` +
  `${runs.length} items (${categoriesOf(items)}) in ${((performance.now() - startedAt) / 1000).toFixed(0)} s. ` +
  `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${loadavg().map(x => x.toFixed(2)).join(' ')}, ` +
  `${isolated ? 'loopback-only network namespace' : 'host network, 127.0.0.1 candidates only'}.`,
  '', '### Ends of turns', '', ...turnTable(measures),
  '', '### Speech during the answer', '', ...duringTable(measures),
  '', '### Speculative work (`/metrics`)', '', ...speculativeMetrics(metricsBefore, metricsAfter),
  '', '### Against the targets', '', ...targets(measures, delays).map(line => `- ${line}`),
  '', `STT rule check (${rec.sttCalls.length} calls; anchor estimate − anchored part start p50 ${lagErrors.p50.toFixed(0)}, max ${lagErrors.max.toFixed(0)} ms): ` +
  `${mismatches.length === 0 ? 'every STT result as intended' : `${mismatches.length} mismatch(es):`}`, ...mismatches.map(m => `- ${m}`),
  ...(serverErrors.length > 0 ? ['', `Server errors (${serverErrors.length}): ${[...new Set(serverErrors)].join('; ')}`] : []),
  '', '### Per item', '', ...perItemTable(measures)
]
console.log(out.join('\n'))
if (args.json !== undefined) {
  await writeFile(args.json, JSON.stringify({ mode: args.baseline ? 'baseline' : 'default', delays, isolated, items: measures, runs, stt: rec.sttCalls, llm: rec.llmCalls, tts: rec.ttsCalls, vad: rec.vad, messages: rec.messages satisfies Message[] }, (_k, v: unknown) => v === Infinity ? 'Infinity' : v, 2))
}

clearInterval(heartbeat)
await client.close()
await server.stop({ drainTimeoutMs: 0 })
process.exit(0)
