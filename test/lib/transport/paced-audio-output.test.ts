import t from 'tap'
import type { Clock } from '../../../lib/clock.js'
import { FRAME_SAMPLES, PacedAudioOutput, type PacedAudioOutputOptions } from '../../../lib/transport/paced-audio-output.js'
import { FakeClock } from '../../helpers/fake-clock.js'

/**
 * A paced output on a fake clock that records every frame it emits (copied) with its time. It never
 * stops for idleness unless `options` say so.
 */
function recorder (clock: Clock = new FakeClock(0), options: Partial<PacedAudioOutputOptions> = {}): { output: PacedAudioOutput, frames: Array<{ at: number, samples: Int16Array }>, buffers: Set<Int16Array> } {
  const frames: Array<{ at: number, samples: Int16Array }> = []
  const buffers = new Set<Int16Array>()
  const output = new PacedAudioOutput({
    idleAfterMs: Infinity,
    ...options,
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

/** `count` samples counting up from `from` (each one tells where it came from). */
function counter (count: number, from = 1): Int16Array {
  return Int16Array.from({ length: count }, (_, i) => from + i)
}

/** Largest absolute difference between consecutive samples. */
function maxStep (samples: Int16Array): number {
  let max = 0
  for (let i = 1; i < samples.length; i++) max = Math.max(max, Math.abs((samples[i] as number) - (samples[i - 1] as number)))
  return max
}

t.test('pause fades the audio out within one frame, then emits silence and consumes nothing', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  output.write(tone(500, 48_000, 10_000), 48_000)
  output.start()
  clock.advance(30) // frames at 0..30 ms: 4 frames at full level
  output.pause()
  t.equal(output.paused, true)
  clock.advance(100)
  const faded = frames[4]?.samples ?? new Int16Array(0)
  t.ok((faded[0] ?? 0) > 9990, `the faded frame starts at the full level (${faded[0]})`)
  t.equal(faded[FRAME_SAMPLES - 1], 0, 'and ends at zero')
  let decreasing = true
  for (let i = 1; i < faded.length; i++) if ((faded[i] as number) > (faded[i - 1] as number)) decreasing = false
  t.ok(decreasing, 'its envelope only decreases')
  t.ok(frames.slice(5).every(f => isSilent(f.samples)), 'every frame after it is silence')
  t.equal(output.playing, true, 'the rest of the answer is still queued')
  t.equal(output.playedMs, 50, 'the faded frame counts as played, the silence does not')
  output.close()
})

t.test('the fade makes no click: a sine keeps its natural sample-to-sample steps through pause and resume', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  const amplitude = 16_000
  const sine = Int16Array.from({ length: 48_000 / 2 }, (_, i) => Math.round(amplitude * Math.sin(2 * Math.PI * 440 * i / 48_000)))
  const naturalStep = maxStep(sine)
  output.write(sine, 48_000)
  output.start()
  clock.advance(95) // mid-frame: pause lands on a frame boundary anyway
  output.pause()
  clock.advance(50)
  output.resume()
  clock.advance(50)
  const heard = Int16Array.from(frames.flatMap(f => [...f.samples]))
  t.ok(maxStep(heard) <= naturalStep + amplitude * 0.005, `largest step ${maxStep(heard)}, the sine's own ${naturalStep}`)
  t.ok(naturalStep < amplitude * 0.06, 'and that is far from a jump to or from silence')
  output.close()
})

t.test('resume plays on with the exact next samples: one faded-out and one faded-in frame, nothing lost or repeated', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  const input = counter(4800) // 100 ms: sample i holds i + 1
  const marks: Array<[string, number]> = []
  output.onPlayed(mark => { marks.push([mark, clock.now()]) })
  output.write(input, 48_000, 'end')
  output.start()
  clock.advance(20) // frames 0-2 as they are
  output.pause()
  clock.advance(60) // frame 3 fades out, frames 4-8 are silence
  output.resume()
  clock.advance(200) // frame 9 fades in, then the rest
  const audible = frames.filter(f => !isSilent(f.samples))
  t.equal(audible.length, 10, '100 ms of audio in 10 frames, as without a pause')
  t.same(frames.slice(4, 9).map(f => isSilent(f.samples)), [true, true, true, true, true])
  const [fadeOut, fadeIn] = [frames[3]?.samples ?? new Int16Array(0), frames[9]?.samples ?? new Int16Array(0)]
  const gain = (samples: Int16Array, block: number): number[] => Array.from(samples, (s, i) => s / (input[block * FRAME_SAMPLES + i] as number))
  const outGain = gain(fadeOut, 3)
  const inGain = gain(fadeIn, 4)
  t.ok((outGain[0] ?? 0) > 0.99 && outGain[FRAME_SAMPLES - 1] === 0, 'the faded-out frame is block 3 going from 1 to 0')
  t.ok((inGain[0] ?? 1) < 0.01 && Math.abs((inGain[FRAME_SAMPLES - 1] ?? 0) - 1) < 0.001, 'the faded-in frame is block 4 going from 0 to 1')
  const unfaded = [...frames.slice(0, 3), ...frames.slice(10, 15)].flatMap(f => [...f.samples])
  const expected = [...input.subarray(0, 3 * FRAME_SAMPLES), ...input.subarray(5 * FRAME_SAMPLES)]
  t.same(unfaded, expected, 'every other sample is the input, in order')
  t.same(marks, [['end', 150]], 'the mark fires when its last frame slot is over, the pause included')
  t.equal(output.playedMs, 100)
})

