/**
 * VAD and resampling cost on one core. Run: `npx tsx bench/vad.ts` (prints markdown tables).
 * Times are wall clock and CPU time of this process (CPU is steadier on a shared machine).
 */
import { cpus } from 'node:os'
import { Resampler } from '../lib/audio/resampler.js'
import { SileroVad, SILERO_WINDOW_SAMPLES } from '../lib/vad/silero-vad.js'
import { SpeechDetector } from '../lib/vad/speech-detector.js'

const WINDOW_US = 32_000
const FRAME_US = 10_000

function signal (n: number, seed = 1): Int16Array {
  const out = new Int16Array(n)
  let state = seed
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = Math.round(3000 * Math.sin(i / 9) + (state / 0x100000000 - 0.5) * 2000)
  }
  return out
}

/** Runs `fn` `iterations` times, in 3 rounds; returns the best round's wall and CPU µs per iteration. */
async function measure (iterations: number, fn: () => unknown): Promise<{ wallUs: number, cpuUs: number }> {
  let best = { wallUs: Infinity, cpuUs: Infinity }
  for (let round = 0; round < 3; round++) {
    const cpu = process.cpuUsage()
    const start = performance.now()
    for (let i = 0; i < iterations; i++) await fn()
    const wallUs = (performance.now() - start) * 1000 / iterations
    const used = process.cpuUsage(cpu)
    const cpuUs = (used.user + used.system) / iterations
    if (cpuUs < best.cpuUs) best = { wallUs, cpuUs }
  }
  return best
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits)

async function benchVad (vad: SileroVad): Promise<string[]> {
  const rows: string[] = []
  const audio = signal(SILERO_WINDOW_SAMPLES * 64)
  for (const streams of [1, 4, 16, 64]) {
    const states = Array.from({ length: streams }, () => vad.createState())
    let w = 0
    const step = async (): Promise<unknown> => {
      const offset = (w++ % 64) * SILERO_WINDOW_SAMPLES
      return await Promise.all(states.map(async s => await vad.detect(s, audio.subarray(offset, offset + SILERO_WINDOW_SAMPLES))))
    }
    await measure(50, step)
    const before = vad.stats
    const steps = Math.max(100, Math.round(2000 / streams))
    const { wallUs, cpuUs } = await measure(steps, step)
    const after = vad.stats
    const batch = (after.windows - before.windows) / (after.runs - before.runs)
    rows.push(`| Silero v5, ${streams} stream${streams > 1 ? 's' : ''} | ${fmt(batch)} | ${fmt(wallUs / streams)} | ${fmt(cpuUs / streams)} | ${fmt(wallUs / streams / WINDOW_US, 4)} | ${Math.floor(WINDOW_US / (cpuUs / streams))} |`)
  }
  return rows
}

async function benchDetectors (vad: SileroVad): Promise<string> {
  // 32 streams of 48 kHz stereo, pushed frame by frame in step (as WebRTC sinks would), full pipeline.
  const streams = 32
  const seconds = 5
  const source = signal(48000 * seconds)
  const stereo = new Int16Array(source.length * 2)
  for (let i = 0; i < source.length; i++) stereo.fill(source[i] as number, 2 * i, 2 * i + 2)
  const detectors = Array.from({ length: streams }, () => new SpeechDetector(vad, { onEvent: () => {}, onError: (e) => { throw e } }))
  const frames = seconds * 100
  const { wallUs, cpuUs } = await measure(1, async () => {
    for (let f = 0; f < frames; f++) {
      for (const d of detectors) d.push({ samples: stereo.subarray(f * 960, (f + 1) * 960), sampleRateHz: 48000, channels: 2, samplesPerChannel: 480 })
      if (f % 3 === 2) await new Promise(resolve => setImmediate(resolve))
    }
    await Promise.all(detectors.map(async d => { await d.drain() }))
  })
  const perStreamSecondMs = cpuUs / 1000 / streams / seconds
  return `| ${streams} detectors, 48 kHz stereo → 16 kHz → Silero → segmenter | ${fmt(wallUs / 1000, 0)} ms wall, ${fmt(cpuUs / 1000, 0)} ms CPU for ${streams * seconds} s of audio | ${fmt(perStreamSecondMs)} ms CPU per stream-second (RTF ${fmt(perStreamSecondMs / 1000, 4)}) |`
}

