import { invalidOption } from '../config/invalid-option.js'

/** The thinking sound: played while the assistant works and nothing is said (docs/background-audio.md). */
export interface ThinkingSoundOptions {
  /**
   * `'chime'` (default: a soft two-note chime every 1.6 s, generated in code) or the path of an audio
   * file (WAV, MP3, Ogg, FLAC, WebM; decoded by ffmpeg once at start-up, at most 120 s) played in a loop.
   */
  sound?: string
  /** Quiet after which the sound starts, in ms (default 1000): the first token, or a tool, is late. */
  delayMs?: number
  /** Gain applied to the sound, 0-1 (default 1; the chime peaks at -24 dBFS). */
  volume?: number
}

/** The ambient sound: a loop under the whole call, ducked under the assistant's speech. */
export interface AmbientSoundOptions {
  /** `'room-tone'` (default: a soft generated brown noise, -45 dBFS) or the path of an audio file, as for `thinking`. */
  sound?: string
  /** Gain applied to the sound, 0-1 (default 1). */
  volume?: number
  /** Its gain under the assistant's speech, as a fraction of `volume`, 0-1 (default 0.3). */
  duckTo?: number
}

/** Sounds mixed into the speech output (WebRTC tracks, phone calls, devices). Off by default. */
export interface BackgroundAudioOptions {
  /** The thinking sound (true: with its defaults). */
  thinking?: ThinkingSoundOptions | boolean
  /** The ambient sound (true: with its defaults). */
  ambient?: AmbientSoundOptions | boolean
}

export interface ResolvedThinkingSound { sound: string, delayMs: number, volume: number }
export interface ResolvedAmbientSound { sound: string, volume: number, duckTo: number }
export interface ResolvedBackgroundAudio {
  thinking: ResolvedThinkingSound | undefined
  ambient: ResolvedAmbientSound | undefined
}

const THINKING_KEYS = ['sound', 'delayMs', 'volume']
const AMBIENT_KEYS = ['sound', 'volume', 'duckTo']

/** Validates `backgroundAudio` and applies defaults; undefined when no sound is on. Throws LLMRTC_ERR_OPTIONS_INVALID. */
export function resolveBackgroundAudio (options: BackgroundAudioOptions | false | undefined): ResolvedBackgroundAudio | undefined {
  if (options === undefined || options === false) return undefined
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalidOption('backgroundAudio', 'an object { thinking?, ambient? } or false', options)
  for (const key of Object.keys(options)) {
    if (key !== 'thinking' && key !== 'ambient') invalidOption(`backgroundAudio.${key}`, 'one of thinking, ambient', 'an unknown key')
  }
  const thinking = section('thinking', options.thinking, THINKING_KEYS)
  const ambient = section('ambient', options.ambient, AMBIENT_KEYS)
  const resolved: ResolvedBackgroundAudio = {
    thinking: thinking === undefined
      ? undefined
      : { sound: sound('thinking', thinking.sound, 'chime'), delayMs: integer('thinking.delayMs', thinking.delayMs, 1000), volume: gain('thinking.volume', thinking.volume, 1) },
    ambient: ambient === undefined
      ? undefined
      : { sound: sound('ambient', ambient.sound, 'room-tone'), volume: gain('ambient.volume', ambient.volume, 1), duckTo: gain('ambient.duckTo', ambient.duckTo, 0.3) }
  }
  return resolved.thinking === undefined && resolved.ambient === undefined ? undefined : resolved
}

function section (name: string, value: unknown, keys: string[]): Record<string, unknown> | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidOption(`backgroundAudio.${name}`, 'an object, true or false', value)
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) invalidOption(`backgroundAudio.${name}.${key}`, `one of ${keys.join(', ')}`, 'an unknown key')
  }
  return value as Record<string, unknown>
}

function sound (name: string, value: unknown, generated: string): string {
  if (value === undefined) return generated
  if (typeof value !== 'string' || value === '') invalidOption(`backgroundAudio.${name}.sound`, `"${generated}" or the path of an audio file`, value)
  return value
}

function integer (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) invalidOption(`backgroundAudio.${name}`, 'an integer >= 0', value)
  return value
}

function gain (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) invalidOption(`backgroundAudio.${name}`, 'a number from 0 to 1', value)
  return value
}
