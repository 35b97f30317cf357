import t from 'tap'
import { BackgroundMixer } from '../../../lib/audio/background-mixer.js'
import type { BackgroundSounds } from '../../../lib/audio/background-sounds.js'
import { FRAME_SAMPLES, PacedAudioOutput, type PacedAudioOutputOptions } from '../../../lib/transport/paced-audio-output.js'
import { StreamedMedia } from '../../../lib/transport/streamed-media.js'
import { FakeClock } from '../../helpers/fake-clock.js'

/** A constant level stands for a sound, so that what a frame carries can be read off its samples. */
const level = (value: number, samples = 48_000): Int16Array => new Int16Array(samples).fill(value)
const THINKING = 400
const AMBIENT = 100
const SPEECH = 3000

function setup (sounds: BackgroundSounds, options: Partial<PacedAudioOutputOptions> = {}): { clock: FakeClock, output: PacedAudioOutput, mixer: BackgroundMixer, frames: Int16Array[], buffers: Set<Int16Array> } {
  const clock = new FakeClock(0)
  const frames: Int16Array[] = []
  const buffers = new Set<Int16Array>()
  const output = new PacedAudioOutput({ idleAfterMs: Infinity, ...options, clock, onFrame: (samples) => { buffers.add(samples); frames.push(samples.slice()) } })
  const mixer = new BackgroundMixer(sounds)
  output.setBackground(mixer)
  return { clock, output, mixer, frames, buffers }
}

const first = (frame: Int16Array | undefined): number => frame?.[0] ?? NaN
const last = (frame: Int16Array | undefined): number => frame?.[FRAME_SAMPLES - 1] ?? NaN

t.test('the thinking sound starts after its delay of quiet, stops (faded within one frame) once speech is written, and is never played audio', async t => {
  const { clock, output, mixer, frames, buffers } = setup({ thinking: { pcm: level(THINKING), delayMs: 50, volume: 1 } })
  output.start()
  mixer.think(true)
  clock.advance(100)
  // Frame 0 was emitted by start(), before think().
  t.ok(frames.slice(0, 6).every(f => f.every(s => s === 0)), 'silence for the 50 ms delay')
  t.ok(first(frames[6]) < 5 && last(frames[6]) === THINKING, 'then the sound fades in over one frame, from 50 ms')
  t.ok(frames.slice(7).every(f => f.every(s => s === THINKING)), 'and plays at its level')
  t.equal(output.playedMs, 0, 'the sound is not played audio')
  t.equal(output.playing, false, 'nor queued audio')
  await output.drain()
  const marks: string[] = []
  output.onPlayed(mark => { marks.push(mark) })
  const before = frames.length
  output.write(level(SPEECH, 960), 48_000, 'answer') // 20 ms
  t.equal(mixer.thinking, false, 'speech written: the sound is no longer wanted')
  clock.advance(100)
  const answer = frames.slice(before)
  t.ok(first(answer[0]) > SPEECH + THINKING * 0.99 && last(answer[0]) === SPEECH, 'the sound fades out under the first frame of speech')
  t.ok(answer[1]?.every(s => s === SPEECH), 'the speech plays alone after it')
  t.ok(answer.slice(2).every(f => f.every(s => s === 0)), 'and the sound does not come back')
  t.equal(output.playedMs, 20, 'played audio is the answer only')
  t.same(marks, ['answer'])
  t.equal(buffers.size, 1, 'mixed in the output\'s one frame buffer')
  output.close()
})

