import Fastify from 'fastify'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcHooks from '../../plugins/hooks/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviders from '../../plugins/providers/index.js'
import llmrtcProviderOpenAI from '../../plugins/providers/openai/index.js'
import { buildApp, providerPluginAlone } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'
import { MOCK_REPLY, MOCK_TRANSCRIPT, startOpenAIMock } from '../mocks/openai-mock.js'

const KEY = 'sk-proj-plugin-secret-4242'

function speechLike (ms: number): Int16Array {
  const samples = new Int16Array(16 * ms)
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(5000 * Math.sin(2 * Math.PI * 220 * i / 16000))
  return samples
}

t.test('with OPENAI_API_KEY the plugin serves all three roles from the environment, and no log line holds the key', async t => {
  const mock = await startOpenAIMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: {
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: mock.baseURL,
      OPENAI_MODEL: 'gpt-4.1-mini',
      OPENAI_STT_MODEL: 'whisper-1',
      OPENAI_TTS_MODEL: 'tts-1',
      OPENAI_TTS_VOICE: 'nova',
      OPENAI_TTS_INSTRUCTIONS: 'Warm.'
    }
  })
  await app.ready()
  const providers = app.llmrtcProviders
  t.same([providers.llm.name, providers.stt.name, providers.tts.name], ['openai-llm', 'openai-stt', 'openai-tts'])
  t.same(providers.reasons, { llm: 'OPENAI_API_KEY is set', stt: 'OPENAI_API_KEY is set', tts: 'OPENAI_API_KEY is set' })

  // One turn over the WebSocket audio path: STT, LLM and TTS all through the mock.
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(speechLike(800), 16_000).toString('base64') })
  await client.next('tts-complete')
  t.match(client.messages.find(m => m.type === 'transcript'), { text: MOCK_TRANSCRIPT, isFinal: true })
  t.match(client.messages.find(m => m.type === 'llm'), { text: MOCK_REPLY })
  t.match(client.messages.find(m => m.type === 'tts-chunk'), { sampleRate: 24_000 })
  t.match(mock.requestsTo('transcriptions')[0]?.body, { model: 'whisper-1' })
  t.match(mock.requestsTo('chat')[0]?.body, { model: 'gpt-4.1-mini', stream: true, messages: [{ role: 'system' }, { role: 'user', content: MOCK_TRANSCRIPT }] })
  t.match(mock.requestsTo('speech')[0]?.body, { model: 'tts-1', voice: 'nova', response_format: 'pcm' })
  t.notOk('instructions' in (mock.requestsTo('speech')[0]?.body ?? {}), 'tts-1 gets no instructions')
  t.ok(mock.requests.every(r => r.headers.authorization === `Bearer ${KEY}`), 'every request carries the key')

  // A failing call is logged with its error: still without the key.
  mock.script('chat', { type: 'error', status: 401 })
  const mark = client.messages.length
  client.send({ type: 'audio', data: encodeWav(speechLike(800), 16_000).toString('base64') })
  t.match(await client.next('error', mark), { code: 'LLM_ERROR' })
  client.ws.terminate()
  await app.close()
  t.ok(lines.some(l => l.includes('provider selected')), 'logs were captured')
  t.notOk(lines.some(l => l.includes(KEY) || l.includes('plugin-secret')), 'no log line contains the key')
})

t.test('a wrong key fails the LLM call with OpenAI\'s 401 after one request, the key masked by OpenAI', async t => {
  const mock = await startOpenAIMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { webrtc: false, env: { OPENAI_API_KEY: 'sk-proj-wrong-key-9876', OPENAI_BASE_URL: mock.baseURL } })
  const error = await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e)
  // OpenAI echoes the key's first 8 and last 4 characters: that much reaches error messages and logs.
  t.match(error, { status: 401, code: 'invalid_api_key', message: /Incorrect API key provided: sk-proj-\*+9876\./ })
  t.notMatch((error as Error).message, /wrong-key/)
  t.equal(mock.requestsTo('chat').length, 1)
})

