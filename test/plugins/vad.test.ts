import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { SpeechEvent } from '../../lib/vad/speech-events.js'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcVad, { type LLMRTCVadOptions } from '../../plugins/vad/index.js'
import { concat, frames10ms, silence, synthesizeSpeech } from '../helpers/speech.js'

/** A fresh app with the config and VAD plugins, closed at teardown (not yet ready). */
async function buildApp (t: Test, options: LLMRTCVadOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close() })
  await app.register(llmrtcConfig, { env: false })
  await app.register(llmrtcVad, options)
  return app
}

t.test('detectors created after ready find speech in a 48 kHz stream', async t => {
  const app = await buildApp(t)
  t.throws(() => app.llmrtcVad.createDetector({ onEvent: () => {}, onError: () => {} }), { code: 'LLMRTC_ERR_VAD', message: /ready/ })
  await app.ready()
  const events: SpeechEvent[] = []
  const detector = app.llmrtcVad.createDetector({ onEvent: e => events.push(e), onError: t.error })
  const phrase = await synthesizeSpeech('Good morning, what is on my calendar?', 48000)
  for (const frame of frames10ms(concat(silence(500, 48000), phrase, silence(1000, 48000)), 48000)) detector.push(frame)
  await detector.flush()
  t.same(events.filter(e => e.type === 'speech-start' || e.type === 'speech-end' || e.type === 'speech-cancelled').map(e => e.type), ['speech-start', 'speech-end'])
})

t.test('server options set the defaults and session options override them', async t => {
  const app = await buildApp(t, { endOfSpeechSilenceMs: 800, minSpeechMs: 100 })
  await app.ready()
  t.equal(app.llmrtcVad.options.endOfSpeechSilenceMs, 800)
  t.equal(app.llmrtcVad.options.activationThreshold, 0.5, 'unset options keep the defaults')
  t.throws(() => app.llmrtcVad.createDetector({ onEvent: () => {}, onError: () => {}, preSpeechPadMs: -1 }), {
    code: 'LLMRTC_ERR_OPTIONS_INVALID',
    message: 'Invalid llmrtc option "vad.preSpeechPadMs": expected an integer number of milliseconds from 0 to 5000, instead got -1'
  })
})

t.test('a bad server option fails ready() with what was expected', async t => {
  for (const [options, message] of [
    [{ deactivationThreshold: 0.9 }, /"vad.deactivationThreshold": expected a number <= activationThreshold \(0.5\), instead got 0.9/],
    [{ modelPath: '' }, /"vad.modelPath": expected a path to an ONNX file, instead got ""/]
  ] as const) {
    const app = Fastify({ logger: false })
    t.teardown(async () => { await app.close() })
    await app.register(llmrtcConfig, { env: false })
    app.register(llmrtcVad, options as LLMRTCVadOptions)
    await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message })
  }
  const unknown = Fastify({ logger: false })
  t.teardown(async () => { await unknown.close() })
  await unknown.register(llmrtcConfig, { env: false })
  unknown.register(llmrtcVad, { minSpeechMS: 100 } as LLMRTCVadOptions)
  await t.rejects(async () => { await unknown.ready() }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /^Unknown llmrtc option "vad.minSpeechMS": did you mean "vad.minSpeechMs"\?/ })
  const missing = Fastify({ logger: false })
  t.teardown(async () => { await missing.close() })
  await missing.register(llmrtcConfig, { env: false })
  missing.register(llmrtcVad, { modelPath: '/nonexistent/vad.onnx' })
  await t.rejects(async () => { await missing.ready() }, { code: 'LLMRTC_ERR_VAD', message: /cannot load the model/ })
})

t.test('closing the server closes its detectors quietly, and another server keeps the shared model', async t => {
  const a = await buildApp(t)
  const b = await buildApp(t)
  await Promise.all([a.ready(), b.ready()])
  const errors: Error[] = []
  const events: SpeechEvent[] = []
  const detector = a.llmrtcVad.createDetector({ onEvent: e => events.push(e), onError: e => errors.push(e) })
  const onB = b.llmrtcVad.createDetector({ onEvent: e => events.push(e), onError: e => errors.push(e) })
  const phrase = await synthesizeSpeech('Good morning, what is on my calendar?', 48000)
  for (const frame of frames10ms(phrase, 48000)) detector.push(frame)
  await a.close()
  await detector.flush()
  for (const frame of frames10ms(silence(1000, 48000), 48000)) onB.push(frame)
  await onB.flush()
  t.same(errors, [])
  t.ok(events.every(e => e.type !== 'speech-end'), 'no events after close')
  t.ok(onB.windows > 0, 'the other server still scores audio')
  const session = new AbortController()
  const aborted = b.llmrtcVad.createDetector({ onEvent: e => events.push(e), onError: e => errors.push(e), signal: session.signal })
  session.abort()
  for (const frame of frames10ms(phrase, 48000)) aborted.push(frame)
  await aborted.flush()
  t.equal(aborted.windows, 0, 'a detector stops when its session signal aborts')
})