t.test('while a tool runs the thinking sound waits for the speech before it, and gives way to speech written meanwhile', async t => {
  const { clock, output, mixer, frames } = setup({ thinking: { pcm: level(THINKING), delayMs: 30, volume: 0.5 } })
  output.write(level(SPEECH, 4800), 48_000) // 100 ms said before the tool
  output.start()
  mixer.think()
  clock.advance(200)
  t.ok(frames.slice(0, 10).every(f => f.every(s => s === SPEECH)), 'the speech plays untouched')
  t.ok(frames.slice(10, 13).every(f => f.every(s => s === 0)), 'then 30 ms of quiet')
  t.ok(first(frames[13]) < 5 && last(frames[13]) === THINKING / 2, 'then the sound fades in, at its volume')
  const before = frames.length
  output.write(level(SPEECH, 480), 48_000) // speech while the tool still runs
  t.equal(mixer.thinking, true, 'still wanted: only speech after the tool ends it')
  clock.advance(100)
  t.ok(first(frames[before]) > SPEECH + THINKING / 2 * 0.99 && last(frames[before]) === SPEECH, 'the sound fades out under the speech\'s first frame')
  t.ok(frames.slice(before + 1, before + 4).every(f => f.every(s => s === 0)), 'quiet for the delay again')
  t.equal(last(frames[before + 4]), THINKING / 2, 'then the sound again')
  mixer.stopThinking()
  const stopped = frames.length
  clock.advance(30)
  t.ok(first(frames[stopped]) > 0 && last(frames[stopped]) === 0, 'stopThinking fades it out over one frame')
  t.ok(frames.slice(stopped + 1).every(f => f.every(s => s === 0)))
  output.close()
})

t.test('clear() (barge-in) stops the thinking sound within the next frame', async t => {
  const { clock, output, mixer, frames } = setup({ thinking: { pcm: level(THINKING), delayMs: 0, volume: 1 } })
  output.start()
  mixer.think()
  clock.advance(50)
  t.equal(last(frames.at(-1)), THINKING, 'playing')
  const at = frames.length
  output.clear()
  clock.advance(50)
  t.equal(mixer.thinking, false)
  t.ok(first(frames[at]) > THINKING * 0.99 && last(frames[at]) === 0, 'the next frame fades it out to nothing')
  t.ok(frames.slice(at + 1).every(f => f.every(s => s === 0)), 'silence after')
  output.close()
})

t.test('pause() silences the thinking sound within the next frame, resume() lets it play again', async t => {
  const { clock, output, mixer, frames } = setup({ thinking: { pcm: level(THINKING), delayMs: 0, volume: 1 } })
  output.start()
  mixer.think()
  clock.advance(50)
  const at = frames.length
  output.pause()
  clock.advance(50)
  t.equal(last(frames[at]), 0, 'faded out in the pause\'s first frame')
  t.ok(frames.slice(at + 1).every(f => f.every(s => s === 0)), 'silent while paused')
  t.equal(mixer.thinking, true, 'still wanted: the turn still waits')
  output.resume()
  clock.advance(50)
  t.equal(last(frames.at(-1)), THINKING, 'back after resume (it was a cough)')
  output.close()
})

t.test('the ambient sound loops under the call, ducks under speech within a frame and comes back over 300 ms', async t => {
  const { clock, output, frames } = setup({ ambient: { pcm: level(AMBIENT, 4800), volume: 1, duckTo: 0.3 } })
  output.start()
  clock.advance(500)
  t.ok(frames.slice(31, 50).every(f => f.every(s => s === AMBIENT)), 'at its level once faded in')
  t.equal(output.playedMs, 0)
  const at = frames.length
  output.write(level(SPEECH, 4800), 48_000)
  clock.advance(1000)
  const speech = frames.slice(at, at + 10)
  t.ok(first(speech[0]) > SPEECH + AMBIENT * 0.9 && last(speech[0]) === SPEECH + 30, 'ducked within the first frame of speech')
  t.ok(speech.slice(1).every(f => f.every(s => s === SPEECH + 30)), 'under the speech at 30 %')
  const after = frames.slice(at + 10)
  t.ok(last(after[0]) > 30 && last(after[0]) < 40, 'then back up slowly')
  t.equal(last(after[29]), AMBIENT, 'in 300 ms')
  t.equal(output.playedMs, 100, 'played audio is the speech only')
  output.close()
})