t.test('LLM_PROVIDER=openai with only OPENAI_BASE_URL reaches a local server with a placeholder key', async t => {
  const mock = await startOpenAIMock()
  t.teardown(() => mock.close())
  const app = await buildApp(t, { webrtc: false, env: { LLM_PROVIDER: 'openai', OPENAI_BASE_URL: mock.baseURL, OPENAI_MODEL: 'llama3.2' } })
  t.equal(app.llmrtcProviders.llm.name, 'openai-llm')
  t.equal(app.llmrtcProviders.reasons.llm, 'LLM_PROVIDER=openai')
  t.equal(app.llmrtcProviders.stt.name, 'builtin-placeholder-stt', 'STT and TTS stay built-in: no key selects them')
  t.equal(app.llmrtcProviders.tts.name, 'builtin-tone-tts')
  const result = await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })
  t.equal(result.fullText, MOCK_REPLY)
  t.equal(mock.requestsTo('chat')[0]?.headers.authorization, 'Bearer local')
  t.match(mock.requestsTo('chat')[0]?.body, { model: 'llama3.2' })
})

t.test('choosing openai without OPENAI_API_KEY or OPENAI_BASE_URL fails ready() naming OPENAI_API_KEY', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { TTS_PROVIDER: 'openai' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /OpenAI API key for the TTS.*OPENAI_API_KEY/ })
})

t.test('without the key the plugin leaves every role to others', async t => {
  const app = await buildApp(t, { webrtc: false, env: {} })
  t.same([app.llmrtcProviders.llm.name, app.llmrtcProviders.stt.name, app.llmrtcProviders.tts.name], ['builtin-assistant', 'builtin-placeholder-stt', 'builtin-tone-tts'])
  t.ok(app.llmrtcProviders.registry.names('stt').includes('openai'), 'openai is registered for stt')
})

t.test('the plugin needs llmrtc-providers registered first', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(llmrtcProviderOpenAI).ready() }, /llmrtcProviders' required by 'llmrtc-provider-openai'/)
})

t.test('the umbrella\'s openai option gives the key, base URL and models, with no environment', async t => {
  const mock = await startOpenAIMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, {
    webrtc: false,
    env: false,
    openai: { apiKey: KEY, baseURL: mock.baseURL, maxRetries: 0, llm: { model: 'gpt-4.1-mini' }, stt: { model: 'whisper-1', language: 'fr' }, tts: { model: 'tts-1', voice: 'nova' } }
  })
  const providers = app.llmrtcProviders
  t.same([providers.llm.name, providers.stt.name, providers.tts.name], ['openai-llm', 'openai-stt', 'openai-tts'])
  t.same(providers.reasons, { llm: 'its apiKey option is set', stt: 'its apiKey option is set', tts: 'its apiKey option is set' })
  t.equal((await providers.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })).fullText, MOCK_REPLY)
  t.equal((await providers.stt.transcribe(encodeWav(speechLike(300), 16_000))).text, MOCK_TRANSCRIPT)
  await providers.tts.speak('Hello.', { format: 'pcm' })
  t.match(mock.requestsTo('chat')[0]?.body, { model: 'gpt-4.1-mini' })
  t.match(mock.requestsTo('transcriptions')[0]?.body, { model: 'whisper-1', language: 'fr' })
  t.match(mock.requestsTo('speech')[0]?.body, { model: 'tts-1', voice: 'nova' })
  t.ok(mock.requests.every(r => r.headers.authorization === `Bearer ${KEY}`), 'every request carries the option\'s key')
})

t.test('the openai option\'s stt.wordTimestamps reaches the STT: whisper-1 results carry their words', async t => {
  const mock = await startOpenAIMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { webrtc: false, env: false, openai: { apiKey: KEY, baseURL: mock.baseURL, stt: { model: 'whisper-1', wordTimestamps: true } } })
  const result = await app.llmrtcProviders.stt.transcribe(encodeWav(speechLike(300), 16_000))
  t.same(result.words?.map(w => w.word), MOCK_TRANSCRIPT.replace(/[^\w\s]/g, '').split(' '))
  t.match(mock.requestsTo('transcriptions')[0]?.body, { response_format: 'verbose_json', 'timestamp_granularities[]': 'word' })
})

