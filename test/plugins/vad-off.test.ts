import Fastify from 'fastify'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import llmrtc, { type LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { audioMessageData } from '../../testing/audio.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { connect } from '../helpers/ws-client.js'

/** An app whose log lines are kept (to see whether the VAD model loaded). */
async function appWithLog (t: Test, options: LLMRTCPluginOptions): Promise<{ app: ReturnType<typeof Fastify>, logs: string[] }> {
  const logs: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { logs.push(String(chunk)); done() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(llmrtc, { env: false, demoPage: false, ...options })
  await app.ready()
  return { app, logs }
}

t.test('vad: false loads no VAD model, and an `audio` message still runs a whole turn', async t => {
  const stt = new ScriptedSTT(['what time is it'])
  const { app, logs } = await appWithLog(t, { vad: false, webrtc: false, providers: { stt, llm: new ScriptedLLM([['It is noon.']]), tts: new ScriptedTTS(1) } })
  t.equal(app.hasDecorator('llmrtcVad'), false, 'no VAD plugin')
  t.notOk(logs.some(line => line.includes('VAD model ready')), 'no model loaded')
  const client = await connect(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  client.send({ type: 'audio', data: audioMessageData(300) })
  t.same(await client.next('transcript'), { type: 'transcript', text: 'what time is it', isFinal: true })
  t.same(await client.next('llm'), { type: 'llm', text: 'It is noon.' })
  await client.next('tts-complete')
  t.equal(stt.calls.length, 1)
})

t.test('with the VAD on (the default), the model loads when the app is ready', async t => {
  const { app, logs } = await appWithLog(t, { webrtc: false, providers: { stt: new ScriptedSTT([]), llm: new ScriptedLLM([]), tts: new ScriptedTTS(1) } })
  t.equal(app.hasDecorator('llmrtcVad'), true)
  t.ok(logs.some(line => line.includes('VAD model ready')))
})

t.test('vad: false with WebRTC on is refused: WebRTC microphone audio needs the VAD', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(llmrtc, { env: false, vad: false }).ready() }, {
    code: 'LLMRTC_ERR_OPTIONS_INVALID',
    message: /^Invalid llmrtc option "vad": expected segmentation options, or false together with webrtc: false .*instead got false while webrtc is on$/
  })
})
