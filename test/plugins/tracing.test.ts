import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { FakeTracerProvider } from '../helpers/fake-tracer.js'
import { connect } from '../helpers/ws-client.js'

const utterance = encodeWav(new Int16Array(8000).fill(1000), 16_000).toString('base64')
const scripted = (): LLMRTCPluginOptions => ({ webrtc: false, providers: { stt: new ScriptedSTT(['hello there']), llm: new ScriptedLLM([['Hi! Nice to meet you. ']]), tts: new ScriptedTTS(1) } })

t.test('once the application registers an OpenTelemetry SDK, each turn is a span with its stages', async t => {
  const spans = new FakeTracerProvider().install()
  t.teardown(() => { spans.uninstall() })
  const app = await buildApp(t, scripted())
  const client = await connect(app)
  const { id } = await client.next('ready')
  client.send({ type: 'audio', data: utterance })
  const { turnId } = await client.next('metrics')
  const [turn] = spans.named('llmrtc.turn')
  t.match(turn?.attributes, { 'llmrtc.session.id': id, 'llmrtc.turn.id': turnId, 'llmrtc.turn.outcome': 'completed', 'llmrtc.llm.provider': 'scripted-llm' })
  for (const name of ['llmrtc.stt', 'llmrtc.llm', 'llmrtc.tts']) t.equal(spans.named(name)[0]?.parentSpanId, turn?.spanId, `${name} is a child of the turn`)
  t.notMatch(JSON.stringify(spans.spans), /hello there|Nice to meet/, 'no text')
  client.ws.terminate()
})

t.test('tracing: false records no span', async t => {
  const spans = new FakeTracerProvider().install()
  t.teardown(() => { spans.uninstall() })
  const app = await buildApp(t, { ...scripted(), tracing: false })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: utterance })
  await client.next('metrics')
  t.same(spans.spans, [])
  t.notOk(app.hasPlugin('llmrtc-tracing'))
  client.ws.terminate()
})
