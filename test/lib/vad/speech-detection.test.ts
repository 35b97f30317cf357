import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { BATCH_WAIT_MS, SileroVad, SILERO_WINDOW_SAMPLES, defaultSileroModelPath } from '../../../lib/vad/silero-vad.js'
import { SpeechDetector, type SpeechDetectorOptions } from '../../../lib/vad/speech-detector.js'
import type { SpeechEvent } from '../../../lib/vad/speech-events.js'
import { concat, frames10ms, mix, noise, silence, synthesizeSpeech } from '../../helpers/speech.js'

const PHRASE = 'Hello there, could you tell me what the weather is like today?'
const MODEL_SHA256 = '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f'

const vad = await SileroVad.acquire()
t.teardown(() => vad.close())

/** Speech probabilities of consecutive windows of a 16 kHz stream, with a fresh state. */
async function probabilities (samples: Int16Array): Promise<number[]> {
  const state = vad.createState()
  const out: number[] = []
  for (let i = 0; i + SILERO_WINDOW_SAMPLES <= samples.length; i += SILERO_WINDOW_SAMPLES) {
    out.push(await vad.detect(state, samples.subarray(i, i + SILERO_WINDOW_SAMPLES)))
  }
  return out
}

/** Pushes `samples` as 10 ms frames, then flushes; returns every event and error. */
async function detect (samples: Int16Array, rateHz: number, channels = 1, options: Partial<SpeechDetectorOptions> = {}): Promise<{ events: SpeechEvent[], errors: Error[], detector: SpeechDetector }> {
  const events: SpeechEvent[] = []
  const errors: Error[] = []
  const detector = new SpeechDetector(vad, { onEvent: e => events.push(e), onError: e => errors.push(e), ...options })
  for (const frame of frames10ms(samples, rateHz, channels)) detector.push(frame)
  await detector.flush()
  return { events, errors, detector }
}

const types = (events: SpeechEvent[]): string[] => events.filter(e => e.type !== 'speech-audio' && e.type !== 'speech-pause' && e.type !== 'speech-resume').map(e => e.type)

t.test('the bundled model is Silero VAD v5 with the documented checksum, found from the package root', async t => {
  const path = defaultSileroModelPath()
  t.equal(path, fileURLToPath(new URL('../../../models/silero_vad_v5.onnx', import.meta.url)))
  t.equal(createHash('sha256').update(await readFile(path)).digest('hex'), MODEL_SHA256)
  t.equal(vad.modelPath, path)
})

t.test('Silero scores real speech high and silence and low noise low', async t => {
  const speech = await synthesizeSpeech(PHRASE, 16000)
  const p = await probabilities(speech)
  const mean = p.reduce((a, b) => a + b, 0) / p.length
  t.ok(mean > 0.7, `mean probability on speech is high (${mean.toFixed(2)})`)
  const quiet = await probabilities(concat(silence(1000), noise(2000, 16000, 300)))
  t.ok(Math.max(...quiet) < 0.2, `max probability on silence and noise is low (${Math.max(...quiet).toFixed(2)})`)
})

t.test('windows of several streams are batched into one run and score as they do alone', async t => {
  const speech = await synthesizeSpeech(PHRASE, 16000)
  const streams = [speech, noise(3000, 16000, 300, 5), speech.subarray(8000)]
  const alone = await Promise.all(streams.map(async s => await probabilities(s)))
  // Submitted in the same turn, the streams' windows run as one batch per step.
  const states = streams.map(() => vad.createState())
  const batched: number[][] = streams.map(() => [])
  const before = vad.stats
  for (let w = 0; w < 60; w++) {
    const step = streams.map(async (s, i) => await vad.detect(states[i]!, s.subarray(w * 512, w * 512 + 512)))
    for (const [i, p] of (await Promise.all(step)).entries()) batched[i]!.push(p)
  }
  const after = vad.stats
  t.equal(after.windows - before.windows, 180)
  t.equal(after.runs - before.runs, 60, 'one inference run per step for the three streams')
  const many = Array.from({ length: 40 }, () => vad.createState())
  const beforeMany = vad.stats
  await Promise.all(many.map(async s => await vad.detect(s, speech.subarray(0, 512))))
  t.equal(vad.stats.runs - beforeMany.runs, 2, 'a batch holds at most 32 windows, so 40 streams take two runs')
  for (const [i, series] of batched.entries()) {
    const diff = Math.max(...series.map((p, w) => Math.abs(p - (alone[i]![w] as number))))
    t.ok(diff < 1e-4, `stream ${i} matches (max difference ${diff.toExponential(1)})`)
  }
})

