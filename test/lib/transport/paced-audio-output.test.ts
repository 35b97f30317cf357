import t from 'tap'
import type { Clock } from '../../../lib/clock.js'
import { FRAME_SAMPLES, PacedAudioOutput } from '../../../lib/transport/paced-audio-output.js'
import { FakeClock } from '../../helpers/fake-clock.js'

/** A paced output on a fake clock that records every frame it emits (copied) with its time. */
function recorder (clock: Clock = new FakeClock(0)): { output: PacedAudioOutput, frames: Array<{ at: number, samples: Int16Array }>, buffers: Set<Int16Array> } {
  const frames: Array<{ at: number, samples: Int16Array }> = []
  const buffers = new Set<Int16Array>()
  const output = new PacedAudioOutput({
    clock,
    onFrame: (samples) => {
      buffers.add(samples)
      frames.push({ at: clock.now(), samples: samples.slice() })
    }
  })
  return { output, frames, buffers }
}

/** `ms` of a constant non-zero level at `rateHz`. */
function tone (ms: number, rateHz = 48_000, level = 1000): Int16Array {
  return new Int16Array(rateHz * ms / 1000).fill(level)
}

const isSilent = (samples: Int16Array): boolean => samples.every(s => s === 0)

/** A fake clock whose timers fire late by a deterministic pseudo-random 0-4 ms (plus `extraLateMs` once). */
class LateClock extends FakeClock {
  extraLateMs = 0

  constructor () {
    super(0)
    let seed = 42
    const setTimeoutOnTime = this.setTimeout
    this.setTimeout = (fn, ms) => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      const late = seed % 5 + this.extraLateMs
      this.extraLateMs = 0
      return setTimeoutOnTime(fn, ms + late)
    }
  }
}

t.test('paced output emits one 480-sample frame per 10 ms, silence when idle, always in the same buffer', async t => {
  const clock = new FakeClock(0)
  const { output, frames, buffers } = recorder(clock)
  output.start()
  clock.advance(1000)
  t.equal(frames.length, 101, 'frames at 0, 10, ..., 1000 ms')
  t.same(frames.slice(0, 3).map(f => f.at), [0, 10, 20])
  t.ok(frames.every(f => f.samples.length === FRAME_SAMPLES && isSilent(f.samples)))
  t.equal(buffers.size, 1, 'no new frame buffer per frame')
  t.equal(output.playing, false)
  t.equal(output.playedMs, 0, 'silence is not counted as played audio')
  output.close()
  t.equal(clock.pending, 0, 'close leaves no timer')
})

t.test('audio written at 24 kHz plays at 48 kHz in order, then silence follows', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  const ramp = Int16Array.from({ length: 2400 }, (_, i) => i) // 100 ms at 24 kHz
  output.write(ramp, 24_000)
  output.start()
  clock.advance(150)
  const played = frames.filter(f => !isSilent(f.samples) || f === frames[0])
  t.equal(played.length, 10, '100 ms of audio fill 10 frames')
  const mid = frames[5]?.samples ?? new Int16Array(0)
  t.ok(Math.abs((mid[0] ?? 0) - 1200) < 40, `the ramp arrives at twice the rate (${mid[0]} at 50 ms, about 1200)`)
  t.ok(isSilent(frames[10]?.samples ?? new Int16Array(1)), 'silence after the audio')
  t.equal(output.playedMs, 100)
})

t.test('drain resolves only once everything queued has played out', async t => {
  const clock = new FakeClock(0)
  const { output } = recorder(clock)
  output.write(tone(50), 48_000)
  output.start()
  let drained = false
  const done = output.drain().then(() => { drained = true })
  clock.advance(40)
  await Promise.resolve()
  t.equal(drained, false, 'the last frame is still playing')
  t.equal(output.playing, true)
  clock.advance(10)
  await done
  t.equal(drained, true)
  t.equal(output.playing, false)
  t.equal(output.playedMs, 50)
  await output.drain() // nothing queued: resolves at once
})

t.test('clear drops queued audio at once, returns the ms dropped and settles drains; dropped marks never fire', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  const marks: string[] = []
  output.onPlayed(mark => { marks.push(mark) })
  output.write(tone(1000), 48_000, 'long')
  output.start()
  const drained = output.drain()
  clock.advance(300) // frames 0..30 emitted: 310 ms handed to the track
  t.equal(output.clear(), 690)
  clock.advance(10)
  await drained
  clock.advance(100)
  t.equal(frames.filter(f => !isSilent(f.samples)).length, 31)
  t.same(marks, [])
  t.equal(output.playedMs, 310)
  t.equal(output.clear(), 0, 'nothing left to drop')
})

