import { spawnSync } from 'node:child_process'
import { ffmpegPath } from '../../lib/audio/ffmpeg-path.js'

/** Energy is measured over blocks of this length. */
export const BLOCK_MS = 20

/** A stereo recording decoded by ffmpeg: what ffmpeg said of its input, and each channel's energy per 20 ms block. */
export interface DecodedRecording {
  /** ffmpeg's exit status (0: the whole file decoded). */
  status: number | null
  /** ffmpeg's log (`-loglevel info`): the input's stream line says its codec, rate and layout. */
  log: string
  /** Mean absolute amplitude per block, left (the user) and right (the assistant). */
  left: number[]
  right: number[]
}

/** Decodes `file` with ffmpeg to s16le stereo at `rateHz` and measures each channel's energy. */
export function decodeRecording (file: string, rateHz = 16_000): DecodedRecording {
  const decoded = spawnSync(ffmpegPath(), ['-hide_banner', '-nostats', '-loglevel', 'info', '-i', file, '-f', 's16le', '-ac', '2', '-ar', String(rateHz), 'pipe:1'], { maxBuffer: 256 * 1024 * 1024 })
  const pcm = decoded.stdout
  const block = rateHz * BLOCK_MS / 1000
  const left: number[] = []
  const right: number[] = []
  for (let start = 0; (start + block) * 4 <= pcm.length; start += block) {
    let l = 0
    let r = 0
    for (let i = start; i < start + block; i++) { l += Math.abs(pcm.readInt16LE(i * 4)); r += Math.abs(pcm.readInt16LE(i * 4 + 2)) }
    left.push(l / block)
    right.push(r / block)
  }
  return { status: decoded.status, log: decoded.stderr.toString('utf8'), left, right }
}

/** The share of blocks in [fromMs, toMs) with sound (mean amplitude over 200). */
export function loudShare (energy: number[], fromMs: number, toMs: number): number {
  const from = Math.max(0, Math.floor(fromMs / BLOCK_MS))
  const to = Math.min(energy.length, Math.floor(toMs / BLOCK_MS))
  if (to <= from) return 0
  let loud = 0
  for (let i = from; i < to; i++) if ((energy[i] as number) > 200) loud++
  return loud / (to - from)
}

/** One character per 100 ms: `#` where sound, `.` where quiet (for test comments). */
export function timeline (energy: number[]): string {
  return Array.from({ length: Math.ceil(energy.length / 5) }, (_, i) => loudShare(energy, i * 100, i * 100 + 100) > 0.3 ? '#' : '.').join('')
}

/** Each turn's span in the recording, `[startMs, endMs]` (NaN where the transcript gives none). */
export function turnSpans<T extends ReadonlyArray<{ startMs?: number, endMs?: number }>> (turns: readonly [...T]): { [K in keyof T]: [number, number] } {
  return turns.map(turn => [turn.startMs ?? NaN, turn.endMs ?? NaN]) as { [K in keyof T]: [number, number] }
}

/** Both channels' timelines, for a test comment. */
export function timelines (left: number[], right: number[]): string {
  return `left  ${timeline(left)}\nright ${timeline(right)}`
}
