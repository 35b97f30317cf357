/**
 * The per-frame cost of background audio (docs/background-audio.md): one PacedAudioOutput on a fake
 * clock emitting N frames of speech (a 48 kHz answer, as after resampling) as fast as it can, and
 * the same with a BackgroundMixer set: the ambient room tone ducked under the speech, the thinking sound
 * (in silence, as while a tool runs), and both. Also `mix()` alone. Run:
 * `npx tsx bench/background-mixer.ts [frames]` (default 200 000 per case). Prints µs of CPU per frame
 * (the best of 5 rounds) and the heap growth over a round (no allocation per frame: it should stay ~0).
 */
import { BackgroundMixer } from '../lib/audio/background-mixer.js'
import { generateChime, generateRoomTone, type BackgroundSounds } from '../lib/audio/background-sounds.js'
import type { Clock, TimerHandle } from '../lib/clock.js'
import { PacedAudioOutput } from '../lib/transport/paced-audio-output.js'

const FRAMES = Number(process.argv[2] ?? 200_000)

/** A clock that only moves when told, with one pending timer (the ticker's) fired by `tick()`. */
class StepClock implements Clock {
  #now = 0
  #timer: (() => void) | undefined
  now = (): number => this.#now
  setTimeout = (fn: () => void): TimerHandle => { this.#timer = fn; return 1 as unknown as TimerHandle }
  clearTimeout = (): void => { this.#timer = undefined }
  setInterval = (): TimerHandle => { throw new Error('unused') }
  clearInterval = (): void => {}
  tick (): void {
    this.#now += 10
    const timer = this.#timer
    this.#timer = undefined
    timer?.()
  }
}

const chime = generateChime()
const roomTone = generateRoomTone()
const cases: Array<{ name: string, sounds: BackgroundSounds | undefined, speech: boolean, think: boolean }> = [
  { name: 'speech, no mixer', sounds: undefined, speech: true, think: false },
  { name: 'speech + ambient (ducked)', sounds: { ambient: { pcm: roomTone, volume: 1, duckTo: 0.3 } }, speech: true, think: false },
  { name: 'silence + thinking sound', sounds: { thinking: { pcm: chime, delayMs: 0, volume: 1 } }, speech: false, think: true },
  { name: 'silence + thinking + ambient', sounds: { thinking: { pcm: chime, delayMs: 0, volume: 1 }, ambient: { pcm: roomTone, volume: 1, duckTo: 0.3 } }, speech: false, think: true },
  { name: 'silence, no mixer', sounds: undefined, speech: false, think: false }
]

const answer = Int16Array.from({ length: 48_000 }, (_, i) => Math.round(8000 * Math.sin(i / 7)))
let checksum = 0

function round (c: typeof cases[number]): { usPerFrame: number, heapBytes: number } {
  const clock = new StepClock()
  const output = new PacedAudioOutput({ clock, idleAfterMs: Infinity, onFrame: (samples) => { checksum += samples[100] ?? 0 } })
  const mixer = c.sounds === undefined ? undefined : new BackgroundMixer(c.sounds)
  output.setBackground(mixer)
  if (c.think) mixer?.think()
  output.start()
  const refill = (): void => { if (c.speech && output.stats.framesSent % 50 === 0) output.write(answer, 48_000) }
  for (let i = 0; i < 1000; i++) { refill(); clock.tick() } // warm up
  const heapBefore = process.memoryUsage().heapUsed
  const cpu = process.cpuUsage()
  for (let i = 0; i < FRAMES; i++) { refill(); clock.tick() }
  const used = process.cpuUsage(cpu)
  const heapBytes = process.memoryUsage().heapUsed - heapBefore
  output.close()
  return { usPerFrame: (used.user + used.system) / FRAMES, heapBytes }
}

for (const c of cases) {
  const rounds = Array.from({ length: 5 }, () => round(c))
  const best = Math.min(...rounds.map(r => r.usPerFrame))
  console.log(`${c.name.padEnd(30)} ${best.toFixed(2)} µs/frame (rounds ${rounds.map(r => r.usPerFrame.toFixed(2)).join(' ')}), heap growth ${rounds[4]?.heapBytes ?? 0} B`)
}

// mix() alone, on a frame of speech.
const frame = new Int16Array(480)
const mixer = new BackgroundMixer({ thinking: { pcm: chime, delayMs: 0, volume: 1 }, ambient: { pcm: roomTone, volume: 1, duckTo: 0.3 } })
mixer.think()
for (let i = 0; i < 10_000; i++) mixer.mix(frame, 0, false)
const cpu = process.cpuUsage()
for (let i = 0; i < FRAMES; i++) { frame.fill(0); mixer.mix(frame, 0, false) }
const used = process.cpuUsage(cpu)
console.log(`mix() alone (thinking + ambient, incl. a 480-sample fill) ${((used.user + used.system) / FRAMES).toFixed(2)} µs/frame${checksum === 0.5 ? '' : ''}`)
process.exit(0)
