import t from 'tap'
import { MAX_TEXT_MESSAGE_CHARS } from '../../lib/protocol/client-messages.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'

t.test('a `text` message runs a turn on the session, without STT', async t => {
  const stt = new ScriptedSTT([])
  const llm = new ScriptedLLM([['Paris is the capital.']])
  const app = await buildApp(t, { webrtc: false, demoPage: false, providers: { stt, llm, tts: new ScriptedTTS(1) } })
  const client = await connect(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  client.send({ type: 'text', text: 'What is the capital of France?' })
  t.same(await client.next('transcript'), { type: 'transcript', text: 'What is the capital of France?', isFinal: true })
  t.same(await client.next('llm'), { type: 'llm', text: 'Paris is the capital.' })
  await client.next('tts-complete')
  t.ok(client.messages.some(m => m.type === 'tts-chunk'), 'the answer is spoken')
  t.equal(stt.calls.length, 0)
  const session = app.llmrtcSessions.list()[0]
  t.same(session?.history.messages, [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'Paris is the capital.' }])
})

t.test('a `text` message over the limit, or empty, is refused with INVALID_MESSAGE and runs no turn', async t => {
  const llm = new ScriptedLLM([])
  const app = await buildApp(t, { webrtc: false, demoPage: false, providers: { stt: new ScriptedSTT([]), llm, tts: new ScriptedTTS(1) } })
  const client = await connect(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  client.send({ type: 'text', text: 'x'.repeat(MAX_TEXT_MESSAGE_CHARS + 1) })
  const tooLong = await client.next('error')
  t.equal(tooLong.code, 'INVALID_MESSAGE')
  t.match(tooLong.message, /^Invalid "text" message: text: /)
  const from = client.messages.length
  client.send({ type: 'text', text: '' })
  t.equal((await client.next('error', from)).code, 'INVALID_MESSAGE')
  t.equal(llm.requests.length, 0, 'no LLM call')
})

t.test('textTurn() runs a turn on a session without a client and gives its result and messages', async t => {
  const app = await buildApp(t, { webrtc: false, demoPage: false, providers: { stt: new ScriptedSTT([]), llm: new ScriptedLLM([['Hello to you.']]), tts: new ScriptedTTS(1) } })
  const session = app.llmrtcSessions.create()
  const { result, messages } = await app.llmrtcPipeline.textTurn(session, 'Hello')
  t.equal(result?.outcome, 'completed')
  t.equal(result?.assistantText, 'Hello to you.')
  const types = messages.map(m => m.type)
  t.same(types.filter(type => type !== 'tts-chunk'), ['transcript', 'llm-chunk', 'tts-start', 'llm-chunk', 'llm', 'tts-complete'])
  t.ok(types.includes('tts-chunk'), 'with its audio')
  t.same(session.history.messages.map(m => m.content), ['Hello', 'Hello to you.'])
})