t.test('an openai option wins over its OPENAI_* variable, and a variable still fills an option left out', async t => {
  const mock = await startOpenAIMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, {
    webrtc: false,
    env: { OPENAI_API_KEY: 'sk-from-env', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', OPENAI_MODEL: 'from-env', OPENAI_TTS_VOICE: 'onyx' },
    openai: { apiKey: KEY, baseURL: mock.baseURL, llm: { model: 'from-option' } }
  })
  t.equal(app.llmrtcProviders.reasons.llm, 'its apiKey option is set')
  await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })
  await app.llmrtcProviders.tts.speak('Hello.', { format: 'pcm' })
  t.match(mock.requestsTo('chat')[0], { headers: { authorization: `Bearer ${KEY}` }, body: { model: 'from-option' } })
  t.match(mock.requestsTo('speech')[0]?.body, { voice: 'onyx' })
})

t.test('registered alone with only its declared dependencies, the plugin serves every role from its options', async t => {
  const mock = await startOpenAIMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await providerPluginAlone(t, llmrtcProviderOpenAI, { apiKey: KEY, baseURL: mock.baseURL, llm: { model: 'llama3.2' } })
  t.same([app.llmrtcProviders.llm.name, app.llmrtcProviders.stt.name, app.llmrtcProviders.tts.name], ['openai-llm', 'openai-stt', 'openai-tts'])
  t.equal((await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })).fullText, MOCK_REPLY)
  t.match(mock.requestsTo('chat')[0]?.body, { model: 'llama3.2' })
})

t.test('with LOCAL_ONLY=true the plugin alone admits its local base URL and picks it for the LLM', async t => {
  const mock = await startOpenAIMock()
  t.teardown(() => mock.close())
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtcConfig, { env: { LOCAL_ONLY: 'true' } })
  await app.register(llmrtcHooks)
  await app.register(llmrtcProviders)
  await app.register(llmrtcProviderOpenAI, { baseURL: mock.baseURL })
  await app.ready()
  t.equal(app.llmrtcProviders.llm.name, 'openai-llm')
  t.equal(app.llmrtcProviders.reasons.llm, 'LOCAL_ONLY=true, its baseURL option is a local server')
  t.equal((await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })).fullText, MOCK_REPLY)
  t.equal(mock.requestsTo('chat')[0]?.headers.authorization, 'Bearer local')
})

t.test('an unknown provider option is refused naming its path, through the umbrella and registered alone', async t => {
  for (const [options, message] of [
    [{ openai: { llm: { modl: 'gpt-4.1-mini' } } }, /^Unknown llmrtc option "openai\.llm\.modl": did you mean "openai\.llm\.model"\?/],
    [{ deepgram: { keepAliveMs: 1000 } }, /^Unknown llmrtc option "deepgram\.keepAliveMs"/],
    [{ cartesia: { voiceID: 'x' } }, /^Unknown llmrtc option "cartesia\.voiceID": did you mean "cartesia\.voiceId"\?/],
    [{ local: { env: {} } }, /^Unknown llmrtc option "local\.env"/],
    [{ local: { espeak: { rate: 200 } } }, /^Unknown llmrtc option "local\.espeak\.rate"/]
  ] as const) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    app.register(llmrtc, { webrtc: false, env: false, ...options } as never)
    await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message }, JSON.stringify(options))
  }
  const alone = Fastify({ logger: false })
  t.teardown(() => alone.close())
  await alone.register(llmrtcConfig, { env: false })
  await alone.register(llmrtcHooks)
  await alone.register(llmrtcProviders)
  alone.register(llmrtcProviderOpenAI, { apikey: 'sk' } as never)
  await t.rejects(async () => { await alone.ready() }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /^Unknown llmrtc option "apikey": did you mean "apiKey"\?/ })
})