t.test('an output with an ambient sound never stops for idleness; the thinking sound wakes a stopped one', async t => {
  const ambient = setup({ ambient: { pcm: level(AMBIENT), volume: 1, duckTo: 0.3 } }, { idleAfterMs: 30, minPauseMs: 0 })
  ambient.output.start()
  ambient.clock.advance(1000)
  t.equal(ambient.output.sending, true, 'still sending after 1 s of no speech')
  t.equal(ambient.frames.length, 101)
  ambient.output.close()

  const thinking = setup({ thinking: { pcm: level(THINKING), delayMs: 20, volume: 1 } }, { idleAfterMs: 30, minPauseMs: 0 })
  thinking.output.start()
  thinking.clock.advance(100)
  t.equal(thinking.output.sending, false, 'idle: stopped')
  const stoppedAt = thinking.frames.length
  thinking.mixer.think(true)
  await Promise.resolve()
  thinking.clock.advance(1000)
  t.equal(thinking.output.sending, true, 'woken, and kept running while the sound is wanted')
  t.ok(thinking.frames.length > stoppedAt + 90, 'frames again')
  t.equal(last(thinking.frames.at(-1)), THINKING)
  thinking.mixer.stopThinking()
  thinking.clock.advance(100)
  t.equal(thinking.output.sending, false, 'idle again once the sound is no longer wanted')
  thinking.output.close()
})

t.test('a mixer with no thinking sound ignores think(), and setAmbient turns the ambient sound off and on', async t => {
  const { clock, output, mixer, frames } = setup({ ambient: { pcm: level(AMBIENT), volume: 1, duckTo: 0 } })
  mixer.think()
  t.equal(mixer.thinking, false)
  output.start()
  clock.advance(400)
  mixer.setAmbient(false)
  clock.advance(400)
  t.ok(frames.slice(-10).every(f => f.every(s => s === 0)), 'ambient off: silence')
  mixer.setAmbient(true)
  clock.advance(400)
  t.equal(last(frames.at(-1)), AMBIENT)
  output.setBackground(undefined)
  clock.advance(20)
  t.ok(frames.at(-1)?.every(s => s === 0), 'detached: nothing mixed')
  output.close()
})

t.test('mixing saturates at the 16-bit range instead of wrapping', async t => {
  const { clock, output, frames } = setup({ ambient: { pcm: level(20_000), volume: 1, duckTo: 1 } })
  output.start()
  clock.advance(400)
  output.write(level(30_000, 480), 48_000)
  output.write(level(-30_000, 480), 48_000)
  clock.advance(20)
  t.equal(last(frames.at(-2)), 32767)
  t.equal(last(frames.at(-1)), -10_000)
  output.close()
})

t.test('streamed media (calls, devices) sends the background with no speech, at the far end\'s rate', async t => {
  const clock = new FakeClock(0)
  const packets: number[] = []
  const streamed = new StreamedMedia({ sampleRateHz: 8000, packetMs: 20, markPrefix: 'm', clock, wire: { sendAudio: (samples, count) => { packets.push(samples[count - 1] ?? 0) }, sendMark: () => {}, sendClear: () => {} } })
  const mixer = new BackgroundMixer({ thinking: { pcm: level(THINKING), delayMs: 0, volume: 1 } })
  streamed.setBackground(mixer)
  streamed.start()
  clock.advance(200)
  t.same(packets, [], 'nothing wanted: nothing sent')
  mixer.think()
  await Promise.resolve()
  clock.advance(200)
  t.ok(packets.length >= 9, `the thinking sound is sent (${packets.length} packets)`)
  t.ok(Math.abs((packets.at(-1) ?? 0) - THINKING) < 10, 'at its level')
  streamed.clear()
  clock.advance(100)
  const after = packets.length
  clock.advance(500)
  t.equal(packets.length, after, 'barge-in: it stops, and silence is not sent')
  t.equal(clock.pending, 0, 'no timer once nothing plays')
  streamed.close()
})