t.test('while paused playedMs stays put, drain waits, and writes are queued behind the paused audio', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  output.write(counter(1440), 48_000) // 30 ms
  output.start() // frame 0 as it is
  output.pause()
  clock.advance(20) // frame 1 fades out, its slot ends at 20 ms
  const playedAtPause = output.playedMs
  t.equal(playedAtPause, 20)
  let drained = false
  const done = output.drain().then(() => { drained = true })
  output.write(counter(480, 2000), 48_000, 'later')
  clock.advance(500)
  await Promise.resolve()
  t.equal(output.playedMs, playedAtPause, `playedMs frozen at ${playedAtPause}`)
  t.equal(drained, false, 'drain does not resolve while audio is queued')
  t.equal(output.playing, true)
  output.resume()
  clock.advance(30)
  await done
  t.equal(output.playedMs, 40)
  const audio = frames.filter(f => !isSilent(f.samples))
  t.equal(audio.length, 4, 'one frame, fade-out, fade-in, then the write made while paused')
  t.same([...(audio[3]?.samples ?? [])], [...counter(480, 2000)])
})

t.test('clear while paused drops the queue and unpauses: the next answer plays at once', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  output.write(tone(1000), 48_000, 'dropped')
  output.start()
  clock.advance(10)
  output.pause()
  clock.advance(50)
  const drained = output.drain()
  t.equal(output.clear(), 970, 'what the fade-out frame did not take is dropped')
  t.equal(output.paused, false)
  await drained
  const from = frames.length
  output.write(counter(480), 48_000)
  clock.advance(20)
  t.same([...(frames[from]?.samples ?? [])], [...counter(480)], 'the next audio plays unfaded')
  t.equal(output.playing, false)
})

t.test('pause with nothing queued is harmless; pause and resume are idempotent', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  output.start()
  output.resume() // not paused: nothing happens
  t.equal(output.paused, false)
  output.pause()
  output.pause()
  clock.advance(50)
  t.ok(frames.every(f => isSilent(f.samples)))
  t.equal(output.playing, false)
  await output.drain()
  output.write(counter(4800), 48_000) // written while paused: waits
  clock.advance(50)
  t.equal(output.playedMs, 0)
  output.resume()
  output.resume()
  t.equal(output.paused, false)
  clock.advance(200)
  const audio = frames.filter(f => !isSilent(f.samples))
  t.equal(audio.length, 10, 'one fade-in frame, then the rest, once')
  t.same(audio.slice(1).flatMap(f => [...f.samples]), [...counter(4800).subarray(FRAME_SAMPLES)])
  t.equal(output.playedMs, 100)
})

t.test('resume before the next frame cancels the pause without any fade; pause right after resume stays silent', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = recorder(clock)
  const input = counter(4800)
  output.write(input, 48_000)
  output.start() // frame 0
  output.pause()
  output.resume()
  clock.advance(20) // frames 1, 2 untouched
  t.same(frames.flatMap(f => [...f.samples]), [...input.subarray(0, 3 * FRAME_SAMPLES)])
  output.pause()
  clock.advance(10) // frame 3 fades out
  output.resume()
  output.pause() // before the fade-in frame: back to silence, no second fade-out
  clock.advance(50)
  t.ok(frames.slice(4).every(f => isSilent(f.samples)))
  t.equal(output.playedMs, 40)
  output.resume()
  clock.advance(100)
  const rest = frames.slice(4).filter(f => !isSilent(f.samples))
  t.equal(rest.length, 6, 'block 4 fades in, blocks 5-9 follow')
  t.same(rest.slice(1).flatMap(f => [...f.samples]), [...input.subarray(5 * FRAME_SAMPLES)])
})

