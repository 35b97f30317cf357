import Fastify from 'fastify'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviderElevenLabs from '../../plugins/providers/elevenlabs/index.js'
import { providerPluginAlone } from '../helpers/app.js'
import { synthesizeSpeech } from '../helpers/speech.js'
import { connect } from '../helpers/ws-client.js'
import { ElevenLabsMock } from '../mocks/elevenlabs-mock.js'

const KEY = 'xi-plugin-secret-4242'

t.test('with ELEVENLABS_API_KEY the plugin speaks every turn through ElevenLabs, configured from the environment, never logging the key', async t => {
  const mock = await ElevenLabsMock.start({ apiKey: KEY })
  t.teardown(() => mock.close())
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    // The built-in STT hears the turn: this mock speaks ElevenLabs' TTS only, not Scribe.
    env: { ELEVENLABS_API_KEY: KEY, ELEVENLABS_BASE_URL: mock.baseURL, ELEVENLABS_MODEL: 'eleven_turbo_v2_5', ELEVENLABS_VOICE_ID: 'voice-42', ELEVENLABS_LANGUAGE: 'fr', STT_PROVIDER: 'builtin' }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.tts.name, 'elevenlabs')
  t.equal(app.llmrtcProviders.reasons.tts, 'ELEVENLABS_API_KEY is set')
  t.equal(mock.handshakes.length, 0, 'the WebSocket opens on first use, not at start')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(await synthesizeSpeech('Hello, what time is it?', 16_000), 16_000).toString('base64') })
  await client.next('tts-complete')
  const chunk = client.messages.find(m => m.type === 'tts-chunk') as { sampleRate: number, data: string }
  t.equal(chunk.sampleRate, 24_000, 'ElevenLabs\' PCM rate reaches the client')
  t.match(mock.handshakes[0], { key: KEY, path: '/v1/text-to-speech/voice-42/multi-stream-input', query: { model_id: 'eleven_turbo_v2_5', language_code: 'fr', output_format: 'pcm_24000' } })
  t.ok(mock.texts.length >= 1, 'the answer was spoken over the WebSocket')
  t.equal(new Set(mock.texts.map(i => i.context_id)).size, 1, 'one context for the turn')
  client.ws.terminate()

  await app.close()
  t.notOk(lines.some(line => line.includes(KEY)), 'no log line holds the key')
})

t.test('TTS_PROVIDER=elevenlabs without a key fails ready() and names the variable', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { TTS_PROVIDER: 'elevenlabs' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /ELEVENLABS_API_KEY/ })
})

t.test('a bad ELEVENLABS_BASE_URL fails ready()', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { ELEVENLABS_API_KEY: 'k', ELEVENLABS_BASE_URL: 'api.elevenlabs.io' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /baseURL/ })
})

t.test('the umbrella\'s elevenlabs option gives the key, URL, model and voice with no environment, and wins over the variables', async t => {
  const mock = await ElevenLabsMock.start({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { ELEVENLABS_API_KEY: 'xi_from_env', ELEVENLABS_MODEL: 'from-env', ELEVENLABS_LANGUAGE: 'de' },
    elevenlabs: { apiKey: KEY, baseURL: mock.baseURL, tts: { model: 'eleven_multilingual_v2', voiceId: 'voice-7', sampleRateHz: 16_000 } }
  })
  await app.ready()
  const tts = app.llmrtcProviders.tts
  t.equal(app.llmrtcProviders.reasons.tts, 'its apiKey option is set')
  t.equal(tts.pcmSampleRate, 16_000)
  for await (const event of tts.speakStream?.('Hello.') ?? []) void event
  t.match(mock.handshakes[0], { key: KEY, path: '/v1/text-to-speech/voice-7/multi-stream-input', query: { model_id: 'eleven_multilingual_v2', language_code: 'de', output_format: 'pcm_16000' } })
})

t.test('an unknown option is refused, at the top and under tts', async t => {
  for (const elevenlabs of [{ apiKy: 'x' }, { tts: { voice: 'x' } }]) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await t.rejects(async () => {
      await app.register(llmrtc, { webrtc: false, env: {}, elevenlabs: elevenlabs as object })
      await app.ready()
    }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN' })
  }
})

t.test('registered alone with only its declared dependencies, the plugin speaks from its options', async t => {
  const mock = await ElevenLabsMock.start({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await providerPluginAlone(t, llmrtcProviderElevenLabs, { apiKey: KEY, baseURL: mock.baseURL })
  t.equal(app.llmrtcProviders.tts.name, 'elevenlabs')
  const result = await app.llmrtcProviders.tts.speak('Hello.')
  t.ok(result.audio.length > 0)
  t.equal(mock.restRequests.length, 1)
})
