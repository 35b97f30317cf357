import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import { NoiseSuppressor, type NoiseSuppressorOptions, type Rnnoise } from '../../lib/audio/noise-suppressor.js'
import { decodeWav } from '../../lib/audio/wav.js'
import type { SileroVad } from '../../lib/vad/silero-vad.js'
import { SpeechDetector } from '../../lib/vad/speech-detector.js'

const run = promisify(execFile)
const cacheDir = join(tmpdir(), 'llmrtc-noise-fixtures')
const RATE = 48_000

/*
 * Noise for noise-suppression tests and bench/noise-suppression.ts, made by sox (with -R: its random
 * generator is seeded the same every run) and espeak-ng, at 48 kHz mono s16; placement and levels use a
 * seeded generator, so every run gets the same samples. Cached in the OS temp dir.
 * Needs `apt-get install espeak-ng sox`.
 */

/** The kinds of background noise. */
export type NoiseKind = 'fan' | 'keyboard' | 'babble'
export const NOISE_KINDS: readonly NoiseKind[] = ['fan', 'keyboard', 'babble']

async function cached (key: string, make: (file: string) => Promise<void>): Promise<Int16Array> {
  const hash = createHash('sha256').update(`v1\0${key}`).digest('hex').slice(0, 16)
  const file = join(cacheDir, `${hash}.wav`)
  try {
    return decodeWav(await readFile(file)).samples
  } catch {
    await mkdir(cacheDir, { recursive: true })
    const partial = join(cacheDir, `${hash}.${process.pid}.partial.wav`)
    await make(partial)
    await rename(partial, file)
    return decodeWav(await readFile(file)).samples
  }
}

const SOX_OUT = ['-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer']

/** A seeded generator of floats in [0, 1). */
export function seeded (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 0x100000000
  }
}

/** Root mean square of `samples`. */
export function rms (samples: Int16Array): number {
  let sum = 0
  for (let i = 0; i < samples.length; i++) sum += (samples[i] as number) ** 2
  return Math.sqrt(sum / Math.max(1, samples.length))
}

/** `samples` scaled to an RMS of `dbfs` (relative to full scale, 32768), clamped. */
export function atLevel (samples: Int16Array, dbfs: number): Int16Array {
  const gain = 32768 * 10 ** (dbfs / 20) / Math.max(1, rms(samples))
  const out = new Int16Array(samples.length)
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round((samples[i] as number) * gain)))
  return out
}

/** A fan or air conditioner: brown noise with a 120 Hz hum, low-passed, slowly modulated. */
async function fan (seconds: number): Promise<Int16Array> {
  return await cached(`fan\0${seconds}`, async (file) => {
    await run('sox', ['-R', '-n', ...SOX_OUT, file, 'synth', String(seconds), 'brownnoise', 'synth', String(seconds), 'sine', 'amod', '120', 'lowpass', '2500', 'tremolo', '0.3', '20', 'gain', '-n', '-3'])
  })
}

/** Key clicks: short band-passed noise bursts at typing rhythm (bursts of keys, pauses between words). */
async function keyboard (seconds: number, seed: number): Promise<Int16Array> {
  const clicks: Int16Array[] = []
  for (const [i, band] of ['2000 4000', '3000 6000', '1500 5000', '2500 8000'].entries()) {
    clicks.push(await cached(`click\0${i}`, async (file) => {
      await run('sox', ['-R', '-n', ...SOX_OUT, file, 'synth', '0.025', 'whitenoise', 'sinc', band.replace(' ', '-'), 'fade', 'q', '0.001', '0.025', '0.02', 'gain', '-n', '-1'])
    }))
  }
  const out = new Int16Array(seconds * RATE)
  const random = seeded(seed)
  let at = Math.floor(random() * RATE * 0.2)
  while (at < out.length) {
    const click = clicks[Math.floor(random() * clicks.length)] as Int16Array
    const gain = 0.4 + random() * 0.6
    for (let i = 0; i < click.length && at + i < out.length; i++) out[at + i] = Math.round((out[at + i] as number) + (click[i] as number) * gain)
    // 5-10 keys a second; after a word (1 in 5), a pause of up to 0.6 s.
    at += Math.floor(RATE * (0.1 + random() * 0.1 + (random() < 0.2 ? random() * 0.6 : 0)))
  }
  return out
}