t.test('pausing and resuming allocates no frame buffer', async t => {
  const clock = new FakeClock(0)
  const { output, buffers } = recorder(clock)
  output.write(tone(200), 48_000)
  output.start()
  for (let i = 0; i < 5; i++) {
    output.pause()
    clock.advance(20)
    output.resume()
    clock.advance(20)
  }
  t.equal(buffers.size, 1)
  output.close()
  t.equal(output.paused, false)
})

t.test('leadFrames: while audio is queued the output runs that many frames ahead, and gives the lead back once idle', async t => {
  const clock = new FakeClock(0)
  const frames: Array<{ at: number, loud: boolean }> = []
  const output = new PacedAudioOutput({ clock, leadFrames: 1, onFrame: (samples) => { frames.push({ at: clock.now(), loud: !isSilent(samples) }) } })
  output.start()
  clock.advance(25)
  const idle = frames.length
  t.equal(idle, 3, 'idle: one frame per slot, no lead (frames at 0, 10, 20 ms)')
  output.write(tone(50), 48_000)
  clock.advance(5) // the slot at 30 ms
  t.same(frames.slice(idle).map(f => f.at), [30, 30], 'the first slot after the write emits two frames: the answer and one ahead')
  clock.advance(30) // slots at 40, 50, 60 ms
  t.same(frames.slice(idle).map(f => f.loud), [true, true, true, true, true], 'the 50 ms played in order, one frame per slot after the first')
  t.same(frames.slice(idle + 2).map(f => f.at), [40, 50, 60], 'one frame per slot while playing')
  clock.advance(10) // 70 ms: the queue is empty, the lead is given back (no frame)
  t.equal(frames.length, idle + 5, 'the slot after the queue emptied emits nothing')
  clock.advance(20)
  t.same(frames.slice(idle + 5).map(f => [f.at, f.loud]), [[80, false], [90, false]], 'then silence on the real-time schedule again')
  t.equal(output.stats.restarts, 0)
  output.close()
})

t.test('outputs on one clock share one timer, each keeps its own frames and queue on the shared slots', async t => {
  const clock = new FakeClock(0)
  const first = recorder(clock)
  const second = recorder(clock)
  first.output.start()
  clock.advance(23)
  second.output.write(tone(20), 48_000, 'second')
  second.output.start()
  t.equal(clock.pending, 1, 'one timer for both tracks')
  clock.advance(47)
  t.same(first.frames.map(f => f.at), [0, 10, 20, 30, 40, 50, 60, 70])
  t.same(second.frames.map(f => f.at), [23, 30, 40, 50, 60, 70], 'the second track\'s first frame at its start, then on the same slots')
  t.same(second.frames.map(f => !isSilent(f.samples)), [true, true, false, false, false, false])
  t.ok(first.frames.every(f => isSilent(f.samples)), 'the first track only silence')
  t.equal(second.output.playedMs, 20)
  first.output.close()
  t.equal(clock.pending, 1, 'the other track keeps the timer')
  second.output.close()
  t.equal(clock.pending, 0)
})

t.test('idleAfterMs: frames stop once nothing played for that long, after marks and drains settled', async t => {
  const clock = new FakeClock(0)
  const frames: Array<{ at: number, loud: boolean }> = []
  const output = new PacedAudioOutput({ clock, idleAfterMs: 30, onFrame: (samples) => { frames.push({ at: clock.now(), loud: !isSilent(samples) }) } })
  const marks: Array<[string, number]> = []
  output.onPlayed(mark => { marks.push([mark, clock.now()]) })
  output.write(tone(20), 48_000, 'answer')
  output.start()
  const drained = output.drain()
  clock.advance(100)
  await drained
  t.same(frames.map(f => [f.at, f.loud]), [[0, true], [10, true], [20, false], [30, false], [40, false]], 'the answer, then 30 ms of silence')
  t.same(marks, [['answer', 20]], 'the mark when its last frame\'s slot was over')
  t.equal(output.sending, false)
  t.equal(clock.pending, 0, 'no timer while idle')
  t.equal(output.playedMs, 20)
  output.close()
})

