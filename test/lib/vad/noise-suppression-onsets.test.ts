import t from 'tap'
import { loadRnnoise } from '../../../lib/audio/noise-suppressor.js'
import { SileroVad } from '../../../lib/vad/silero-vad.js'
import { atLevel, detectSpeech, noiseFixture } from '../../helpers/noise-fixtures.js'
import { concat, silence, synthesizeSpeech } from '../../helpers/speech.js'

// The real Silero model behind the real RNNoise, on fixtures made with fixed seeds (sox -R, a seeded
// generator): the same samples and the same events every run. bench/noise-suppression.ts has the full table.

const RATE = 48_000

t.test('on key clicks alone, RNNoise before the VAD leaves fewer false onsets than the VAD alone', async t => {
  const vad = await SileroVad.acquire()
  t.teardown(async () => { await vad.close() })
  const rnnoise = await loadRnnoise()
  let without = 0
  let withSuppression = 0
  for (const dbfs of [-20, -15]) {
    const clicks = (await noiseFixture('keyboard', 60, dbfs)).subarray(0, 12 * RATE)
    const off = await detectSpeech(vad, undefined, clicks)
    const on = await detectSpeech(vad, rnnoise, clicks)
    t.comment(`keyboard at ${dbfs} dBFS: ${off.onsets.length} onsets without, ${on.onsets.length} with`)
    without += off.onsets.length
    withSuppression += on.onsets.length
    t.same(on.utterances, [], 'nothing is taken for an utterance')
  }
  t.ok(without >= 2, `the fixture does fool the VAD alone (${without} onsets)`)
  t.ok(withSuppression <= without / 2, `at least 50 % fewer onsets with RNNoise (${without} → ${withSuppression})`)
  t.equal(rnnoise.liveStates, 0, 'every denoise state was freed')
})

t.test('in loud fan noise, the end of speech comes sooner after the last word with RNNoise, and every phrase is heard', async t => {
  const vad = await SileroVad.acquire()
  t.teardown(async () => { await vad.close() })
  const rnnoise = await loadRnnoise()
  const phrases = await Promise.all(['Book a table for four people at seven thirty.', 'Please cancel the appointment I made for Friday.'].map(async p => atLevel(await synthesizeSpeech(p, RATE), -20)))
  const gap = silence(2000, RATE)
  const speech = concat(gap, phrases[0] as Int16Array, gap, phrases[1] as Int16Array, gap)
  const ends = [gap.length + (phrases[0] as Int16Array).length, 2 * gap.length + (phrases[0] as Int16Array).length + (phrases[1] as Int16Array).length].map(n => n / 48)
  const fan = await noiseFixture('fan', 60, -15)
  const noisy = speech.map((s, i) => Math.max(-32768, Math.min(32767, s + (fan[i] as number))))
  const off = await detectSpeech(vad, undefined, noisy)
  const on = await detectSpeech(vad, rnnoise, noisy)
  t.equal(off.utterances.length, 2, 'the VAD alone hears both phrases')
  t.equal(on.utterances.length, 2, 'so does it behind RNNoise')
  const lag = (u: Array<{ endMs: number }>): number => u.reduce((sum, x, i) => sum + x.endMs - (ends[i] as number), 0) / u.length
  t.comment(`end of speech after the last word: ${Math.round(lag(off.utterances))} ms without, ${Math.round(lag(on.utterances))} ms with`)
  t.ok(lag(on.utterances) < lag(off.utterances) - 100, 'at least 100 ms sooner on average')
})
