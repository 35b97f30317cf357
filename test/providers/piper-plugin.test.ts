import Fastify from 'fastify'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { startPiperMock } from '../mocks/piper-mock.js'
import { synthesizeSpeech } from '../helpers/speech.js'
import { connect } from '../helpers/ws-client.js'

t.test('with PIPER_URL the umbrella speaks every turn through Piper with PIPER_VOICE, at the voice\'s rate, and counts it local', async t => {
  const mock = await startPiperMock()
  t.teardown(mock.close)
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { PIPER_URL: mock.url, PIPER_VOICE: 'en_US-lessac-medium', LOCAL_ONLY: 'true' } })
  await app.ready()
  t.equal(app.llmrtcProviders.tts.name, 'piper')
  t.equal(app.llmrtcProviders.reasons.tts, 'LOCAL_ONLY=true, PIPER_URL is set', 'a loopback Piper is admitted with LOCAL_ONLY')
  t.equal(mock.requests.length, 0, 'nothing is requested at start')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(await synthesizeSpeech('Hello, what time is it?', 16_000), 16_000).toString('base64') })
  await client.next('tts-complete')
  const chunk = client.messages.find(m => m.type === 'tts-chunk') as { sampleRate: number }
  t.equal(chunk.sampleRate, 22_050, 'Piper\'s PCM rate reaches the client')
  t.ok(mock.requests.length >= 1)
  t.ok(mock.requests.every(r => r.body.voice === 'en_US-lessac-medium'), 'PIPER_VOICE is sent')
  client.ws.terminate()
})

t.test('a cloud Piper URL is not local: LOCAL_ONLY refuses TTS_PROVIDER=piper', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { PIPER_URL: 'https://tts.example.com', TTS_PROVIDER: 'piper', LOCAL_ONLY: 'true' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /TTS_PROVIDER/ })
})

t.test('TTS_PROVIDER=piper without a URL fails ready() and names PIPER_URL', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { TTS_PROVIDER: 'piper' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /PIPER_URL/ })
})

t.test('the umbrella\'s piper option wins over the variables; PIPER_URL wins over cloud keys for TTS only', async t => {
  const mock = await startPiperMock()
  t.teardown(mock.close)
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { PIPER_URL: 'http://127.0.0.1:1', PIPER_VOICE: 'env-voice', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' }, piper: { url: mock.url, voice: 'option-voice', lengthScale: 0.9 } })
  await app.ready()
  t.equal(app.llmrtcProviders.tts.name, 'piper')
  t.equal(app.llmrtcProviders.llm.name, 'openai-llm', 'the OpenAI key still serves the LLM')
  await app.llmrtcProviders.tts.speak('Hi.')
  t.same(mock.requests[0]?.body, { text: 'Hi.', voice: 'option-voice', length_scale: 0.9 })
})

t.test('unknown and bad piper options fail at register time', async t => {
  const unknown = Fastify({ logger: false })
  t.teardown(() => unknown.close())
  await t.rejects(async () => { await unknown.register(llmrtc, { webrtc: false, env: false, piper: { uri: 'http://x' } as never }) }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /piper\.uri/ })
  const bad = Fastify({ logger: false })
  t.teardown(() => bad.close())
  await t.rejects(async () => { await bad.register(llmrtc, { webrtc: false, env: false, piper: { url: 'http://x', speakerId: -1 } }) }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /piper\.speakerId/ })
})
