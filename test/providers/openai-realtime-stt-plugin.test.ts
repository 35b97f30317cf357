import Fastify from 'fastify'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { tone } from '../helpers/audio.js'
import { connect } from '../helpers/ws-client.js'
import { startRealtimeTranscriptionMock } from '../mocks/openai-realtime-transcription-mock.js'

const KEY = 'sk-proj-realtime-plugin-secret-4242'

t.test('STT_PROVIDER=openai-realtime transcribes a turn over the realtime socket with OPENAI_STT_MODEL, and no log line holds the key', async t => {
  const mock = await startRealtimeTranscriptionMock({ apiKey: KEY, transcript: 'hello realtime' })
  t.teardown(mock.close)
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { STT_PROVIDER: 'openai-realtime', LLM_PROVIDER: 'builtin', TTS_PROVIDER: 'builtin', OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.baseURL, OPENAI_STT_MODEL: 'whisper-1' }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.stt.name, 'openai-realtime-stt')
  t.equal(app.llmrtcProviders.reasons.stt, 'STT_PROVIDER=openai-realtime')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(tone(800), 16_000).toString('base64') })
  await client.next('tts-complete')
  t.match(client.messages.find(m => m.type === 'transcript' && m.isFinal === true), { text: 'hello realtime' })
  t.match(mock.sessions[0]?.sessionUpdates[0], { type: 'transcription', audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: null } } })
  t.equal(mock.sessions[0]?.authorization, `Bearer ${KEY}`)
  client.ws.terminate()
  await app.close()
  t.notOk(lines.some(l => l.includes(KEY) || l.includes('plugin-secret')), 'no log line contains the key')
})

t.test('the openai.stt options (model, language, prompt) configure the realtime STT and win over OPENAI_STT_MODEL', async t => {
  const mock = await startRealtimeTranscriptionMock({ apiKey: KEY })
  t.teardown(mock.close)
  const app = await buildApp(t, {
    webrtc: false,
    env: { STT_PROVIDER: 'openai-realtime', OPENAI_STT_MODEL: 'whisper-1' },
    openai: { apiKey: KEY, baseURL: mock.baseURL, stt: { model: 'gpt-4o-transcribe', language: 'fr', prompt: 'Bonjour' } }
  })
  const result = await app.llmrtcProviders.stt.transcribe(encodeWav(tone(300), 16_000))
  t.same({ text: result.text, isFinal: result.isFinal }, { text: 'hello from the', isFinal: true })
  t.match(mock.sessions[0]?.sessionUpdates[0], { audio: { input: { transcription: { model: 'gpt-4o-transcribe', language: 'fr', prompt: 'Bonjour' } } } })
})

t.test('OPENAI_API_KEY alone keeps the REST transcription: the realtime STT serves only when named', async t => {
  const app = await buildApp(t, { webrtc: false, env: { OPENAI_API_KEY: KEY } })
  t.equal(app.llmrtcProviders.stt.name, 'openai-stt')
  t.ok(app.llmrtcProviders.registry.names('stt').includes('openai-realtime'), 'openai-realtime is registered for stt')
})

t.test('a model the realtime API does not offer fails ready(), naming the option', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { STT_PROVIDER: 'openai-realtime', OPENAI_API_KEY: KEY, OPENAI_STT_MODEL: 'gpt-4o' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /openai-realtime\.model": expected one of/ })
})

t.test('STT_PROVIDER=openai-realtime without a key or base URL fails ready() naming OPENAI_API_KEY', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { STT_PROVIDER: 'openai-realtime' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /OpenAI API key for the realtime STT.*OPENAI_API_KEY/ })
})
