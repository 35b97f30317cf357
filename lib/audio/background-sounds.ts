import { readFile } from 'node:fs/promises'
import { invalidOption } from '../config/invalid-option.js'
import type { ResolvedBackgroundAudio } from './background-options.js'
import { decodeAudio } from './ffmpeg.js'

/** The rate of every background sound: the paced output's (48 kHz mono). */
export const BACKGROUND_SAMPLE_RATE_HZ = 48_000
/** Longest sound file accepted, in ms (a 120 s loop holds 11 MB, shared by every session). */
const MAX_SOUND_MS = 120_000

/** The sounds of a server, decoded once and shared (read only) by every session's BackgroundMixer. */
export interface BackgroundSounds {
  thinking?: { pcm: Int16Array, delayMs: number, volume: number }
  ambient?: { pcm: Int16Array, volume: number, duckTo: number }
}

/**
 * Makes the configured sounds: the generated ones, or files decoded by ffmpeg to 48 kHz mono (once, at
 * start-up: a file that cannot be read or decoded fails start-up with LLMRTC_ERR_OPTIONS_INVALID).
 */
export async function loadBackgroundSounds (options: ResolvedBackgroundAudio, signal?: AbortSignal): Promise<BackgroundSounds> {
  const sounds: BackgroundSounds = {}
  const { thinking, ambient } = options
  if (thinking !== undefined) {
    const pcm = thinking.sound === 'chime' ? generateChime() : await decodeFile('thinking', thinking.sound, signal)
    sounds.thinking = { pcm, delayMs: thinking.delayMs, volume: thinking.volume }
  }
  if (ambient !== undefined) {
    const pcm = ambient.sound === 'room-tone' ? generateRoomTone() : await decodeFile('ambient', ambient.sound, signal)
    sounds.ambient = { pcm, volume: ambient.volume, duckTo: ambient.duckTo }
  }
  return sounds
}

async function decodeFile (name: string, path: string, signal: AbortSignal | undefined): Promise<Int16Array> {
  let bytes: Buffer
  try {
    bytes = await readFile(path, signal !== undefined ? { signal } : {})
  } catch {
    invalidOption(`backgroundAudio.${name}.sound`, 'a readable audio file (or the generated sound)', path)
  }
  let pcm: Int16Array
  try {
    pcm = await decodeAudio(bytes, { sampleRateHz: BACKGROUND_SAMPLE_RATE_HZ, maxDurationMs: MAX_SOUND_MS, ...(signal !== undefined ? { signal } : {}) })
  } catch (err) {
    if (signal?.aborted === true) throw err
    invalidOption(`backgroundAudio.${name}.sound`, `an audio file ffmpeg decodes, at most ${MAX_SOUND_MS / 1000} s (${(err as Error).message})`, path)
  }
  if (pcm.length === 0) invalidOption(`backgroundAudio.${name}.sound`, 'an audio file with some audio', path)
  return pcm
}

/**
 * The default thinking sound, 1.6 s looped: two soft notes (E5 then A5, 140 ms each, a sine with a little
 * second harmonic under a raised-cosine envelope, peaks at -24 dBFS) and silence. Quiet and short, it
 * says "working" without sounding like an alert.
 */
export function generateChime (): Int16Array {
  const rate = BACKGROUND_SAMPLE_RATE_HZ
  const raw = new Float64Array(rate * 1.6)
  const noteSamples = Math.round(rate * 0.14)
  const notes = [{ at: 0, hz: 659.25 }, { at: Math.round(rate * 0.18), hz: 880 }]
  let largest = 0
  for (const { at, hz } of notes) {
    for (let i = 0; i < noteSamples; i++) {
      const envelope = (1 - Math.cos(2 * Math.PI * i / noteSamples)) / 2
      const phase = 2 * Math.PI * hz * i / rate
      const value = envelope * (0.85 * Math.sin(phase) + 0.15 * Math.sin(2 * phase))
      raw[at + i] = value
      largest = Math.max(largest, Math.abs(value))
    }
  }
  const scale = 32767 * 10 ** (-24 / 20) / largest
  return Int16Array.from(raw, value => Math.round(value * scale))
}

/**
 * The default ambient sound, 4 s looped seamlessly: brown noise (white noise from a fixed seed through a
 * one-pole low-pass at ~300 Hz) at -45 dBFS RMS, its last 250 ms cross-faded into its start.
 */
export function generateRoomTone (): Int16Array {
  const rate = BACKGROUND_SAMPLE_RATE_HZ
  const fade = Math.round(rate * 0.25)
  const length = rate * 4
  const raw = new Float64Array(length + fade)
  const alpha = 1 - Math.exp(-2 * Math.PI * 300 / rate)
  let seed = 0x2545f491
  let y = 0
  for (let i = 0; i < raw.length; i++) {
    // xorshift32: the same tone on every server and in every test.
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    y += alpha * ((seed >>> 0) / 2147483648 - 1 - y)
    raw[i] = y
  }
  // The tail past `length` fades into the head, so the loop point has no step.
  for (let i = 0; i < fade; i++) {
    const w = i / fade
    raw[i] = (raw[i] as number) * w + (raw[length + i] as number) * (1 - w)
  }
  let energy = 0
  for (let i = 0; i < length; i++) energy += (raw[i] as number) ** 2
  const scale = 32767 * 10 ** (-45 / 20) / Math.sqrt(energy / length)
  const pcm = new Int16Array(length)
  for (let i = 0; i < length; i++) pcm[i] = Math.round((raw[i] as number) * scale)
  return pcm
}

/**
 * The server's sounds a session asked for (agentForSession's `backgroundAudio`): all of them when it did
 * not say, none for false, else those it did not turn off. Undefined when no sound is left.
 */
export function soundsForSession (sounds: BackgroundSounds | undefined, wanted: boolean | { thinking?: boolean, ambient?: boolean } | undefined): BackgroundSounds | undefined {
  if (sounds === undefined || wanted === false) return undefined
  if (wanted === undefined || wanted === true) return sounds
  const chosen: BackgroundSounds = {}
  if (wanted.thinking !== false && sounds.thinking !== undefined) chosen.thinking = sounds.thinking
  if (wanted.ambient !== false && sounds.ambient !== undefined) chosen.ambient = sounds.ambient
  return chosen.thinking === undefined && chosen.ambient === undefined ? undefined : chosen
}