t.test('marks fire in order when their chunk has fully played', async t => {
  const clock = new FakeClock(0)
  const { output } = recorder(clock)
  const marks: Array<[string, number]> = []
  const unsubscribe = output.onPlayed(mark => { marks.push([mark, clock.now()]) })
  output.write(tone(15), 48_000, 'a') // ends inside frame 1 (10-20 ms)
  output.write(tone(15), 48_000, 'b') // ends with frame 2 (20-30 ms)
  output.write(new Int16Array(0), 48_000, 'empty')
  output.start()
  clock.advance(100)
  t.same(marks, [['a', 20], ['b', 30], ['empty', 30]])
  unsubscribe()
  output.write(tone(10), 48_000, 'unheard')
  clock.advance(50)
  t.equal(marks.length, 3, 'an unsubscribed listener is not called')
})

t.test('frames stay on an absolute 10 ms schedule when timers fire late: no drift over 100 s', async t => {
  const clock = new LateClock()
  const { output, frames } = recorder(clock)
  output.start()
  clock.advance(100_000)
  t.ok(frames.length >= 10_000 && frames.length <= 10_001, `10 000 frames in 100 s, got ${frames.length}`)
  t.equal(output.stats.restarts, 0)
  const lateness = frames.map((f, i) => f.at - i * 10)
  t.ok(lateness.every(ms => ms >= 0 && ms < 10), 'each frame within one frame of its slot')
  output.close()
})

t.test('after a long stall the schedule restarts instead of bursting, and no audio is lost', async t => {
  const clock = new LateClock()
  const { output, frames } = recorder(clock)
  output.write(tone(500), 48_000, 'end')
  output.start()
  clock.advance(100)
  clock.extraLateMs = 200 // the next timer fires 200+ ms late, like a blocked event loop
  clock.advance(1000)
  t.equal(output.stats.restarts, 1)
  const gaps = frames.slice(1).map((f, i) => f.at - (frames[i]?.at ?? 0))
  t.ok(gaps.filter(g => g === 0).length <= 5, 'at most a few frames emitted back to back')
  t.equal(frames.filter(f => !isSilent(f.samples)).length, 50, 'all 500 ms still played')
  t.equal(output.playedMs, 500)
  output.close()
})

t.test('write rejects an impossible sample rate; writes after close are ignored', async t => {
  const { output } = recorder()
  t.throws(() => { output.write(new Int16Array(10), 0) }, { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' })
  t.throws(() => { output.write(new Int16Array(10), 44_100.5) }, { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' })
  output.close()
  output.close()
  output.write(tone(10), 48_000)
  t.equal(output.playing, false)
})

t.test('close settles pending drains and stops the clock', async t => {
  const clock = new FakeClock(0)
  const { output } = recorder(clock)
  output.write(tone(1000), 48_000)
  output.start()
  const drained = output.drain()
  clock.advance(100)
  output.close()
  await drained
  t.equal(clock.pending, 0)
  t.equal(output.playing, false)
})

t.test('24 kHz speech is resampled to the track\'s 48 kHz with its tone intact', async t => {
  const clock = new FakeClock()
  const frames: Int16Array[] = []
  const output = new PacedAudioOutput({ clock, onFrame: (samples) => { frames.push(samples.slice()) } })
  t.teardown(() => { output.close() })
  const tone = Int16Array.from({ length: 24_000 / 10 }, (_, i) => Math.round(8000 * Math.sin(2 * Math.PI * 1000 * i / 24_000)))
  output.start()
  output.write(tone, 24_000)
  clock.advance(150)
  const played = frames.flatMap(f => [...f])
  const peak = played.reduce((max, s) => Math.max(max, Math.abs(s)), 0)
  t.ok(peak > 7000 && peak < 8800, `the 1 kHz tone keeps its level (peak ${peak})`)
  let crossings = 0
  for (let i = 1000; i < 1000 + 2400 && i < played.length; i++) if (((played[i - 1] ?? 0) < 0) !== ((played[i] ?? 0) < 0)) crossings++
  t.ok(crossings >= 95 && crossings <= 105, `and its frequency (${crossings} zero crossings in 50 ms)`)
})