t.test('live streams whose windows complete at different moments still share a run', async t => {
  const speech = await synthesizeSpeech(PHRASE, 16000)
  const states = [vad.createState(), vad.createState()]
  // Both streams become live (each submitted a window recently).
  await Promise.all(states.map(async s => await vad.detect(s, speech.subarray(0, 512))))
  const before = vad.stats
  // The second stream's window comes a turn of the event loop later, as another sink's frame would.
  const first = vad.detect(states[0]!, speech.subarray(512, 1024))
  const second = new Promise<number>((resolve, reject) => { setImmediate(() => { vad.detect(states[1]!, speech.subarray(512, 1024)).then(resolve, reject) }) })
  await Promise.all([first, second])
  t.same({ runs: vad.stats.runs - before.runs, windows: vad.stats.windows - before.windows }, { runs: 1, windows: 2 }, 'one run for both windows')
})

t.test('a window waiting for another live stream runs when its wait ends, also where the clock crosses 2^17 ms', async t => {
  // performance.now() just below 2^17 ms: q + BATCH_WAIT_MS lands in the next binade and rounds, so
  // (q + BATCH_WAIT_MS) - q can come out a hair under BATCH_WAIT_MS. The wait must end all the same.
  let q = 2 ** 17 - 5
  while ((q + BATCH_WAIT_MS) - q >= BATCH_WAIT_MS) q += 2 ** -36 // one step of a double in [2^16, 2^17)
  t.ok((q + BATCH_WAIT_MS) - q < BATCH_WAIT_MS, 'the chosen instant rounds down')
  const realNow = performance.now
  let fakeNow = q - 5
  performance.now = () => fakeNow
  t.teardown(() => { performance.now = realNow })
  const [other, waiting] = [vad.createState(), vad.createState()]
  await vad.detect(other, new Int16Array(512))
  fakeNow = q
  // `other` is live (it submitted 5 ms ago) and has nothing more: this window waits for it, then runs.
  let timer: NodeJS.Timeout | undefined
  const stuck = new Promise<string>(resolve => { timer = setTimeout(() => { resolve('still waiting after 5 s') }, 5000) })
  const outcome = await Promise.race([vad.detect(waiting, new Int16Array(512)).then(() => 'scored'), stuck])
  clearTimeout(timer)
  t.equal(outcome, 'scored')
  // Back on the real clock, one more window each, so that both streams age out of the live set as usual
  // (stamped in the fake future, they would count as live for the rest of the file).
  performance.now = realNow
  if (outcome === 'scored') await Promise.all([vad.detect(other, new Int16Array(512)), vad.detect(waiting, new Int16Array(512))])
})

t.test('a stream must wait for each window, send 512 samples, and not use a closed handle', async t => {
  const state = vad.createState()
  const first = vad.detect(state, new Int16Array(512))
  await t.rejects(vad.detect(state, new Int16Array(512)), { code: 'LLMRTC_ERR_VAD' })
  await first
  await t.rejects(vad.detect(state, new Int16Array(480)), { code: 'LLMRTC_ERR_VAD', message: /512 samples/ })
  const other = await SileroVad.acquire()
  await other.close()
  await other.close()
  await t.rejects(other.detect(vad.createState(), new Int16Array(512)), { code: 'LLMRTC_ERR_VAD' })
  t.ok(await vad.detect(vad.createState(), new Int16Array(512)) < 0.5, 'closing another handle keeps the shared model open')
  await t.rejects(SileroVad.acquire('/nonexistent/model.onnx'), { code: 'LLMRTC_ERR_VAD' })
})

