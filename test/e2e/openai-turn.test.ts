import t from 'tap'
import llmrtcProviderOpenAI from '../../plugins/providers/openai/index.js'
import { buildApp } from '../helpers/app.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { WebRTCTestClient, isolateNetwork } from '../helpers/webrtc-client.js'
import { MOCK_REPLY, MOCK_TRANSCRIPT, startOpenAIMock } from '../mocks/openai-mock.js'

// Real speech over a real WebRTC peer, with OpenAI STT, LLM and TTS all pointed at the loopback mock.
// Every packet stays on 127.0.0.1 (see the helper). Assertions are on order and content, not durations.
isolateNetwork()

t.test('a spoken question over WebRTC is transcribed, answered and spoken by the OpenAI providers', async t => {
  const mock = await startOpenAIMock({ apiKey: 'sk-e2e' })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { env: { OPENAI_API_KEY: 'sk-e2e', OPENAI_BASE_URL: mock.baseURL } }, async app => { await app.register(llmrtcProviderOpenAI) })
  t.same([app.llmrtcProviders.stt.name, app.llmrtcProviders.llm.name, app.llmrtcProviders.tts.name], ['openai-stt', 'openai-llm', 'openai-tts'])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')

  const client = await WebRTCTestClient.connect(`ws://127.0.0.1:${address.port}/`, { timeoutMs: 15_000 })
  t.teardown(() => client.close())
  await client.addMicrophone()
  const phrase = await synthesizeSpeech('What is the weather like today?', 48_000)
  await client.speak(concat(phrase, silence(1200, 48_000)))

  const order = ['speech-start', 'speech-end', 'transcript', 'llm-chunk', 'tts-start', 'llm', 'tts-complete'] as const
  for (const type of order) await client.waitFor(type, { timeoutMs: 15_000 })
  const types = client.wsMessages.map(m => m.type)
  const firsts = order.map(type => types.indexOf(type))
  t.same(firsts, [...firsts].sort((a, b) => a - b), `events come in protocol order: ${types.filter(x => x !== 'metrics').join(' ')}`)
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
