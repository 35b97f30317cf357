import t from 'tap'
import { StereoRecorder } from '../../lib/recording/stereo-recorder.js'
import { FakeClock } from '../helpers/fake-clock.js'

const RATE = 16_000

/** A recorder on a fake clock whose output is collected as two channels. */
function harness (options: { bufferMs?: number } = {}): { clock: FakeClock, recorder: StereoRecorder, left: () => Int16Array, right: () => Int16Array, writes: number[] } {
  const clock = new FakeClock()
  const chunks: Buffer[] = []
  const writes: number[] = []
  const recorder = new StereoRecorder({ sampleRateHz: RATE, clock, write: (pcm) => { chunks.push(pcm); writes.push(pcm.length) }, ...options })
  const channel = (side: 0 | 1) => (): Int16Array => {
    const all = Buffer.concat(chunks)
    const out = new Int16Array(all.length / 4)
    for (let i = 0; i < out.length; i++) out[i] = all.readInt16LE(i * 4 + side * 2)
    return out
  }
  return { clock, recorder, left: channel(0), right: channel(1), writes }
}

function frame (value: number, samples: number): Int16Array {
  return new Int16Array(samples).fill(value)
}

/** Indexes of the first and last non-silent 10 ms block, in ms. */
function soundSpan (pcm: Int16Array): [number, number] | undefined {
  const block = RATE / 100
  let first: number | undefined
  let last: number | undefined
  for (let b = 0; b * block < pcm.length; b++) {
    let energy = 0
    for (let i = b * block; i < Math.min(pcm.length, (b + 1) * block); i++) energy += Math.abs(pcm[i] as number)
    if (energy / block > 100) {
      first ??= b * 10
      last = b * 10
    }
  }
  return first === undefined || last === undefined ? undefined : [first, last]
}

t.test('each side lands on the clock where it happened: user left, assistant right', async t => {
  const { clock, recorder, left, right } = harness()
  // The user speaks from 200 to 700 ms (16 kHz frames); the assistant answers from 1000 to 1500 ms (48 kHz).
  clock.advance(200)
  for (let ms = 200; ms < 700; ms += 10) { recorder.push('user', frame(3000, 160), RATE); clock.advance(10) }
  clock.advance(300)
  for (let ms = 1000; ms < 1500; ms += 10) { recorder.push('assistant', frame(3000, 480), 48_000); clock.advance(10) }
  clock.advance(500)
  recorder.close()
  t.equal(left().length, right().length, 'both channels have the same length')
  t.equal(left().length, 2000 * RATE / 1000, 'the recording lasts as long as the clock ran')
  const user = soundSpan(left())
  const assistant = soundSpan(right())
  t.same(user, [200, 690], 'the user\'s side holds the speech at 200-700 ms')
  t.ok(assistant !== undefined && Math.abs(assistant[0] - 1000) <= 10 && Math.abs(assistant[1] - 1490) <= 10, `the assistant's side holds the answer at 1000-1500 ms (got ${String(assistant)})`)
  t.equal(soundSpan(left().subarray(RATE)), undefined, 'nothing of the assistant leaks into the left channel')
  t.equal(soundSpan(right().subarray(0, RATE * 0.9)), undefined, 'nothing of the user leaks into the right channel')
})

t.test('frames that arrive in bursts (jitter) stay gapless and in place', async t => {
  const { clock, recorder, left } = harness()
  // 500 ms of audio delivered as bursts of five 10 ms frames every 50 ms, from 300 ms on.
  clock.advance(300)
  for (let burst = 0; burst < 10; burst++) {
    for (let i = 0; i < 5; i++) recorder.push('user', frame(2000, 160), RATE)
    clock.advance(50)
  }
  recorder.close()
  const pcm = left()
  const start = pcm.findIndex(v => v !== 0)
  const samples = pcm.subarray(start, start + RATE / 2)
  t.equal(start, 300 * RATE / 1000, 'the audio starts where its first frame arrived')
  t.ok(samples.every(v => v === 2000), 'the 500 ms are continuous, without gaps')
})

t.test('a source that stops and resumes restarts at the clock\'s position (silence between)', async t => {
  const { clock, recorder, right } = harness()
  for (let i = 0; i < 10; i++) { recorder.push('assistant', frame(1000, 160), RATE); clock.advance(10) }
  // The output goes idle for 3 s (it sends nothing), then speaks again.
  clock.advance(3000)
  for (let i = 0; i < 10; i++) { recorder.push('assistant', frame(1000, 160), RATE); clock.advance(10) }
  recorder.close()
  const pcm = right()
  t.equal(pcm[0], 1000)
  t.equal(pcm[RATE * 0.1 + 10], 0, 'silence while the output was idle')
  t.equal(pcm[RATE * 3.1 + 10], 1000, 'the second answer at 3.1 s')
})

t.test('memory stays bounded whatever the call\'s length: two rings, written out as the clock goes', async t => {
  const { clock, recorder, writes } = harness()
  // Five minutes of both sides.
  for (let ms = 0; ms < 300_000; ms += 10) {
    recorder.push('user', frame(100, 160), RATE)
    recorder.push('assistant', frame(100, 160), RATE)
    clock.advance(10)
  }
  t.ok(recorder.heldBytes <= 256 * 1024, `the recorder holds ${recorder.heldBytes} bytes`)
  t.ok(Math.max(...writes) <= recorder.heldBytes, 'no write is larger than a ring')
  t.ok(recorder.writtenMs > 299_000, 'the mix is written out behind the clock, not held')
  recorder.close()
  t.equal(clock.pending, 0, 'close() clears its timer')
})

t.test('a source faster than real time is written out early rather than held past the ring', async t => {
  const { recorder, left } = harness({ bufferMs: 500 })
  // 3 s of audio at once, with the clock standing still.
  for (let i = 0; i < 300; i++) recorder.push('user', frame(500, 160), RATE)
  t.ok(recorder.writtenMs >= 2500, 'what did not fit in the ring was written out')
  recorder.close()
  t.equal(left().filter(v => v === 500).length, 3 * RATE, 'no sample was lost')
})
