import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { LLMRTCOptions } from '../../lib/config/options.js'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcVad from '../../plugins/vad/index.js'

/** A fresh app with the config and VAD plugins, closed at teardown (not yet ready). */
async function buildApp (t: Test, config: LLMRTCOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close() })
  await app.register(llmrtcConfig, config)
  await app.register(llmrtcVad)
  return app
}

t.test('off by default: no denoiser, no RNNoise module', async t => {
  const app = await buildApp(t, { env: false })
  await app.ready()
  t.equal(app.llmrtcConfig.noiseSuppression, false)
  t.equal(app.llmrtcVad.createNoiseSuppressor(new AbortController().signal), undefined)
  t.equal(app.llmrtcVad.rnnoise, undefined)
})

t.test('on: one denoiser per stream after ready, destroyed when its signal aborts or the app closes', async t => {
  const app = await buildApp(t, { env: false, noiseSuppression: true })
  t.throws(() => app.llmrtcVad.createNoiseSuppressor(new AbortController().signal), { code: 'LLMRTC_ERR_VAD', message: /ready/ })
  await app.ready()
  const rnnoise = app.llmrtcVad.rnnoise
  if (rnnoise === undefined) throw new Error('RNNoise did not load')
  const first = new AbortController()
  const a = app.llmrtcVad.createNoiseSuppressor(first.signal)
  const b = app.llmrtcVad.createNoiseSuppressor(new AbortController().signal)
  t.ok(a?.active === true && b?.active === true && a !== b, 'a state per stream')
  t.equal(rnnoise.liveStates, 2)
  first.abort()
  t.notOk(a?.active, 'the stream\'s signal aborted: its state is freed')
  t.equal(rnnoise.liveStates, 1)
  const aborted = new AbortController()
  aborted.abort()
  t.notOk(app.llmrtcVad.createNoiseSuppressor(aborted.signal)?.active, 'an already aborted stream gets a destroyed one')
  await app.close()
  t.notOk(b?.active, 'the app closed: every state is freed')
  t.equal(rnnoise.liveStates, 0)
  t.throws(() => app.llmrtcVad.createNoiseSuppressor(new AbortController().signal), { code: 'LLMRTC_ERR_VAD' })
})

t.test('env NOISE_SUPPRESSION turns it on, with upsample off', async t => {
  const app = await buildApp(t, { env: { NOISE_SUPPRESSION: 'true' } })
  await app.ready()
  t.same(app.llmrtcConfig.noiseSuppression, { upsample: false })
  t.ok(app.llmrtcVad.rnnoise !== undefined)
})

t.test('a bad noiseSuppression option fails ready() with what was expected', async t => {
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close() })
  app.register(llmrtcConfig, { env: false, noiseSuppression: 'on' as unknown as boolean })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"noiseSuppression": expected a boolean, or \{ upsample\?: boolean \}, instead got "on"/ })
})
