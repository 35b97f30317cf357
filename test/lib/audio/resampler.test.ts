import t from 'tap'
import { downmix } from '../../../lib/audio/downmix.js'
import { PcmBuffer } from '../../../lib/audio/pcm-buffer.js'
import { Resampler, resample } from '../../../lib/audio/resampler.js'
import { tone as sine } from '../../helpers/audio.js'
import { noise } from '../../helpers/speech.js'

const tone = (hz: number, rateHz: number, ms: number, amplitude = 10000): Int16Array => sine(ms, { hz, sampleRateHz: rateHz, amplitude })

/** Amplitude of the `hz` component of `x` (single-bin DFT over a whole number of periods, after `skip`). */
function amplitudeAt (x: Int16Array, hz: number, rateHz: number, skip = 0): number {
  let re = 0
  let im = 0
  const n = x.length - skip
  for (let i = 0; i < n; i++) {
    const phase = 2 * Math.PI * hz * i / rateHz
    re += (x[skip + i] as number) * Math.cos(phase)
    im += (x[skip + i] as number) * Math.sin(phase)
  }
  return 2 * Math.hypot(re, im) / n
}

const db = (ratio: number): number => 20 * Math.log10(ratio)

/** Index of the first sample where `a` and `b` differ, or -1 (t.same is slow on long arrays). */
function firstDifference (a: Int16Array, b: Int16Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  return -1
}

/** Feeds `input` through `resampler` in pieces of `size` samples and joins the output. */
function inPieces (resampler: Resampler, input: Int16Array, size: number): Int16Array {
  const parts: Int16Array[] = []
  for (let offset = 0; offset < input.length; offset += size) parts.push(resampler.process(input.subarray(offset, offset + size)).slice())
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) { out.set(part, at); at += part.length }
  return out
}

t.test('48 kHz to 16 kHz keeps speech-band tones and removes everything above 8 kHz', async t => {
  for (const hz of [200, 1000, 3000, 6000]) {
    const out = resample(tone(hz, 48000, 1000), 48000, 16000)
    t.ok(Math.abs(db(amplitudeAt(out, hz, 16000, 800) / 10000)) < 0.5, `${hz} Hz passes within 0.5 dB`)
  }
  for (const hz of [8200, 9000, 12000, 15000, 20000, 23000]) {
    const out = resample(tone(hz, 48000, 1000), 48000, 16000)
    // Whatever is left lands (aliased) anywhere below 8 kHz: measure all of it.
    let energy = 0
    for (let i = 800; i < out.length; i++) energy += (out[i] as number) ** 2
    const rms = Math.sqrt(energy / (out.length - 800))
    t.ok(db(rms / (10000 / Math.SQRT2)) < -45, `${hz} Hz is attenuated by more than 45 dB (${db(rms / (10000 / Math.SQRT2)).toFixed(1)} dB)`)
  }
})

t.test('upsampling TTS rates to 48 kHz keeps the tone and suppresses its images', async t => {
  for (const [rateHz, hz] of [[16000, 1000], [16000, 5000], [22050, 3000], [24000, 5000]] as const) {
    const out = resample(tone(hz, rateHz, 1000), rateHz, 48000)
    t.ok(Math.abs(db(amplitudeAt(out, hz, 48000, 2400) / 10000)) < 0.5, `${rateHz}: ${hz} Hz passes within 0.5 dB`)
    for (const image of [rateHz - hz, rateHz + hz]) {
      t.ok(db(amplitudeAt(out, image, 48000, 2400) / 10000) < -50, `${rateHz}: image at ${image} Hz is below -50 dB`)
    }
  }
})

t.test('a stream resampled in 10 ms frames equals the same stream resampled in one call', async t => {
  const input = noise(2000, 48000, 8000, 7)
  const whole = new Resampler(48000, 16000).process(input).slice()
  t.equal(firstDifference(inPieces(new Resampler(48000, 16000), input, 480), whole), -1, '10 ms frames')
  t.equal(firstDifference(inPieces(new Resampler(48000, 16000), input, 173), whole), -1, 'odd-sized pieces')
  for (const rateHz of [16000, 22050, 24000]) {
    const tts = noise(1000, rateHz, 8000, 3)
    const once = new Resampler(rateHz, 48000).process(tts).slice()
    t.equal(firstDifference(inPieces(new Resampler(rateHz, 48000), tts, Math.floor(rateHz / 100)), once), -1, `${rateHz} → 48000 in 10 ms frames`)
  }
})

t.test('integer ratios give a fixed number of samples per frame, in a reused buffer', async t => {
  const down = new Resampler(48000, 16000)
  const first = down.process(tone(1000, 48000, 10))
  const second = down.process(tone(1000, 48000, 10))
  t.equal(first.length, 160)
  t.equal(second.length, 160)
  t.equal(first.buffer, second.buffer, 'the output buffer is reused')
  const up = new Resampler(24000, 48000)
  t.same([up.process(new Int16Array(240)).length, up.process(new Int16Array(240)).length], [480, 480])
  t.ok(down.delayMs > 0 && down.delayMs < 2, 'the filter delays the stream by less than 2 ms')
})

t.test('resample() removes the filter delay so its output lines up with its input', async t => {
  const input = tone(500, 48000, 200)
  const out = resample(input, 48000, 16000)
  t.equal(out.length, 3200)
  const expected = tone(500, 16000, 200)
  let maxError = 0
  for (let i = 200; i < 3000; i++) maxError = Math.max(maxError, Math.abs((out[i] as number) - (expected[i] as number)))
  t.ok(maxError < 100, `within 1% of the ideal tone (max error ${maxError})`)
  t.not(resample(input, 48000, 48000), input, 'equal rates return a copy')
})

t.test('a rate outside 1-384 kHz is rejected', async t => {
  t.throws(() => new Resampler(0, 16000), { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' })
  t.throws(() => new Resampler(48000, 44100.5), { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' })
})

t.test('downmix averages channels and returns mono input unchanged', async t => {
  const out = new Int16Array(4)
  const mono = Int16Array.of(1, 2, 3)
  t.equal(downmix(mono, 1, out), mono)
  t.same(downmix(Int16Array.of(100, 300, -32768, -32768, 32767, 32767), 2, out), Int16Array.of(200, -32768, 32767))
  t.same(downmix(Int16Array.of(3, 6, 9, 0, 0, 3), 3, out), Int16Array.of(6, 1))
})

t.test('a PCM buffer keeps earlier views intact when it grows', async t => {
  const buffer = new PcmBuffer(4)
  buffer.append(Int16Array.of(1, 2, 3))
  const view = buffer.view()
  buffer.append(new Int16Array(100).fill(9))
  t.same(view, Int16Array.of(1, 2, 3))
  t.equal(buffer.length, 103)
  buffer.discard(102)
  t.same(buffer.view(), Int16Array.of(9))
})
