import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { DeepgramSTT } from '../../lib/providers/deepgram/index.js'
import type { SessionTranscript } from '../../lib/recording/transcript-types.js'
import llmrtcRecording from '../../plugins/recording/index.js'
import { ScriptedLLM, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'
import { startDeepgramMock } from '../mocks/deepgram-mock.js'

t.test('a recorded session\'s transcript has the STT\'s words on the user\'s turn (Deepgram through its SDK)', async t => {
  const mock = await startDeepgramMock({ transcript: 'Where is my order?' })
  t.teardown(mock.close)
  const ended: SessionTranscript[] = []
  const app = await buildApp(t, {
    webrtc: false,
    providers: { llm: new ScriptedLLM([['It ships Thursday.']]), stt: new DeepgramSTT({ apiKey: mock.apiKey, baseUrl: mock.url }), tts: new ScriptedTTS() },
    hooks: { onSessionEnd: (_id, transcript) => { ended.push(transcript) } }
  }, async (app) => {
    await app.register(llmrtcRecording, { sink: () => ({}) })
  })
  const client = await connect(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(new Int16Array(16 * 400).fill(1000), 16_000).toString('base64') })
  await client.next('tts-complete')
  const session = app.llmrtcSessions.list()[0]
  if (session !== undefined) app.llmrtcSessions.end(session, 'closed')
  await app.close()
  const user = ended[0]?.turns.find(turn => turn.speaker === 'user')
  t.match(user, { speaker: 'user', text: 'Where is my order?' })
  t.same(user?.speaker === 'user' ? user.words : undefined, [
    { word: 'Where', startMs: 0, endMs: 100, confidence: 0.99 },
    { word: 'is', startMs: 100, endMs: 200, confidence: 0.99 },
    { word: 'my', startMs: 200, endMs: 300, confidence: 0.99 },
    { word: 'order?', startMs: 300, endMs: 400, confidence: 0.99 }
  ], 'the JSON carries each word with its timing and confidence')
})
