import Fastify from 'fastify'
import { test } from 'tap'
import llmrtc from '../../index.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS, audioMessageData, connect } from '../../testing/index.js'

// Your app, as it registers llmrtc, with scripted providers in place of real ones.
async function buildApp (providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS }) {
  const app = Fastify()
  await app.register(llmrtc, {
    prefix: '/voice',
    systemPrompt: 'You are the front desk of a hotel.',
    webrtc: false, // no WebRTC in tests: audio comes in `audio` messages
    vad: false, // so no VAD model is loaded either
    demoPage: false,
    providers
  })
  return app
}

test('a typed question is answered, spoken, and kept in the history', async (t) => {
  const llm = new ScriptedLLM([['Check-out is at noon.']])
  const app = await buildApp({ llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  t.teardown(() => app.close())
  await app.ready()

  const session = app.llmrtcSessions.create()
  const { result, messages } = await app.llmrtcPipeline.textTurn(session, 'When is check-out?')

  t.equal(result?.outcome, 'completed')
  t.equal(result?.assistantText, 'Check-out is at noon.')
  t.ok(messages.some((m) => m.type === 'tts-chunk'), 'the answer was spoken')
  t.equal(llm.requests[0]?.messages[0]?.content, 'You are the front desk of a hotel.')
  t.same(session.history.messages.map((m) => m.content), ['When is check-out?', 'Check-out is at noon.'])
})

test('a client on the WebSocket gets a whole turn for an `audio` message', async (t) => {
  const app = await buildApp({
    llm: new ScriptedLLM([['We have a room for two.']]),
    stt: new ScriptedSTT(['a room for two, please']),
    tts: new ScriptedTTS()
  })
  t.teardown(() => app.close())
  await app.ready()

  const client = await connect(app, '/voice')
  t.teardown(() => client.ws.terminate())
  await client.next('ready')
  client.send({ type: 'audio', data: audioMessageData(500) })

  t.match(await client.next('transcript'), { text: 'a room for two, please', isFinal: true })
  t.match(await client.next('llm'), { text: 'We have a room for two.' })
  await client.next('tts-complete')
})
