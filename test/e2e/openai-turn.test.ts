import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { expectVoiceTurn, listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'
import { MOCK_REPLY, MOCK_TRANSCRIPT, startOpenAIMock } from '../mocks/openai-mock.js'

// Real speech over a real WebRTC peer, with OpenAI STT, LLM and TTS all pointed at the loopback mock.
// Every packet stays on 127.0.0.1 (see the helper). Assertions are on order and content, not durations.
isolateNetwork()

t.test('a spoken question over WebRTC is transcribed, answered and spoken by the OpenAI providers', async t => {
  const mock = await startOpenAIMock({ apiKey: 'sk-e2e' })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { openai: { apiKey: 'sk-e2e', baseURL: mock.baseURL } })
  t.same([app.llmrtcProviders.stt.name, app.llmrtcProviders.llm.name, app.llmrtcProviders.tts.name], ['openai-stt', 'openai-llm', 'openai-tts'])
  const client = await voiceClient(t, await listenUrl(app))
  await say(client, 'What is the weather like today?')
  await expectVoiceTurn(t, client)
  t.match(client.wsMessages.find(m => m.type === 'transcript'), { isFinal: true, text: MOCK_TRANSCRIPT }, 'the transcript is the mock\'s')
  const streamed = client.wsMessages.filter(m => m.type === 'llm-chunk').map(m => (m as { content: string }).content).join('')
  t.equal(streamed, MOCK_REPLY, 'the answer streamed in llm-chunks')
  t.ok(client.wsMessages.filter(m => m.type === 'llm-chunk').length > 3, 'in several chunks')
  await client.audio.waitForSound(1000, 5000)
  t.pass('the mock\'s 24 kHz tone arrived, non-silent, on the client\'s track')

  const upload = mock.requestsTo('transcriptions')[0]?.body.file as { filename: string, data: Buffer } | undefined
  t.equal(upload?.filename, 'speech.wav')
  t.equal(upload?.data.toString('ascii', 0, 4), 'RIFF', 'the utterance was uploaded as WAV')
  t.match(mock.requestsTo('chat')[0]?.body, { stream: true, messages: [{ role: 'system' }, { role: 'user', content: MOCK_TRANSCRIPT }] })
  t.ok(mock.requestsTo('speech').length >= 1, 'speech was synthesized sentence by sentence')
  t.ok(mock.requestsTo('speech').every(r => r.body.response_format === 'pcm'))
  const session = app.llmrtcSessions.get(client.sessionId)
  t.same(session?.history.messages.map(m => [m.role, m.content]), [['user', MOCK_TRANSCRIPT], ['assistant', MOCK_REPLY]])
})
