import Fastify from 'fastify'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { StreamingTranscription } from '../../lib/pipeline/streaming-transcription.js'
import { ElevenLabsSTT } from '../../lib/providers/elevenlabs/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { startScribeMock } from '../mocks/elevenlabs-scribe-mock.js'
import { tone } from '../helpers/audio.js'
import { connect } from '../helpers/ws-client.js'

const KEY = 'el-plugin-secret-4242'

t.test('with ELEVENLABS_API_KEY the umbrella hears every turn through Scribe, configured from the environment, never logging the key', async t => {
  const mock = await startScribeMock({ apiKey: KEY, transcript: 'what time is it' })
  t.teardown(mock.close)
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { ELEVENLABS_API_KEY: KEY, ELEVENLABS_BASE_URL: mock.url, ELEVENLABS_STT_MODEL: 'scribe_v1', ELEVENLABS_LANGUAGE: 'en', TTS_PROVIDER: 'builtin' }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.stt.name, 'elevenlabs')
  t.equal(app.llmrtcProviders.reasons.stt, 'ELEVENLABS_API_KEY is set')
  t.equal(mock.batch.length + mock.handshakes.length, 0, 'nothing is sent to ElevenLabs at start')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(tone(1000), 16_000).toString('base64') })
  t.match(await client.next('transcript'), { text: 'what time is it', isFinal: true })
  t.same(mock.batch[0]?.fields, { model_id: 'scribe_v1', language_code: 'en' })
  client.ws.terminate()

  await app.close()
  t.ok(lines.some(line => line.includes('"provider":"elevenlabs"')), 'the choice is logged')
  t.notOk(lines.some(line => line.includes(KEY)), 'no log line holds the key')
})

t.test('the umbrella\'s elevenlabs option gives the key, URL and stt options, and wins over the variables', async t => {
  const mock = await startScribeMock({ apiKey: KEY, transcript: 'hello there' })
  t.teardown(mock.close)
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { ELEVENLABS_API_KEY: 'from-env', ELEVENLABS_STT_MODEL: 'from-env', TTS_PROVIDER: 'builtin' },
    elevenlabs: { apiKey: KEY, baseURL: mock.url, stt: { model: 'scribe_v1_experimental', realtimeModel: 'scribe_v2_realtime', language: 'de' } }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.reasons.stt, 'its apiKey option is set')
  const stt = app.llmrtcProviders.stt
  t.equal((await stt.transcribe(encodeWav(tone(500), 16_000))).text, 'hello there')
  t.same(mock.batch[0]?.fields, { model_id: 'scribe_v1_experimental', language_code: 'de' })
  const results = []
  async function * audio (): AsyncIterable<Buffer> { yield Buffer.from(tone(300).buffer) }
  for await (const result of stt.transcribeStream?.(audio()) ?? []) results.push(result)
  t.equal(results.at(-1)?.text, 'hello there')
  t.match(Object.fromEntries(mock.realtime[0]?.query ?? []), { model_id: 'scribe_v2_realtime', language_code: 'de', commit_strategy: 'manual' })
})

t.test('STT_PROVIDER=elevenlabs without a key fails ready() and names ELEVENLABS_API_KEY; a bad stt option fails at register time', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { STT_PROVIDER: 'elevenlabs' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /ELEVENLABS_API_KEY/ })

  const bad = Fastify({ logger: false })
  t.teardown(() => bad.close())
  bad.register(llmrtc, { webrtc: false, env: false, elevenlabs: { stt: { commitTimeoutMs: -1 } } })
  await t.rejects(async () => { await bad.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /elevenlabs\.stt\.commitTimeoutMs/ })

  const unknown = Fastify({ logger: false })
  t.teardown(() => unknown.close())
  unknown.register(llmrtc, { webrtc: false, env: false, elevenlabs: { stt: { modelId: 'x' } as never } })
  await t.rejects(async () => { await unknown.ready() }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /elevenlabs\.stt\.modelId/ })
})

t.test('the pipeline\'s streaming transcription gets Scribe\'s partials as interims and the committed text at end of speech', async t => {
  const mock = await startScribeMock({ transcript: 'turn the lights off in the kitchen please' })
  t.teardown(mock.close)
  const stt = new ElevenLabsSTT({ apiKey: mock.apiKey, baseURL: mock.url })
  const interims: string[] = []
  const session = new AbortController()
  const transcription = new StreamingTranscription(stt.transcribeStream.bind(stt), text => { interims.push(text) }, session.signal)
  const speech = tone(1000)
  for (let i = 0; i < speech.length; i += 320) transcription.write(speech.subarray(i, i + 320))
  transcription.end()
  t.equal((await transcription.final(AbortSignal.timeout(5000))).text, 'turn the lights off in the kitchen please')
  t.equal(interims[0], 'turn')
  t.same(mock.realtime[0]?.received.filter(m => m === 'commit'), ['commit'], 'one commit, sent at our end of speech')
  t.equal(mock.realtime[0]?.received.at(-1), 'commit')
})
