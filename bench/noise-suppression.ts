/**
 * RNNoise before the VAD: false onsets on noise, recall on speech, CPU per session and added delay.
 * Run: `npx tsx bench/noise-suppression.ts` (prints markdown tables; fixtures are made by sox and
 * espeak-ng on first run, with fixed seeds, and cached in the OS temp dir). BENCH_SECONDS sets the length
 * of each noise fixture (default 120).
 */
import { loadRnnoise, NoiseSuppressor, RNNOISE_FRAME_SAMPLES, type Rnnoise } from '../lib/audio/noise-suppressor.js'
import { resample } from '../lib/audio/resampler.js'
import { SileroVad } from '../lib/vad/silero-vad.js'
import type { AudioFrame } from '../lib/audio/audio-frame.js'
import { atLevel, detectSpeech, NOISE_KINDS, noiseFixture, type DetectedSpeech } from '../test/helpers/noise-fixtures.js'
import { synthesizeSpeech } from '../test/helpers/speech.js'

const RATE = 48_000
const SECONDS = Number(process.env.BENCH_SECONDS ?? 120)
const LEVELS_DBFS = [-35, -25, -20, -15]
const BED_LEVELS_DBFS = [-35, -25, -15]
const SPEECH_DBFS = -20

const PHRASES = [
  'What time does the pharmacy open tomorrow morning?',
  'I would like to change my delivery address, please.',
  'Yes.',
  'Can you read me the last three transactions on my account?',
  'No, that is not what I meant.',
  'Book a table for four people at seven thirty.',
  'How far is the nearest train station from here?',
  'Okay, thanks.',
  'Please cancel the appointment I made for Friday.',
  'Tell me a short story about a lighthouse keeper.',
  'Turn the heating down two degrees.',
  'Hmm, let me think about it.',
  'Send the invoice to my work email instead.',
  'What is the weather going to be like this weekend?',
  'Stop.',
  'Could you repeat the last part more slowly?'
]

function percent (n: number, d: number): string {
  return d === 0 ? '-' : `${Math.round(100 * n / d)} %`
}

/** The phrases with 1.5 s of silence (or `bed`) between them, and where each one is. */
async function conversation (bed: Int16Array | undefined): Promise<{ samples: Int16Array, spans: Array<{ startMs: number, endMs: number }> }> {
  const gap = 1.5 * RATE
  const phrases = await Promise.all(PHRASES.map(async (p) => atLevel(await synthesizeSpeech(p, RATE), SPEECH_DBFS)))
  const samples = new Int16Array(phrases.reduce((n, p) => n + p.length + gap, gap))
  const spans: Array<{ startMs: number, endMs: number }> = []
  let at = gap
  for (const phrase of phrases) {
    samples.set(phrase, at)
    spans.push({ startMs: at / 48, endMs: (at + phrase.length) / 48 })
    at += phrase.length + gap
  }
  if (bed !== undefined) {
    for (let i = 0; i < samples.length; i++) samples[i] = Math.max(-32768, Math.min(32767, (samples[i] as number) + (bed[i % bed.length] as number)))
  }
  return { samples, spans }
}

/** Phrases with a confirmed utterance overlapping them (the 10 ms suppressor delay and the VAD's windows allowed for). */
function recall (detected: DetectedSpeech, spans: Array<{ startMs: number, endMs: number }>): number {
  return spans.filter(s => detected.utterances.some(u => u.startMs < s.endMs + 100 && u.endMs > s.startMs - 100)).length
}

/** Median of how late the VAD's end of speech is after each phrase's last sample, in ms (matched phrases). */
function endLagMs (detected: DetectedSpeech, spans: Array<{ startMs: number, endMs: number }>): string {
  const lags: number[] = []
  for (const s of spans) {
    const u = detected.utterances.find(u => u.startMs < s.endMs + 100 && u.endMs > s.startMs - 100)
    if (u !== undefined) lags.push(u.endMs - s.endMs)
  }
  lags.sort((a, b) => a - b)
  return lags.length === 0 ? '-' : `${Math.round(lags[Math.floor(lags.length / 2)] as number)} ms`
}

function speechSeconds (detected: DetectedSpeech): string {
  return (detected.utterances.reduce((sum, u) => sum + u.endMs - u.startMs, 0) / 1000).toFixed(1)
}

async function onsetsTable (vad: SileroVad, rnnoise: Rnnoise): Promise<void> {
  console.log(`\n### False onsets on ${SECONDS} s of noise alone (no speech)\n`)
  console.log('| Noise | Level (RMS) | Onsets without | Onsets with RNNoise | Change | Confirmed utterances without / with | Seconds held as speech without / with |')
  console.log('|---|---|---|---|---|---|---|')
  for (const kind of NOISE_KINDS) {
    for (const dbfs of kind === 'babble' ? [-55, -45, -35] : LEVELS_DBFS) {
      const noise = await noiseFixture(kind, SECONDS, dbfs)
      const off = await detectSpeech(vad, undefined, noise)
      const on = await detectSpeech(vad, rnnoise, noise)
      const change = off.onsets.length === 0 ? '-' : `${Math.round(100 * (on.onsets.length - off.onsets.length) / off.onsets.length)} %`
      console.log(`| ${kind} | ${dbfs} dBFS | ${off.onsets.length} | ${on.onsets.length} | ${change} | ${off.utterances.length} / ${on.utterances.length} | ${speechSeconds(off)} / ${speechSeconds(on)} |`)
    }
  }
}