t.test('1 s of silence, a phrase and 1.5 s of silence at 48 kHz stereo give one utterance bracketing the phrase', async t => {
  const phrase = await synthesizeSpeech(PHRASE, 48000)
  const phraseMs = phrase.length / 48
  const { events, errors, detector } = await detect(concat(silence(1000, 48000), phrase, silence(1500, 48000)), 48000, 2)
  t.same(errors, [])
  t.same(types(events), ['speech-start', 'speech-end'])
  const start = events[0]
  const end = events.at(-1)
  if (start?.type !== 'speech-start' || end?.type !== 'speech-end') return
  t.ok(start.atMs >= 900 && start.atMs <= 1150, `speech starts near 1000 ms (${start.atMs})`)
  t.ok(Math.abs(end.atMs - (1000 + phraseMs)) <= 200, `speech ends near ${Math.round(1000 + phraseMs)} ms (${end.atMs})`)
  t.ok(end.durationMs >= phraseMs, 'the utterance holds the whole phrase')
  const joined = [start.preRoll, ...events.flatMap(e => e.type === 'speech-audio' ? [e.samples] : [])]
  t.equal(joined.reduce((n, a) => n + a.length, 0), end.utterance.length, 'utterance = pre-roll + speech-audio')
  t.equal(detector.windows, Math.floor((2500 + phraseMs) * 16 / 512), 'every complete window was scored')
})

t.test('16 kHz mono input, two phrases apart give two utterances, and noise alone gives none', async t => {
  const a = await synthesizeSpeech('Turn on the lights.', 16000)
  const b = await synthesizeSpeech('And play some music please.', 16000)
  const room = noise(6000, 16000, 150, 9)
  const stream = mix(room, concat(silence(500), a, silence(1200), b, silence(1000)))
  const { events } = await detect(stream, 16000)
  t.same(types(events), ['speech-start', 'speech-end', 'speech-start', 'speech-end'])
  t.same((await detect(noise(3000, 48000, 300, 11), 48000)).events, [], 'no speech in noise')
})

t.test('audio pushed faster than the VAD runs is queued, reported once, and not dropped', async t => {
  const backlogs: number[] = []
  const speech = await synthesizeSpeech(PHRASE, 48000)
  const { detector } = await detect(concat(speech, silence(1000, 48000)), 48000, 1, { onBacklog: ms => backlogs.push(ms) })
  t.equal(backlogs.length, 1)
  t.ok((backlogs[0] ?? 0) > 256)
  t.ok(detector.maxBacklogMs >= (backlogs[0] ?? 0))
  t.equal(detector.backlogMs < 32, true, 'all complete windows were processed')
})

t.test('while a loudness listener is set, a loud onset reaches it as its frame arrives, before speech-start, and none during the speech', async t => {
  const phrase = await synthesizeSpeech(PHRASE, 48000)
  const log: string[] = []
  const detector = new SpeechDetector(vad, { onEvent: e => { if (e.type === 'speech-start' || e.type === 'speech-end') log.push(e.type) }, onError: e => { t.error(e) } })
  const stream = concat(silence(500, 48000), phrase, silence(1200, 48000), phrase, silence(1200, 48000))
  let frame = 0
  for (const f of frames10ms(stream, 48000)) {
    // Set for the first phrase and its speech, unset for the second.
    if (frame === 0) detector.setLoudnessOnset({ onset: () => { log.push('loud') }, lapsed: () => { log.push('lapsed') } })
    if (frame === 50 + Math.floor(phrase.length / 480) + 100) detector.setLoudnessOnset(undefined)
    detector.push(f)
    await detector.drain()
    frame++
  }
  await detector.flush()
  t.same(log, ['loud', 'speech-start', 'speech-end', 'speech-start', 'speech-end'], 'no lapse: the VAD started speech')
})

