import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { decodeWav } from '../../lib/audio/wav.js'

const run = promisify(execFile)
const cacheDir = join(tmpdir(), 'llmrtc-speech-fixtures')

/**
 * Real speech for tests: `phrase` spoken by Debian's espeak-ng (en-us), resampled by sox (independent of
 * our own resampler) to mono s16 at `sampleRateHz`, with leading and trailing silence trimmed so the
 * phrase spans the whole array. Cached in the OS temp dir. Needs `apt-get install espeak-ng sox`.
 */
export async function synthesizeSpeech (phrase: string, sampleRateHz = 16000): Promise<Int16Array> {
  const key = createHash('sha256').update(`v1\0${phrase}\0${sampleRateHz}`).digest('hex').slice(0, 16)
  const file = join(cacheDir, `${key}.wav`)
  let wav: Buffer
  try {
    wav = await readFile(file)
  } catch {
    await mkdir(cacheDir, { recursive: true })
    const raw = join(cacheDir, `${key}.${process.pid}.espeak.wav`)
    const converted = join(cacheDir, `${key}.${process.pid}.wav`)
    await run('espeak-ng', ['-v', 'en-us', '-w', raw, phrase])
    await run('sox', [raw, '-r', String(sampleRateHz), '-c', '1', '-b', '16', '-e', 'signed-integer', converted])
    await rename(converted, file)
    wav = await readFile(file)
  }
  return trimSilence(decodeWav(wav).samples)
}

/** Drops leading and trailing samples quieter than `threshold`. */
export function trimSilence (samples: Int16Array, threshold = 300): Int16Array {
  let start = 0
  let end = samples.length
  while (start < end && Math.abs(samples[start] as number) < threshold) start++
  while (end > start && Math.abs(samples[end - 1] as number) < threshold) end--
  return samples.slice(start, end)
}

/** `ms` of digital silence. */
export function silence (ms: number, sampleRateHz = 16000): Int16Array {
  return new Int16Array(Math.round(ms * sampleRateHz / 1000))
}

/** `ms` of white noise with peak `amplitude`, from a seeded generator (same every run). */
export function noise (ms: number, sampleRateHz = 16000, amplitude = 200, seed = 1): Int16Array {
  const out = new Int16Array(Math.round(ms * sampleRateHz / 1000))
  let state = seed >>> 0
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = Math.round((state / 0x100000000 * 2 - 1) * amplitude)
  }
  return out
}

/** The pieces one after the other. */
export function concat (...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Adds `b` onto `a` (same length or shorter), clamped to s16. */
export function mix (a: Int16Array, b: Int16Array): Int16Array {
  const out = a.slice()
  for (let i = 0; i < b.length && i < out.length; i++) {
    out[i] = Math.max(-32768, Math.min(32767, (out[i] as number) + (b[i] as number)))
  }
  return out
}

/** A mono stream as 10 ms frames, optionally duplicated to interleaved stereo. */
export function * frames10ms (samples: Int16Array, sampleRateHz: number, channels = 1): Generator<{ samples: Int16Array, sampleRateHz: number, channels: number, samplesPerChannel: number }> {
  const size = sampleRateHz / 100
  for (let offset = 0; offset + size <= samples.length; offset += size) {
    const mono = samples.subarray(offset, offset + size)
    let frame = mono
    if (channels > 1) {
      frame = new Int16Array(size * channels)
      for (let i = 0; i < size; i++) frame.fill(mono[i] as number, i * channels, (i + 1) * channels)
    }
    yield { samples: frame, sampleRateHz, channels, samplesPerChannel: size }
  }
}
