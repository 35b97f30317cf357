import t from 'tap'
import { LoudnessOnset } from '../../../lib/vad/loudness-onset.js'
import { concat, frames10ms, mix, noise, silence, synthesizeSpeech } from '../../helpers/speech.js'

/** Indexes of the 10 ms frames (16 kHz) that are onsets. */
function onsets (samples: Int16Array, detector = new LoudnessOnset()): number[] {
  const out: number[] = []
  let i = 0
  for (const frame of frames10ms(samples, 16000)) {
    if (detector.push(frame.samples)) out.push(i)
    i++
  }
  return out
}

// White noise of peak A has an RMS of A/√3: 3000 → -25 dBFS, 1000 → -35, 200 → -49.
t.test('a burst after silence is an onset on its first frame, once per loud stretch', async t => {
  t.same(onsets(concat(silence(500), noise(300, 16000, 3000), silence(200), noise(100, 16000, 3000, 2))), [50, 100])
})

t.test('sounds quieter than -45 dBFS never are', async t => {
  t.same(onsets(concat(silence(500), noise(300, 16000, 200), silence(200), noise(300, 16000, 250, 3))), [])
})

t.test('a steady noise becomes the background within a second: only a sound 12 dB over it is an onset', async t => {
  const room = noise(4000, 16000, 1000, 4)
  const louder = concat(silence(2000), noise(300, 16000, 2500, 5), silence(700), noise(300, 16000, 6000, 6))
  // The first frame has no background to rise over; 2.5× (8 dB) louder at 2 s is not an onset; 6× (16 dB) at 3 s is.
  t.same(onsets(mix(room, louder)), [300])
})

t.test('a spoken phrase over a quiet room starts with an onset at its first syllable, before the VAD could tell', async t => {
  const phrase = await synthesizeSpeech('Wait, stop please.', 16000)
  let first = 0
  while (Math.abs(phrase[first] as number) < 300) first++
  const found = onsets(mix(noise(1000 + phrase.length / 16, 16000, 100, 7), concat(silence(1000), phrase)))
  t.ok(found.length >= 1, `onsets at ${found.join(', ')}`)
  const firstSoundFrame = Math.floor((16000 + first) / 160)
  t.ok((found[0] ?? 0) >= firstSoundFrame - 1 && (found[0] ?? 0) <= firstSoundFrame + 3, `the first onset (frame ${found[0]}) comes within 30 ms of the first sound (frame ${firstSoundFrame})`)
})

t.test('an empty frame changes nothing', async t => {
  const detector = new LoudnessOnset()
  t.equal(detector.push(new Int16Array(0)), false)
  t.same(onsets(concat(silence(100), noise(100, 16000, 3000)), detector), [10])
})

t.test('quietSamples counts the samples since the last loud frame', async t => {
  const detector = new LoudnessOnset()
  onsets(silence(500), detector)
  t.equal(detector.quietSamples, 8000, 'never loud yet')
  onsets(noise(100, 16000, 3000), detector)
  t.equal(detector.quietSamples, 0, 'loud now')
  onsets(silence(30), detector)
  t.equal(detector.quietSamples, 480, '30 ms after the sound')
})
