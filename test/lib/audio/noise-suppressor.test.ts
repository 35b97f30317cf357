import t from 'tap'
import type { AudioFrame } from '../../../lib/audio/audio-frame.js'
import { resolveNoiseSuppression } from '../../../lib/audio/noise-suppression-options.js'
import { loadRnnoise, NoiseSuppressor, Rnnoise, RNNOISE_DELAY_MS, RNNOISE_FRAME_SAMPLES } from '../../../lib/audio/noise-suppressor.js'
import { resolveOptions } from '../../../lib/config/options.js'
import { noiseFixture, rms } from '../../helpers/noise-fixtures.js'
import { concat, frames10ms, noise, synthesizeSpeech } from '../../helpers/speech.js'

/** Runs `frames` through `suppressor` and returns everything it emitted, joined. */
function denoise (suppressor: NoiseSuppressor, frames: Iterable<AudioFrame>): { samples: Int16Array, emitted: AudioFrame[] } {
  const out: Int16Array[] = []
  const emitted: AudioFrame[] = []
  for (const frame of frames) {
    suppressor.process(frame, (f) => {
      emitted.push(f)
      out.push(f.samples.slice())
    })
  }
  return { samples: concat(...out), emitted }
}

t.test('the RNNoise module loads once per process', async t => {
  const [a, b] = await Promise.all([loadRnnoise(), loadRnnoise()])
  t.equal(a, b)
  t.equal(await loadRnnoise(), a)
})

t.test('a 48 kHz frame comes out as one denoised frame: noise removed, speech kept, 10 ms later', async t => {
  const rnnoise = await loadRnnoise()
  const suppressor = new NoiseSuppressor(rnnoise)
  t.teardown(() => { suppressor.destroy() })
  const fan = await noiseFixture('fan', 3, -25)
  const { samples: quiet, emitted } = denoise(suppressor, frames10ms(fan, 48_000))
  t.equal(emitted.length, 300, 'one frame out per frame in')
  t.ok(emitted.every(f => f === emitted[0] && f.sampleRateHz === 48_000 && f.channels === 1 && f.samplesPerChannel === RNNOISE_FRAME_SAMPLES), 'one reused 48 kHz mono frame object')
  t.equal(suppressor.frames, 300)
  const residual = rms(quiet.subarray(48_000))
  t.ok(residual < rms(fan) / 100, `fan noise is at least 40 dB down after the first second (RMS ${Math.round(rms(fan))} → ${Math.round(residual)})`)

  const speech = await synthesizeSpeech('The quick brown fox jumps over the lazy dog.', 48_000)
  const fresh = new NoiseSuppressor(rnnoise)
  t.teardown(() => { fresh.destroy() })
  const { samples: kept } = denoise(fresh, frames10ms(speech, 48_000))
  const lag = RNNOISE_DELAY_MS * 48
  let dot = 0
  let inEnergy = 0
  let outEnergy = 0
  for (let i = 0; i + lag < kept.length; i++) {
    dot += (speech[i] as number) * (kept[i + lag] as number)
    inEnergy += (speech[i] as number) ** 2
    outEnergy += (kept[i + lag] as number) ** 2
  }
  const correlation = dot / Math.sqrt(inEnergy * outEnergy)
  t.ok(correlation > 0.8, `clean speech comes out ${RNNOISE_DELAY_MS} ms later, nearly unchanged (correlation ${correlation.toFixed(2)})`)
  t.ok(fresh.voiceProbability >= 0 && fresh.voiceProbability <= 1)
})

