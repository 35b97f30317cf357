import Fastify from 'fastify'
import { providerPluginAlone } from '../helpers/app.js'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { StreamingTranscription } from '../../lib/pipeline/streaming-transcription.js'
import { DeepgramSTT } from '../../lib/providers/deepgram/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviderDeepgram from '../../plugins/providers/deepgram/index.js'
import { startDeepgramMock } from '../mocks/deepgram-mock.js'
import { connect } from '../helpers/ws-client.js'

const KEY = 'dg-plugin-secret-4242'

function tone (ms: number): Int16Array {
  const samples = new Int16Array(16 * ms)
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(5000 * Math.sin(2 * Math.PI * 220 * i / 16000))
  return samples
}

t.test('with DEEPGRAM_API_KEY the umbrella plus the Deepgram plugin hear and speak every turn through Deepgram, never logging the key', async t => {
  const mock = await startDeepgramMock({ apiKey: KEY, transcript: 'what time is it' })
  t.teardown(mock.close)
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { DEEPGRAM_API_KEY: KEY, DEEPGRAM_BASE_URL: mock.url, DEEPGRAM_MODEL: 'nova-2', DEEPGRAM_LANGUAGE: 'en-GB', DEEPGRAM_TTS_MODEL: 'aura-2-orion-en' },
    deepgram: { retryBaseDelayMs: 1 }
  })
  await app.ready()
  t.same([app.llmrtcProviders.stt.name, app.llmrtcProviders.tts.name], ['deepgram', 'deepgram'])
  t.same(app.llmrtcProviders.reasons, { llm: 'default (no provider configured)', stt: 'DEEPGRAM_API_KEY is set', tts: 'DEEPGRAM_API_KEY is set' })
  t.equal(mock.requests.length + mock.handshakes.length, 0, 'nothing is sent to Deepgram at start')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(tone(1000), 16_000).toString('base64') })
  t.match(await client.next('transcript'), { text: 'what time is it', isFinal: true })
  await client.next('tts-complete')
  const chunk = client.messages.find(m => m.type === 'tts-chunk') as { sampleRate: number }
  t.equal(chunk.sampleRate, 24_000, 'Aura\'s PCM rate reaches the client')
  t.match(Object.fromEntries(mock.requests[0]?.query ?? []), { model: 'nova-2', language: 'en-GB' })
  t.match(Object.fromEntries(mock.requests[1]?.query ?? []), { model: 'aura-2-orion-en', encoding: 'linear16', container: 'none' })
  client.ws.terminate()

  await app.close()
  t.ok(lines.some(line => line.includes('"provider":"deepgram"')), 'the choice is logged')
  t.notOk(lines.some(line => line.includes(KEY)), 'no log line holds the key')
})

t.test('STT_PROVIDER=deepgram without a key fails ready() and names the variable', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { STT_PROVIDER: 'deepgram' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /DEEPGRAM_API_KEY/ })
})

t.test('a bad DEEPGRAM_BASE_URL or plugin option fails start-up', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { DEEPGRAM_API_KEY: 'k', DEEPGRAM_BASE_URL: 'api.deepgram.com' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /deepgram\.baseUrl/ })

  const other = Fastify({ logger: false })
  t.teardown(() => other.close())
  other.register(llmrtc, { webrtc: false, env: false, deepgram: { keepAliveIntervalMs: -1 } })
  await t.rejects(async () => { await other.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /keepAliveIntervalMs/ })
})

t.test('the umbrella\'s deepgram option gives the key, URL and models with no environment, and wins over the variables', async t => {
  const mock = await startDeepgramMock({ apiKey: KEY, transcript: 'what time is it' })
  t.teardown(mock.close)
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { DEEPGRAM_API_KEY: 'dg-from-env', DEEPGRAM_MODEL: 'from-env' },
    deepgram: { apiKey: KEY, baseUrl: mock.url, model: 'nova-2', ttsModel: 'aura-2-orion-en' }
  })
  await app.ready()
  t.same(app.llmrtcProviders.reasons, { llm: 'default (no provider configured)', stt: 'its apiKey option is set', tts: 'its apiKey option is set' })
  t.equal((await app.llmrtcProviders.stt.transcribe(encodeWav(tone(500), 16_000))).text, 'what time is it')
  await app.llmrtcProviders.tts.speak('Hello.', { format: 'pcm' })
  t.match(Object.fromEntries(mock.requests[0]?.query ?? []), { model: 'nova-2' })
  t.match(Object.fromEntries(mock.requests[1]?.query ?? []), { model: 'aura-2-orion-en' })
})

t.test('registered alone with only its declared dependencies, the plugin serves STT and TTS from its options', async t => {
  const mock = await startDeepgramMock({ apiKey: KEY, transcript: 'hello' })
  t.teardown(mock.close)
  const app = await providerPluginAlone(t, llmrtcProviderDeepgram, { apiKey: KEY, baseUrl: mock.url })
  t.same([app.llmrtcProviders.stt.name, app.llmrtcProviders.tts.name], ['deepgram', 'deepgram'])
  t.equal((await app.llmrtcProviders.stt.transcribe(encodeWav(tone(500), 16_000))).text, 'hello')
})

t.test('the plugin needs the providers plugin', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(llmrtcProviderDeepgram)
  await t.rejects(async () => { await app.ready() }, { code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE', message: /'llmrtcProviders' required by 'llmrtc-provider-deepgram'/ })
})

t.test('the pipeline\'s streaming transcription gets interims as they come and the joined finals (with their words) at end of speech', async t => {
  const mock = await startDeepgramMock({ transcript: 'turn the lights off in the kitchen please' })
  t.teardown(mock.close)
  const stt = new DeepgramSTT({ apiKey: mock.apiKey, baseUrl: mock.url })
  const interims: string[] = []
  const session = new AbortController()
  const transcription = new StreamingTranscription(stt.transcribeStream.bind(stt), text => { interims.push(text) }, session.signal)
  const speech = tone(1000)
  for (let i = 0; i < speech.length; i += 320) transcription.write(speech.subarray(i, i + 320))
  transcription.end()
  const final = await transcription.final(AbortSignal.timeout(5000))
  t.equal(final.text, 'turn the lights off in the kitchen please')
  t.same(final.words?.map(w => [w.word, w.startMs, w.endMs]), final.text.split(' ').map((word, i) => [word, i * 100, (i + 1) * 100]), 'the finals\' words, joined, timed from the utterance\'s first byte')
  t.equal(interims[0], 'turn')
  t.equal(interims.at(-1), 'turn the lights off in the kitchen please', 'interims carry the finals so far')
  t.same(mock.live[0]?.received.slice(-2), ['Finalize', 'CloseStream'])
})