t.test('audio written to an idle output plays at once, then on the slots, and the output stops again after it', async t => {
  const clock = new FakeClock(0)
  const frames: Array<{ at: number, loud: boolean }> = []
  const output = new PacedAudioOutput({ clock, idleAfterMs: 0, minPauseMs: 0, onFrame: (samples) => { frames.push({ at: clock.now(), loud: !isSilent(samples) }) } })
  output.start()
  t.same(frames, [{ at: 0, loud: false }], 'one silent frame, then idle')
  t.equal(output.sending, false)
  clock.advance(1005)
  output.write(tone(15), 48_000, 'a')
  output.write(tone(15), 48_000, 'b')
  t.equal(frames.length, 1, 'nothing emitted inside write()')
  await Promise.resolve()
  t.same(frames.slice(1), [{ at: 1005, loud: true }], 'the first frame once the synchronous writes are queued')
  const marks: Array<[string, number]> = []
  output.onPlayed(mark => { marks.push([mark, clock.now()]) })
  clock.advance(100)
  t.same(frames.slice(1).map(f => [f.at, f.loud]), [[1005, true], [1010, true], [1020, true], [1030, false]], 'then one frame per slot')
  t.same(marks, [['a', 1020], ['b', 1030]])
  t.equal(output.playedMs, 30)
  t.same(output.stats, { framesSent: 5, restarts: 0, resumedAfterIdle: 1 })
  t.equal(clock.pending, 0)
  output.close()
})

t.test('an idle output never stops while paused audio waits, and stops only after it played', async t => {
  const clock = new FakeClock(0)
  const { output, frames } = (() => {
    const frames: boolean[] = []
    const output = new PacedAudioOutput({ clock, idleAfterMs: 20, onFrame: (samples) => { frames.push(!isSilent(samples)) } })
    return { output, frames }
  })()
  output.write(tone(30), 48_000)
  output.pause()
  output.start()
  clock.advance(500)
  t.equal(output.sending, true, 'paused with audio queued: frames go on')
  t.equal(frames.filter(Boolean).length, 1, 'only the faded-out frame was heard')
  output.resume()
  clock.advance(200)
  t.equal(frames.filter(Boolean).length, 3, 'the rest after resume')
  t.equal(output.sending, false)
  t.equal(output.playedMs, 30)
  output.close()
})

t.test('after stopping, frames start again no sooner than minPauseMs: audio written meanwhile waits and counts as playing', async t => {
  const clock = new FakeClock(0)
  const frames: Array<{ at: number, loud: boolean }> = []
  const output = new PacedAudioOutput({ clock, idleAfterMs: 100, minPauseMs: 1500, onFrame: (samples) => { frames.push({ at: clock.now(), loud: !isSilent(samples) }) } })
  output.start()
  clock.advance(200)
  t.equal(output.sending, false, 'stopped after 100 ms of silence')
  const stoppedAt = frames.at(-1)?.at ?? NaN
  t.equal(stoppedAt, 90, 'its last frame')
  clock.advance(400)
  output.write(tone(20), 48_000, 'answer')
  const marks: string[] = []
  output.onPlayed(mark => { marks.push(mark) })
  const drained = output.drain()
  await Promise.resolve()
  clock.advance(990 - 1)
  t.equal(frames.length, 10, 'nothing until the pause is 1500 ms long')
  t.equal(output.playing, true, 'the answer is waiting to play')
  clock.advance(1)
  t.same(frames.slice(10).map(f => [f.at, f.loud]), [[1590, true]], 'the answer 1500 ms after the stop')
  clock.advance(30)
  await drained
  t.same(marks, ['answer'])
  t.equal(output.playedMs, 20)
  t.equal(output.stats.resumedAfterIdle, 1)
  output.close()
  t.equal(clock.pending, 0)
})