const BABBLE_LINES = [
  'The quarterly numbers look better than we expected, but the shipping costs went up again.',
  'Did you see the game last night? I could not believe the final score at all.',
  'We should book the meeting room for Thursday afternoon before somebody else takes it.',
  'My sister moved to the coast last year and she says the weather is wonderful there.',
  'Can you pass me the report from yesterday, the one with the blue cover on it?',
  'I think the new coffee machine on the third floor is broken again this morning.'
]
const BABBLE_VOICES = ['en-us', 'en-gb', 'en-gb-scotland', 'en-029', 'en-gb-x-rp', 'en-us+f3']

/** A crowd: six espeak-ng talkers (voices, pitches, rates differ) saying different things, looped, with reverb. */
async function babble (seconds: number): Promise<Int16Array> {
  return await cached(`babble\0${seconds}`, async (file) => {
    const parts: string[] = []
    try {
      for (const [i, line] of BABBLE_LINES.entries()) {
        const raw = `${file}.${i}.raw.wav`
        const talker = `${file}.${i}.wav`
        parts.push(raw, talker)
        await run('espeak-ng', ['-v', BABBLE_VOICES[i] as string, '-p', String(30 + i * 8), '-s', String(150 + i * 10), '-w', raw, `${line} ${line}`])
        // Each talker starts at another offset and loops to the length.
        await run('sox', [raw, ...SOX_OUT, talker, 'pad', String(0.3 * i), '0', 'repeat', String(Math.ceil(seconds / 4)), 'trim', '0', String(seconds), 'gain', '-n', '-3'])
      }
      await run('sox', ['-m', ...parts.filter((_, j) => j % 2 === 1), ...SOX_OUT, file, 'reverb', '60', 'gain', '-n', '-3', 'trim', '0', String(seconds)])
    } finally {
      await Promise.all(parts.map(async (p) => { await rm(p, { force: true }) }))
    }
  })
}

/** `seconds` of one kind of noise at 48 kHz, at an RMS of `dbfs`. Same samples every run. */
export async function noiseFixture (kind: NoiseKind, seconds: number, dbfs: number): Promise<Int16Array> {
  const samples = kind === 'fan' ? await fan(seconds) : kind === 'keyboard' ? await keyboard(seconds, 7) : await babble(seconds)
  return atLevel(samples.subarray(0, seconds * RATE), dbfs)
}

/** What the VAD made of a stream: its onsets (`speech-start`) and confirmed utterances (`speech-end`), in stream ms. */
export interface DetectedSpeech {
  onsets: number[]
  utterances: Array<{ startMs: number, endMs: number }>
}

/**
 * Runs `samples` (mono s16 at `sampleRateHz`) in 10 ms frames through a SpeechDetector on `vad`, behind a
 * NoiseSuppressor on `rnnoise` when given (as the pipeline does). Deterministic: same input, same events.
 * Times are positions in the detector's stream (the suppressor's 10 ms delay included).
 */
export async function detectSpeech (vad: SileroVad, rnnoise: Rnnoise | undefined, samples: Int16Array, sampleRateHz = RATE, options: NoiseSuppressorOptions = {}): Promise<DetectedSpeech> {
  const result: DetectedSpeech = { onsets: [], utterances: [] }
  let failure: Error | undefined
  const detector = new SpeechDetector(vad, {
    onEvent: (event) => {
      if (event.type === 'speech-start') result.onsets.push(event.atMs)
      else if (event.type === 'speech-end') result.utterances.push({ startMs: event.atMs - event.durationMs, endMs: event.atMs })
    },
    onError: (error) => { failure = error }
  })
  const suppressor = rnnoise === undefined ? undefined : new NoiseSuppressor(rnnoise, options)
  const push = (frame: AudioFrame): void => { detector.push(frame) }
  const size = sampleRateHz / 100
  const frame: AudioFrame = { samples, sampleRateHz, channels: 1, samplesPerChannel: size }
  try {
    for (let offset = 0, n = 0; offset + size <= samples.length; offset += size, n++) {
      frame.samples = samples.subarray(offset, offset + size)
      if (suppressor === undefined) push(frame)
      else suppressor.process(frame, push)
      if (n % 50 === 49) await detector.drain()
    }
    await detector.flush()
  } finally {
    suppressor?.destroy()
    detector.close()
  }
  if (failure !== undefined) throw failure
  return result
}
