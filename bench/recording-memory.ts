/**
 * Memory and CPU of recording one session (docs/recording.md, "Memory"): a simulated call of N minutes
 * (default 30) on a stepped clock, both sides sending 10 ms frames at 48 kHz (as WebRTC does), recorded as WAV
 * at 16 kHz into (a) a sink that takes everything at once and (b) a sink that never drains (a hung upload).
 * Prints the heap and buffers (after GC) every 5 minutes of call, the recorder's and the sink's held bytes, and the CPU per
 * 10 ms of call. Run: `npx tsx --expose-gc bench/recording-memory.ts [minutes]`.
 */
import { Writable } from 'node:stream'
import type { Clock, TimerHandle } from '../lib/clock.js'
import { SessionRecording } from '../lib/recording/session-recording.js'

const MINUTES = Number(process.argv[2] ?? 30)

/** A clock moved by `step(ms)`, firing its interval timers (the recorder's flush). */
class StepClock implements Clock {
  #now = 1_700_000_000_000
  readonly #intervals = new Map<number, { fn: () => void, every: number, at: number }>()
  #next = 1
  now = (): number => this.#now
  setTimeout = (): TimerHandle => { throw new Error('unused') }
  clearTimeout = (): void => {}
  setInterval = (fn: () => void, ms: number): TimerHandle => {
    const id = this.#next++
    this.#intervals.set(id, { fn, every: ms, at: this.#now + ms })
    return id as unknown as TimerHandle
  }

  clearInterval = (handle: TimerHandle): void => { this.#intervals.delete(handle as unknown as number) }
  step (ms: number): void {
    this.#now += ms
    for (const timer of this.#intervals.values()) {
      while (timer.at <= this.#now) { timer.at += timer.every; timer.fn() }
    }
  }
}

async function heapMb (): Promise<number> {
  // Twice, a turn apart: backing stores of collected buffers are freed after the first pass.
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  await new Promise(resolve => setTimeout(resolve, 50))
  gc?.()
  const usage = process.memoryUsage()
  // Buffers and typed arrays (the rings, the queued chunks) live outside the JS heap: counted too.
  return (usage.heapUsed + usage.arrayBuffers) / 1e6
}

async function run (name: string, destination: Writable): Promise<void> {
  const clock = new StepClock()
  const recording = new SessionRecording({ sessionId: 'bench', clock, format: 'wav', sampleRateHz: 16_000, onError: (err) => { console.error(err) } })
  recording.startAudio(destination)
  const user = new Int16Array(480).map((_, i) => Math.round(3000 * Math.sin(i / 7)))
  const assistant = new Int16Array(480).map((_, i) => Math.round(3000 * Math.sin(i / 5)))
  const frame = { samples: user, sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 }
  const before = await heapMb()
  const rows: string[] = []
  let cpu = 0
  const frames = MINUTES * 60 * 100
  for (let i = 1; i <= frames; i++) {
    const started = process.cpuUsage()
    recording.user(frame)
    recording.assistant(assistant, 48_000)
    clock.step(10)
    const used = process.cpuUsage(started)
    cpu += used.user + used.system
    // Let the destination take what it takes (a real call yields every 10 ms).
    if (i % 100 === 0) await new Promise(resolve => setImmediate(resolve))
    if (i % (5 * 60 * 100) === 0) {
      rows.push(`  ${String(i / 6000).padStart(3)} min: heap + buffers ${((await heapMb()) - before).toFixed(2)} MB over the start, sink holds ${((recording.sink?.bufferedBytes ?? 0) / 1024).toFixed(0)} KiB, dropped ${((recording.sink?.droppedBytes ?? 0) / 64_000).toFixed(0)} s`)
    }
  }
  console.log(`${name}: ${(cpu / frames).toFixed(1)} µs of CPU per 10 ms of call (both sides)`)
  for (const row of rows) console.log(row)
  destination.destroy()
}

await run('a sink that takes everything', new Writable({ write (_chunk, _enc, cb) { cb() } }))
await run('a sink that never drains', new Writable({ write () {} }))