async function benchResamplers (): Promise<string[]> {
  const rows: string[] = []
  for (const [inputHz, outputHz] of [[48000, 16000], [16000, 48000], [22050, 48000], [24000, 48000]] as const) {
    for (const simd of [true, false]) {
      const resampler = new Resampler(inputHz, outputHz, { simd })
      if (!simd && !new Resampler(inputHz, outputHz).simd) continue // the same loop as the row above
      const frame = signal(Math.floor(inputHz / 100))
      await measure(5000, () => resampler.process(frame))
      const { wallUs, cpuUs } = await measure(20000, () => resampler.process(frame))
      const kind = resampler.simd ? 'WebAssembly SIMD' : 'JavaScript'
      rows.push(`| llmrtc polyphase FIR, ${kind} | ${inputHz / 1000}k → ${outputHz / 1000}k | ${fmt(wallUs)} | ${fmt(cpuUs)} | ${fmt(cpuUs / FRAME_US * 100, 2)}% |`)
    }
  }
  try {
    // Optional comparison (`npm install --no-save @alexanderolsen/libsamplerate-js`): typed loosely on purpose.
    const libraryName = '@alexanderolsen/libsamplerate-js'
    const { create, ConverterType } = await import(libraryName) as {
      create: (channels: number, fromHz: number, toHz: number, options: { converterType: number }) => Promise<{ full: (input: Float32Array, output: Float32Array, length: { frames: number }) => void, destroy: () => void }>
      ConverterType: Record<string, number>
    }
    for (const mode of ['SRC_SINC_FASTEST', 'SRC_SINC_MEDIUM_QUALITY'] as const) {
      const src = await create(1, 48000, 16000, { converterType: ConverterType[mode] ?? 0 })
      const input = Float32Array.from(signal(480), v => v / 32768)
      const output = new Float32Array(480)
      const length = { frames: 0 }
      await measure(2000, () => src.full(input, output, length))
      const { wallUs, cpuUs } = await measure(10000, () => src.full(input, output, length))
      rows.push(`| libsamplerate-js ${mode.slice(4).toLowerCase()} (for comparison) | 48k → 16k | ${fmt(wallUs)} | ${fmt(cpuUs)} | ${fmt(cpuUs / FRAME_US * 100, 2)}% |`)
      src.destroy()
    }
  } catch (error) {
    // The comparison is optional: libsamplerate-js may not be installed.
    console.error('libsamplerate-js comparison skipped:', (error as Error).message)
  }
  return rows
}

async function idleCpuMs (): Promise<number> {
  const cpu = process.cpuUsage()
  await new Promise(resolve => setTimeout(resolve, 1000))
  const used = process.cpuUsage(cpu)
  return (used.user + used.system) / 1000
}

const vad = await SileroVad.acquire()
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, onnxruntime-node single-threaded session\n`)
console.log('| VAD | windows per run | µs per 32 ms window (wall) | µs per window (CPU) | real-time factor | streams per core |')
console.log('|---|---|---|---|---|---|')
for (const row of await benchVad(vad)) console.log(row)
console.log('\n| Pipeline | cost | per stream |')
console.log('|---|---|---|')
console.log(await benchDetectors(vad))
console.log(`\nIdle with the session open: ${fmt(await idleCpuMs())} ms CPU in 1 s (no spinning thread pool).\n`)
console.log('| Resampler | conversion | µs per 10 ms frame (wall) | µs per frame (CPU) | share of one core per stream |')
console.log('|---|---|---|---|---|')
for (const row of await benchResamplers()) console.log(row)
await vad.close()