t.test('a loud click the VAD does not take for speech lapses once the VAD has scored LOUDNESS_HOLD_MS of audio after it, however late it runs', async t => {
  const log: string[] = []
  const detector = new SpeechDetector(vad, { onEvent: e => log.push(e.type), onError: e => { t.error(e) } })
  detector.setLoudnessOnset({ onset: () => { log.push(`loud at ${detector.windows}`) }, lapsed: () => { log.push(`lapsed at ${detector.windows}`) } })
  // 500 ms of quiet, a 10 ms click at frame 50, then quiet. All pushed at once: the VAD runs behind.
  for (const f of frames10ms(concat(silence(500), noise(10, 16000, 8000, 3), silence(600)), 16000)) detector.push(f)
  await detector.flush()
  // The click's frame ends at 8160 samples; +160 ms = 10720 samples: the 21st window (10752) reaches it.
  t.same(log, ['loud at 0', 'lapsed at 21'])
})

t.test('a loud noise the VAD does not take for speech holds the pause while it lasts, and lapses 50 ms after it ends', async t => {
  const log: string[] = []
  let frame = 0
  const detector = new SpeechDetector(vad, { onEvent: e => log.push(e.type), onError: e => { t.error(e) } })
  detector.setLoudnessOnset({ onset: () => { log.push(`loud at frame ${frame}`) }, lapsed: () => { log.push(`lapsed at frame ${frame}`) } })
  // 500 ms of quiet, 400 ms of noise (frames 50-89), then quiet, in real time: each frame scored as it comes.
  for (const f of frames10ms(concat(silence(500), noise(400, 16000, 3000, 8), silence(500)), 16000)) {
    detector.push(f)
    await detector.drain()
    frame++
  }
  await detector.flush()
  // Quiet for 50 ms once frame 94 is in; the window that completes with frame 95 (512 × 30 samples) decides.
  t.same(log, ['loud at frame 50', 'lapsed at frame 95'])
})

t.test('a loudness listener that throws is reported and the detector goes on', async t => {
  const errors: Error[] = []
  const detector = new SpeechDetector(vad, { onEvent: () => {}, onError: e => errors.push(e) })
  detector.setLoudnessOnset({ onset: () => { throw new TypeError('listener bug') }, lapsed: () => { throw new TypeError('lapse bug') } })
  for (const f of frames10ms(concat(silence(100), noise(100, 16000, 3000), silence(300)), 16000)) detector.push(f)
  await detector.flush()
  t.same(errors.map(e => e.message), ['listener bug', 'lapse bug'])
})

t.test('a listener that throws is reported and the detector goes on; close stops events', async t => {
  const speech = await synthesizeSpeech(PHRASE, 16000)
  const { events, errors } = await detect(concat(speech, silence(1000)), 16000, 1, {
    onEvent: (e) => { if (e.type === 'speech-start') throw new TypeError('listener bug') }
  })
  t.same(events, [])
  t.equal(errors.length, 1)
  const seen: SpeechEvent[] = []
  const detector = new SpeechDetector(vad, { onEvent: e => seen.push(e), onError: () => {} })
  for (const frame of frames10ms(speech, 16000)) detector.push(frame)
  detector.close()
  detector.close()
  detector.push({ samples: new Int16Array(160), sampleRateHz: 16000, channels: 1, samplesPerChannel: 160 })
  await detector.flush()
  t.same(seen, [], 'nothing after close')
  t.throws(() => new SpeechDetector(vad, { onEvent: () => {}, onError: () => {} }).push({ samples: new Int16Array(100), sampleRateHz: 48000, channels: 2, samplesPerChannel: 480 }), { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' })
})
