import t from 'tap'
import { Resampler } from '../../../lib/audio/resampler.js'
import { createSimdFir } from '../../../lib/audio/simd-fir.js'
import { noise } from '../../helpers/speech.js'

t.test('SIMD resampling matches the JavaScript loop to one step of int16, on speech-like noise and at full scale', async t => {
  for (const [rateHz, outHz] of [[48000, 16000], [48000, 8000], [32000, 16000], [24000, 48000], [16000, 48000], [8000, 16000]] as const) {
    for (const amplitude of [300, 8000, 32767]) {
      const input = noise(1500, rateHz, amplitude, 11)
      const frame = rateHz / 100
      const simd = new Resampler(rateHz, outHz)
      const plain = new Resampler(rateHz, outHz, { simd: false })
      t.same([simd.simd, plain.simd], [true, false], `${rateHz} → ${outHz} runs in SIMD unless told not to`)
      let compared = 0
      let maxDifference = 0
      let differing = 0
      let lengthsDiffer = 0
      for (let at = 0; at < input.length; at += frame) {
        const piece = input.subarray(at, at + frame)
        const a = simd.process(piece).slice()
        const b = plain.process(piece)
        if (a.length !== b.length) lengthsDiffer++
        for (let i = 0; i < a.length; i++) {
          const difference = Math.abs((a[i] as number) - (b[i] as number))
          maxDifference = Math.max(maxDifference, difference)
          if (difference !== 0) differing++
          compared++
        }
      }
      t.equal(lengthsDiffer, 0, 'every frame gives as many samples either way')
      t.ok(compared >= (outHz / 100) * 148, `${rateHz} → ${outHz}, amplitude ${amplitude}: ${compared} samples compared`)
      t.ok(maxDifference <= 1, `at most one step apart (max ${maxDifference})`)
      t.ok(differing <= compared / 100, `rarely apart (${differing} of ${compared})`)
    }
  }
})

t.test('the SIMD FIR computes each output from the taps it is given, whatever their count and the block size', async t => {
  // 13 taps (padded to 16 inside), stride 2, more outputs than one block of the kernel (1024).
  const coefficients = Float64Array.from({ length: 13 }, (_, k) => (k + 1) / 64)
  const fir = createSimdFir(coefficients, 2)
  if (fir === undefined) {
    t.fail('WebAssembly SIMD is available on every Node version llmrtc supports')
    return
  }
  const outputs = 2500
  const history = Float64Array.from({ length: 13 + 2 * outputs + 16 }, (_, i) => ((i * 7919) % 2001) - 1000)
  const output = new Int16Array(outputs)
  fir.run(history, 3, outputs, output)
  let wrong = 0
  for (let o = 0; o < outputs; o++) {
    let acc = 0
    for (let k = 0; k < 13; k++) acc += (coefficients[k] as number) * (history[3 + 2 * o + k] as number)
    if (Math.abs(Math.round(acc) - (output[o] as number)) > 1) wrong++
  }
  t.equal(wrong, 0, 'every output is the dot product of its 13 taps')
  const loud = new Float64Array(history.length).fill(32767)
  fir.run(loud, 0, 10, output)
  t.same([...output.subarray(0, 10)], new Array(10).fill(32767), 'outputs beyond int16 are clamped')
  loud.fill(-32768)
  fir.run(loud, 0, 10, output)
  t.same([...output.subarray(0, 10)], new Array(10).fill(-32768), 'and below it too')
})

t.test('conversions with many phases keep the JavaScript loop', async t => {
  t.equal(new Resampler(22050, 48000).simd, false, '22.05 k → 48 k has 320 phases')
  t.equal(new Resampler(44100, 16000).simd, false, '44.1 k → 16 k has 160')
})