async function recallTable (vad: SileroVad, rnnoise: Rnnoise): Promise<void> {
  console.log(`\n### Speech detection recall (${PHRASES.length} espeak-ng phrases at ${SPEECH_DBFS} dBFS, 1.5 s apart)\n`)
  console.log('| Background | Recall without | Recall with RNNoise | Utterances without / with | End of speech after the last word, median, without / with |')
  console.log('|---|---|---|---|---|')
  const beds: Array<[string, Int16Array | undefined]> = [['none (clean)', undefined]]
  for (const kind of NOISE_KINDS) {
    for (const dbfs of kind === 'babble' ? [-45, -35] : BED_LEVELS_DBFS) beds.push([`${kind} at ${dbfs} dBFS`, await noiseFixture(kind, SECONDS, dbfs)])
  }
  for (const [name, bed] of beds) {
    const { samples, spans } = await conversation(bed)
    const off = await detectSpeech(vad, undefined, samples)
    const on = await detectSpeech(vad, rnnoise, samples)
    console.log(`| ${name} | ${percent(recall(off, spans), spans.length)} | ${percent(recall(on, spans), spans.length)} | ${off.utterances.length} / ${on.utterances.length} | ${endLagMs(off, spans)} / ${endLagMs(on, spans)} |`)
  }
}

async function narrowbandTable (vad: SileroVad, rnnoise: Rnnoise): Promise<void> {
  console.log('\n### Phone audio (8 kHz; with `upsample: true`, upsampled to 48 kHz for RNNoise)\n')
  console.log('| Audio | Without | With RNNoise |')
  console.log('|---|---|---|')
  for (const kind of NOISE_KINDS) {
    const noise = resample(await noiseFixture(kind, SECONDS, -35), RATE, 8000)
    const off = await detectSpeech(vad, undefined, noise, 8000)
    const on = await detectSpeech(vad, rnnoise, noise, 8000, { upsample: true })
    console.log(`| ${kind} at -35 dBFS, onsets | ${off.onsets.length} | ${on.onsets.length} |`)
  }
  const { samples, spans } = await conversation(undefined)
  const phone = resample(samples, RATE, 8000)
  const off = await detectSpeech(vad, undefined, phone, 8000)
  const on = await detectSpeech(vad, rnnoise, phone, 8000, { upsample: true })
  console.log(`| clean speech, recall | ${percent(recall(off, spans), spans.length)} | ${percent(recall(on, spans), spans.length)} |`)
}

/** µs of CPU per 10 ms frame, best of 3 rounds. */
function cpuPerFrame (rnnoise: Rnnoise, samples: Int16Array, sampleRateHz: number): number {
  const size = sampleRateHz / 100
  const frame: AudioFrame = { samples, sampleRateHz, channels: 1, samplesPerChannel: size }
  const sink = (): void => {}
  let best = Infinity
  for (let round = 0; round < 3; round++) {
    const suppressor = new NoiseSuppressor(rnnoise, { upsample: true })
    const started = process.cpuUsage()
    let frames = 0
    for (let offset = 0; offset + size <= samples.length; offset += size, frames++) {
      frame.samples = samples.subarray(offset, offset + size)
      suppressor.process(frame, sink)
    }
    const used = process.cpuUsage(started)
    suppressor.destroy()
    best = Math.min(best, (used.user + used.system) / frames)
  }
  return best
}

async function cpuTable (rnnoise: Rnnoise): Promise<void> {
  const { samples } = await conversation(await noiseFixture('fan', SECONDS, -35))
  const at48 = cpuPerFrame(rnnoise, samples, RATE)
  const at16 = cpuPerFrame(rnnoise, resample(samples, RATE, 16000), 16000)
  const at8 = cpuPerFrame(rnnoise, resample(samples, RATE, 8000), 8000)
  console.log('\n### CPU per session (one stream, 10 ms frames)\n')
  console.log('| Input | µs of CPU per 10 ms frame | Share of one core |')
  console.log('|---|---|---|')
  for (const [name, us] of [['48 kHz (WebRTC)', at48], ['16 kHz (devices), upsampled', at16], ['8 kHz (phone), upsampled', at8]] as const) {
    console.log(`| ${name} | ${us.toFixed(0)} | ${(us / 100).toFixed(1)} % |`)
  }
}

/** The lag, in samples, at which the output best matches the input (speech, so no noise is removed). */
async function delayTable (rnnoise: Rnnoise): Promise<void> {
  const { samples } = await conversation(undefined)
  const input = samples.subarray(0, 10 * RATE)
  const output = new Int16Array(input.length)
  const suppressor = new NoiseSuppressor(rnnoise)
  let written = 0
  const size = RNNOISE_FRAME_SAMPLES
  for (let offset = 0; offset + size <= input.length; offset += size) {
    suppressor.process({ samples: input.subarray(offset, offset + size), sampleRateHz: RATE, channels: 1, samplesPerChannel: size }, (frame) => {
      output.set(frame.samples, written)
      written += frame.samples.length
    })
  }
  suppressor.destroy()
  let bestLag = 0
  let bestScore = -Infinity
  for (let lag = 0; lag <= 2 * size; lag++) {
    let score = 0
    for (let i = 0; i + lag < written; i += 4) score += (input[i] as number) * (output[i + lag] as number)
    if (score > bestScore) {
      bestScore = score
      bestLag = lag
    }
  }
  console.log('\n### Added latency\n')
  console.log(`Output lags input by ${bestLag} samples = ${(bestLag / 48).toFixed(1)} ms (cross-correlation over 10 s of speech); frames are processed as they arrive, so nothing else waits.`)
}

const vad = await SileroVad.acquire()
const rnnoise = await loadRnnoise()
console.log(`## Noise suppression (RNNoise, @echogarden/rnnoise-wasm) — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}`)
await delayTable(rnnoise)
await cpuTable(rnnoise)
await onsetsTable(vad, rnnoise)
await recallTable(vad, rnnoise)
await narrowbandTable(vad, rnnoise)
await vad.close()
