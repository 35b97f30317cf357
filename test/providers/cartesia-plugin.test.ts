import Fastify from 'fastify'
import { providerPluginAlone } from '../helpers/app.js'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviderCartesia from '../../plugins/providers/cartesia/index.js'
import { CartesiaMock } from '../mocks/cartesia-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { synthesizeSpeech } from '../helpers/speech.js'
import { connect } from '../helpers/ws-client.js'

const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')

const KEY = 'sk_car_plugin-secret-4242'

t.test('with CARTESIA_API_KEY the plugin speaks every turn through Cartesia, configured from the environment, never logging the key', async t => {
  const mock = await CartesiaMock.start({ tls: tls as NonNullable<typeof tls>, apiKey: KEY })
  t.teardown(() => mock.close())
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { CARTESIA_API_KEY: KEY, CARTESIA_BASE_URL: mock.baseURL, CARTESIA_MODEL: 'sonic-3', CARTESIA_VOICE_ID: 'voice-42', CARTESIA_LANGUAGE: 'fr' }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.tts.name, 'cartesia')
  t.equal(app.llmrtcProviders.reasons.tts, 'CARTESIA_API_KEY is set')
  t.equal(mock.handshakes.length, 0, 'the WebSocket opens on first use, not at start')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(await synthesizeSpeech('Hello, what time is it?', 16_000), 16_000).toString('base64') })
  await client.next('tts-complete')
  const chunk = client.messages.find(m => m.type === 'tts-chunk') as { sampleRate: number, data: string }
  t.equal(chunk.sampleRate, 24_000, 'Cartesia\'s PCM rate reaches the client')
  t.match(mock.inputs[0], { model_id: 'sonic-3', voice: { mode: 'id', id: 'voice-42' }, language: 'fr', add_timestamps: true })
  t.equal(mock.handshakes.length, 1)
  client.ws.terminate()

  await app.close()
  t.notOk(lines.some(line => line.includes(KEY)), 'no log line holds the key')
})

t.test('TTS_PROVIDER=cartesia without a key fails ready() and names the variable', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { TTS_PROVIDER: 'cartesia' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /CARTESIA_API_KEY/ })
})

t.test('a bad CARTESIA_BASE_URL fails ready()', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { CARTESIA_API_KEY: 'k', CARTESIA_BASE_URL: 'api.cartesia.ai' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /baseURL/ })
})

t.test('the umbrella\'s cartesia option gives the key, URL, model and voice with no environment, and wins over the variables', async t => {
  const mock = await CartesiaMock.start({ tls: tls as NonNullable<typeof tls>, apiKey: KEY })
  t.teardown(() => mock.close())
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { CARTESIA_API_KEY: 'sk_car_from_env', CARTESIA_MODEL: 'from-env', CARTESIA_LANGUAGE: 'de' },
    cartesia: { apiKey: KEY, baseURL: mock.baseURL, model: 'sonic-3', voiceId: 'voice-7', sampleRateHz: 16_000 }
  })
  await app.ready()
  const tts = app.llmrtcProviders.tts
  t.equal(app.llmrtcProviders.reasons.tts, 'its apiKey option is set')
  t.equal(tts.pcmSampleRate, 16_000)
  for await (const event of tts.speakStream?.('Hello.') ?? []) void event
  t.match(mock.inputs[0], { model_id: 'sonic-3', voice: { mode: 'id', id: 'voice-7' }, language: 'de' })
})

t.test('registered alone with only its declared dependencies, the plugin speaks from its options', async t => {
  const mock = await CartesiaMock.start({ tls: tls as NonNullable<typeof tls>, apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await providerPluginAlone(t, llmrtcProviderCartesia, { apiKey: KEY, baseURL: mock.baseURL })
  t.equal(app.llmrtcProviders.tts.name, 'cartesia')
  const result = await app.llmrtcProviders.tts.speak('Hello.')
  t.ok(result.audio.length > 0)
})
