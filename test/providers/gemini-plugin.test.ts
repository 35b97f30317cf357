import Fastify from 'fastify'
import t from 'tap'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviderGemini from '../../plugins/providers/gemini/index.js'
import { buildApp, providerPluginAlone } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'
import { GEMINI_MOCK_REPLY, startGeminiMock } from '../mocks/gemini-mock.js'

const KEY = 'AIzaSy-plugin-secret-4242'
const hi = { messages: [{ role: 'user' as const, content: 'Hi' }] }

t.test('with GEMINI_API_KEY the plugin answers every turn through Gemini, configured from the environment, never logging the key', async t => {
  const mock = await startGeminiMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, demoPage: false, env: { GEMINI_API_KEY: KEY, GEMINI_BASE_URL: mock.baseUrl, GEMINI_MODEL: 'gemini-2.5-pro' } })
  await app.ready()
  t.equal(app.llmrtcProviders.llm.name, 'gemini-llm')
  t.equal(app.llmrtcProviders.reasons.llm, 'GEMINI_API_KEY is set')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'text', text: 'What can you do?' })
  t.match(await client.next('llm'), { text: GEMINI_MOCK_REPLY })
  await client.next('tts-complete')
  const request = mock.requests[0]
  t.match(request?.path, /\/v1beta\/models\/gemini-2\.5-pro:streamGenerateContent\?alt=sse/)
  t.match(request?.body, { systemInstruction: { parts: [{ text: /\S/ }] }, contents: [{ role: 'user', parts: [{ text: 'What can you do?' }] }] })
  t.equal(request?.headers['x-goog-api-key'], KEY)

  // A failing call is reported as LLM_ERROR and logged: still without the key.
  mock.script({ type: 'error', status: 403 })
  const mark = client.messages.length
  client.send({ type: 'text', text: 'Again?' })
  t.match(await client.next('error', mark), { code: 'LLM_ERROR' })
  client.ws.terminate()
  await app.close()
  t.ok(lines.some(l => l.includes('provider selected')), 'logs were captured')
  t.notOk(lines.some(l => l.includes(KEY) || l.includes('plugin-secret')), 'no log line contains the key')
})

t.test('GOOGLE_API_KEY is accepted as the key when GEMINI_API_KEY is unset', async t => {
  const mock = await startGeminiMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { webrtc: false, env: { GOOGLE_API_KEY: KEY, GEMINI_BASE_URL: mock.baseUrl } })
  t.equal(app.llmrtcProviders.llm.name, 'gemini-llm')
  t.equal(app.llmrtcProviders.reasons.llm, 'GOOGLE_API_KEY is set')
  t.equal((await app.llmrtcProviders.llm.complete(hi)).fullText, GEMINI_MOCK_REPLY)
  t.equal(mock.requests[0]?.headers['x-goog-api-key'], KEY)
})

t.test('GEMINI_API_KEY wins over GOOGLE_API_KEY', async t => {
  const mock = await startGeminiMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { webrtc: false, env: { GEMINI_API_KEY: KEY, GOOGLE_API_KEY: 'AIza-other', GEMINI_BASE_URL: mock.baseUrl } })
  await app.llmrtcProviders.llm.complete(hi)
  t.equal(mock.requests[0]?.headers['x-goog-api-key'], KEY)
})

t.test('with OpenAI\'s key too, GEMINI_API_KEY gives the LLM to Gemini; GOOGLE_API_KEY alone does not', async t => {
  const withGemini = await buildApp(t, { webrtc: false, env: { OPENAI_API_KEY: 'sk-x', GEMINI_API_KEY: 'g' } })
  t.same([withGemini.llmrtcProviders.llm.name, withGemini.llmrtcProviders.tts.name], ['gemini-llm', 'openai-tts'])
  const withGoogle = await buildApp(t, { webrtc: false, env: { OPENAI_API_KEY: 'sk-x', GOOGLE_API_KEY: 'g' } })
  t.equal(withGoogle.llmrtcProviders.llm.name, 'openai-llm', 'GOOGLE_API_KEY is shared by other Google tools: it only chooses Gemini when no key does')
  const chosen = await buildApp(t, { webrtc: false, env: { OPENAI_API_KEY: 'sk-x', GOOGLE_API_KEY: 'g', LLM_PROVIDER: 'gemini' } })
  t.equal(chosen.llmrtcProviders.llm.name, 'gemini-llm', 'LLM_PROVIDER=gemini chooses it')
})

t.test('LLM_PROVIDER=gemini without a key fails ready() and names the variable', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { LLM_PROVIDER: 'gemini' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /GEMINI_API_KEY/ })
})

t.test('a bad GEMINI_BASE_URL fails ready()', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { GEMINI_API_KEY: 'k', GEMINI_BASE_URL: 'generativelanguage.googleapis.com' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /baseUrl/ })
})

t.test('the umbrella\'s gemini option gives the key, URL and model with no environment, and wins over the variables', async t => {
  const mock = await startGeminiMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await buildApp(t, {
    webrtc: false,
    env: { GEMINI_API_KEY: 'AIza-from-env', GEMINI_MODEL: 'from-env' },
    gemini: { apiKey: KEY, baseUrl: mock.baseUrl, model: 'gemini-2.5-flash-lite' }
  })
  t.equal(app.llmrtcProviders.reasons.llm, 'its apiKey option is set')
  await app.llmrtcProviders.llm.complete(hi)
  t.match(mock.requests[0]?.path, /models\/gemini-2\.5-flash-lite:generateContent/)
  t.equal(mock.requests[0]?.headers['x-goog-api-key'], KEY)
})

t.test('unknown or invalid gemini options fail at register time', async t => {
  const unknown = Fastify({ logger: false })
  t.teardown(() => unknown.close())
  await t.rejects(async () => {
    await unknown.register(llmrtc, { webrtc: false, env: false, gemini: { apiKey: 'k', modle: 'x' } as never })
    await unknown.ready()
  }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /gemini\.modle/ })
  const invalid = Fastify({ logger: false })
  t.teardown(() => invalid.close())
  await t.rejects(async () => {
    await invalid.register(llmrtc, { webrtc: false, env: false, gemini: { timeoutMs: -5 } })
    await invalid.ready()
  }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /timeoutMs/ })
})

t.test('registered alone with only its declared dependencies, the plugin answers from its options', async t => {
  const mock = await startGeminiMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await providerPluginAlone(t, llmrtcProviderGemini, { apiKey: KEY, baseUrl: mock.baseUrl })
  t.equal(app.llmrtcProviders.llm.name, 'gemini-llm')
  const chunks = []
  for await (const chunk of app.llmrtcProviders.llm.stream?.(hi) ?? []) chunks.push(chunk)
  t.equal(chunks.map(c => c.content).join(''), GEMINI_MOCK_REPLY)
})