t.test('wake starts stopped frames with silence, keeps running ones going, and does nothing before start or after close', async t => {
  const clock = new FakeClock(0)
  const frames: Array<{ at: number, loud: boolean }> = []
  const output = new PacedAudioOutput({ clock, idleAfterMs: 100, minPauseMs: 1000, onFrame: (samples) => { frames.push({ at: clock.now(), loud: !isSilent(samples) }) } })
  output.wake()
  clock.advance(50)
  t.equal(frames.length, 0, 'not started: nothing')
  output.start()
  clock.advance(80)
  output.wake() // at 130: 80 ms of silence so far, the countdown starts again
  clock.advance(90)
  t.equal(output.sending, true, 'still running 170 ms after start')
  clock.advance(20)
  t.equal(output.sending, false, 'stopped 100 ms after the wake')
  const stoppedAt = frames.at(-1)?.at ?? NaN
  clock.advance(2000)
  const before = frames.length
  output.wake()
  await Promise.resolve()
  t.same(frames.slice(before), [{ at: 2240, loud: false }], 'silence at once, long after the stop')
  clock.advance(50)
  t.ok(frames.slice(before).every(f => !f.loud), 'silence until audio is written')
  output.write(tone(10), 48_000)
  clock.advance(10)
  t.equal(frames.at(-1)?.loud, true, 'audio on the next slot, without waiting')
  t.ok(stoppedAt < 300)
  clock.advance(500)
  t.equal(output.sending, false)
  output.wake() // within the minimum pause: a resume timer
  t.equal(clock.pending, 1)
  output.close()
  t.equal(clock.pending, 0, 'close cancels the pending resume')
  output.wake()
  t.equal(clock.pending, 0)
})

t.test('onFrame taps every frame the sink gets, in its own buffer, silence included, nothing while idle', async t => {
  const clock = new FakeClock(0)
  const sunk: Int16Array[] = []
  const output = new PacedAudioOutput({ clock, idleAfterMs: 30, minPauseMs: 0, onFrame: (samples) => { sunk.push(samples) } })
  const tapped: Array<{ samples: Int16Array, rateHz: number, copy: Int16Array }> = []
  const off = output.onFrame((pcm, rateHz) => { tapped.push({ samples: pcm, rateHz, copy: pcm.slice() }) })
  output.write(tone(20, 48_000, 700), 48_000)
  output.start()
  clock.advance(1000)
  t.equal(sunk.length, 5, 'two frames of audio, three of silence, then idle')
  t.equal(tapped.length, sunk.length, 'one tap per frame sent, none while idle')
  t.ok(tapped.every((f, i) => f.samples === sunk[i] && f.rateHz === 48_000), 'the very buffer handed to the sink, at 48 kHz')
  t.same(tapped.map(f => f.copy[0]), [700, 700, 0, 0, 0], 'the audio as sent, then the silence sent')
  off()
  output.write(tone(10), 48_000)
  clock.advance(100)
  t.equal(tapped.length, 5, 'unsubscribed: no more taps')
  t.ok(sunk.length > 5, 'while the sink still gets frames')
  output.close()
})

t.test('a paused output taps the faded frame and the silence it sends, and a listener may unsubscribe itself', async t => {
  const clock = new FakeClock(0)
  const { output } = recorder(clock)
  const levels: number[] = []
  const off = output.onFrame((pcm) => { levels.push(pcm[0] as number); if (levels.length === 4) off() })
  const other: number[] = []
  output.onFrame((pcm) => { other.push(pcm[FRAME_SAMPLES - 1] as number) })
  output.write(tone(100, 48_000, 1000), 48_000)
  output.start()
  clock.advance(10)
  output.pause()
  clock.advance(30)
  t.same(levels, [1000, 1000, 1000, 0], 'two frames, the faded-out one (full level at its first sample), then the silence sent while paused')
  t.same(other, [1000, 1000, 0, 0, 0], 'the faded frame ends at 0; the other listener goes on')
  output.close()
})

t.test('a sink that throws at a slot closes the output and reports the error; nothing escapes the timer', async t => {
  const clock = new FakeClock(0)
  const errors: unknown[] = []
  let frames = 0
  const output = new PacedAudioOutput({
    clock,
    idleAfterMs: Infinity,
    onFrame: () => { if (++frames === 3) throw new Error('track closed') },
    onError: (err) => { errors.push(err) }
  })
  output.write(tone(100), 48_000)
  output.start()
  t.doesNotThrow(() => { clock.advance(50) })
  t.match(errors, [/track closed/], 'reported once')
  t.equal(frames, 3, 'no frame after the failure')
  t.equal(clock.pending, 0, 'no timer left behind')
  output.write(tone(10), 48_000)
  clock.advance(50)
  t.equal(frames, 3, 'closed: later audio is dropped')
})