t.test('frames of other sizes, stereo, and 16 kHz with upsample are cut into 480-sample 48 kHz frames', async t => {
  const rnnoise = await loadRnnoise()
  const speech = await synthesizeSpeech('Hello there.', 48_000)
  const reference = new NoiseSuppressor(rnnoise)
  const aligned = denoise(reference, frames10ms(speech, 48_000)).samples
  reference.destroy()

  // 256-sample stereo frames: downmixed, buffered, same output as aligned mono frames.
  const odd = new NoiseSuppressor(rnnoise)
  const stereoFrames: AudioFrame[] = []
  for (let offset = 0; offset + 256 <= speech.length; offset += 256) {
    const stereo = new Int16Array(512)
    for (let i = 0; i < 256; i++) stereo[2 * i] = stereo[2 * i + 1] = speech[offset + i] as number
    stereoFrames.push({ samples: stereo, sampleRateHz: 48_000, channels: 2, samplesPerChannel: 256 })
  }
  const { samples: fromOdd, emitted } = denoise(odd, stereoFrames)
  odd.destroy()
  t.equal(fromOdd.length, Math.floor(stereoFrames.length * 256 / 480) * 480, 'every complete 480 samples came out')
  t.ok(emitted.every(f => f.samplesPerChannel === 480 && f.channels === 1))
  t.same(fromOdd, aligned.subarray(0, fromOdd.length), 'the same audio as from aligned mono frames')

  // A half frame, then aligned ones: buffered audio goes out first, in order.
  const mixed = new NoiseSuppressor(rnnoise)
  const mixedFrames: AudioFrame[] = [{ samples: speech.subarray(0, 240), sampleRateHz: 48_000, channels: 1, samplesPerChannel: 240 }]
  for (let offset = 240; offset + 480 <= speech.length; offset += 480) mixedFrames.push({ samples: speech.subarray(offset, offset + 480), sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 })
  const fromMixed = denoise(mixed, mixedFrames).samples
  mixed.destroy()
  t.same(fromMixed, aligned.subarray(0, fromMixed.length), 'frames of mixed sizes: the same audio')

  const at16k = new Int16Array(speech.length / 3).map((_, i) => speech[i * 3] as number)
  const passthrough = new NoiseSuppressor(rnnoise)
  const frame = { samples: at16k.subarray(0, 160), sampleRateHz: 16_000, channels: 1, samplesPerChannel: 160 }
  let got: AudioFrame | undefined
  passthrough.process(frame, (f) => { got = f })
  t.equal(got, frame, 'without upsample, 16 kHz audio passes through as it is')
  t.equal(passthrough.frames, 0)
  passthrough.destroy()

  const upsampling = new NoiseSuppressor(rnnoise, { upsample: true })
  const { emitted: up } = denoise(upsampling, frames10ms(at16k, 16_000))
  upsampling.destroy()
  t.equal(up.length, Math.floor(at16k.length / 160), 'with upsample: one 48 kHz frame per 10 ms')
  t.ok(up.every(f => f.sampleRateHz === 48_000 && f.samplesPerChannel === 480))

  const bad = new NoiseSuppressor(rnnoise)
  t.teardown(() => { bad.destroy() })
  t.throws(() => { bad.process({ samples: new Int16Array(100), sampleRateHz: 48_000, channels: 2, samplesPerChannel: 480 }, () => {}) }, { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' })
})

t.test('each stream has its own state: interleaving two streams changes neither', async t => {
  const rnnoise = await loadRnnoise()
  const a = concat(await synthesizeSpeech('One two three four.', 48_000), noise(500, 48_000, 2000, 3))
  const b = noise(a.length * 1000 / 48_000, 48_000, 4000, 9)
  const alone = new NoiseSuppressor(rnnoise)
  const expected = denoise(alone, frames10ms(a, 48_000)).samples
  alone.destroy()
  const first = new NoiseSuppressor(rnnoise)
  const second = new NoiseSuppressor(rnnoise)
  const outA: Int16Array[] = []
  const framesB = [...frames10ms(b, 48_000)]
  let i = 0
  for (const frame of frames10ms(a, 48_000)) {
    first.process(frame, (f) => { outA.push(f.samples.slice()) })
    const other = framesB[i++]
    if (other !== undefined) second.process(other, () => {})
  }
  first.destroy()
  second.destroy()
  t.same(concat(...outA), expected)
})

t.test('destroy frees the state and buffers: no growth over many sessions, nothing emitted after', async t => {
  const rnnoise = await loadRnnoise()
  const before = rnnoise.liveStates
  const suppressor = new NoiseSuppressor(rnnoise)
  t.equal(rnnoise.liveStates, before + 1)
  t.ok(suppressor.active)
  suppressor.destroy()
  suppressor.destroy()
  t.equal(rnnoise.liveStates, before, 'destroy is idempotent')
  t.notOk(suppressor.active)
  let emitted = 0
  suppressor.process({ samples: new Int16Array(480), sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 }, () => { emitted++ })
  t.equal(emitted, 0)

  // 18.5 KB of state per session: 3000 leaked ones would grow the heap by ~55 MB.
  const heapBytes = rnnoise.module.HEAPF32.length * 4
  const frame = { samples: noise(10, 48_000), sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 }
  for (let i = 0; i < 3000; i++) {
    const s = new NoiseSuppressor(rnnoise)
    s.process(frame, () => {})
    s.destroy()
  }
  t.equal(rnnoise.module.HEAPF32.length * 4, heapBytes, 'the WebAssembly heap did not grow')
  t.equal(rnnoise.liveStates, before)
})

t.test('the noiseSuppression option: boolean, object, env, or refused with what was expected', async t => {
  t.equal(resolveNoiseSuppression(undefined, undefined), false, 'off by default')
  t.same(resolveNoiseSuppression(true, undefined), { upsample: false })
  t.same(resolveNoiseSuppression({ upsample: true }, undefined), { upsample: true })
  t.same(resolveNoiseSuppression({}, undefined), { upsample: false })
  t.same(resolveNoiseSuppression(undefined, true), { upsample: false }, 'env NOISE_SUPPRESSION')
  t.equal(resolveNoiseSuppression(false, true), false, 'the option wins over the env')
  t.throws(() => resolveNoiseSuppression('yes', undefined), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"noiseSuppression": expected a boolean, or \{ upsample\?: boolean \}, instead got "yes"/ })
  t.throws(() => resolveNoiseSuppression({ upsample: 1 }, undefined), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"noiseSuppression.upsample": expected a boolean, instead got 1/ })
  t.same(resolveOptions({ noiseSuppression: { upsample: true } }, {}).noiseSuppression, { upsample: true })
  t.same(resolveOptions({}, { NOISE_SUPPRESSION: true }).noiseSuppression, { upsample: false })
  t.throws(() => resolveOptions({ noiseSuppression: { upsampel: true } as never }, {}), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /"noiseSuppression.upsampel": did you mean "noiseSuppression.upsample"/ })
})

t.test('a module that does not load, or a state that cannot be allocated, is LLMRTC_ERR_AUDIO_PROCESSING', async t => {
  const broken = await t.mockImport<typeof import('../../../lib/audio/noise-suppressor.js')>('../../../lib/audio/noise-suppressor.js', {
    '@echogarden/rnnoise-wasm': { default: async () => { throw new Error('no WebAssembly here') } }
  })
  await t.rejects(broken.loadRnnoise(), { code: 'LLMRTC_ERR_AUDIO_PROCESSING', message: /did not load: no WebAssembly here/ })

  const freed: number[] = []
  const full = new Rnnoise({
    HEAPF32: new Float32Array(0),
    _malloc: () => 64,
    _free: (pointer) => { freed.push(pointer) },
    _rnnoise_create: () => 0,
    _rnnoise_destroy: () => {},
    _rnnoise_get_frame_size: () => 480,
    _rnnoise_process_frame: () => 0
  })
  t.throws(() => new NoiseSuppressor(full), { code: 'LLMRTC_ERR_AUDIO_PROCESSING', message: /could not allocate/ })
  t.same(freed, [64, 64], 'the buffers that were allocated are freed')
  t.equal(full.liveStates, 0)
})
