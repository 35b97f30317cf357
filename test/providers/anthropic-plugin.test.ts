import Fastify from 'fastify'
import t from 'tap'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviderAnthropic from '../../plugins/providers/anthropic/index.js'
import { providerPluginAlone } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'
import { apiKeyOf, MOCK_REPLY, startAnthropicMock } from '../mocks/anthropic-mock.js'

const KEY = 'sk-ant-api03-plugin-secret-4242'

t.test('with ANTHROPIC_API_KEY Claude answers typed turns, configured from the environment, and no log line holds the key', async t => {
  const mock = await startAnthropicMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: mock.baseURL, ANTHROPIC_MODEL: 'claude-haiku-4-5' } })
  await app.ready()
  t.equal(app.llmrtcProviders.llm.name, 'anthropic-llm')
  t.equal(app.llmrtcProviders.reasons.llm, 'ANTHROPIC_API_KEY is set')

  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'text', text: 'Hello Claude' })
  await client.next('tts-complete')
  t.match(client.messages.find(m => m.type === 'llm'), { text: MOCK_REPLY })
  t.match(mock.requests[0]?.body, { model: 'claude-haiku-4-5', stream: true, max_tokens: 1024, messages: [{ role: 'user', content: 'Hello Claude' }] })
  t.equal(typeof mock.requests[0]?.body.system, 'string', 'the session\'s system prompt is the top-level system')
  t.equal(apiKeyOf(mock.requests[0]?.headers ?? {}), KEY)

  // A rejected key is reported as an LLM error, logged without the key.
  mock.script({ type: 'error', status: 401 })
  const mark = client.messages.length
  client.send({ type: 'text', text: 'Again' })
  t.match(await client.next('error', mark), { code: 'LLM_ERROR' })
  client.ws.terminate()
  await app.close()
  t.notOk(lines.some(l => l.includes(KEY) || l.includes('plugin-secret')), 'no log line contains the key')
})

t.test('LLM_PROVIDER=anthropic without a key fails ready() and names the variable', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { LLM_PROVIDER: 'anthropic' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /ANTHROPIC_API_KEY/ })
})

t.test('with both ANTHROPIC_API_KEY and OPENAI_API_KEY, Claude is the LLM', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { ANTHROPIC_API_KEY: 'sk-ant-x', OPENAI_API_KEY: 'sk-x' } })
  await app.ready()
  t.equal(app.llmrtcProviders.llm.name, 'anthropic-llm')
})

t.test('the umbrella\'s anthropic option gives the key, URL, model and prompt caching, and wins over the variables', async t => {
  const mock = await startAnthropicMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { ANTHROPIC_API_KEY: 'sk-ant-from-env', ANTHROPIC_MODEL: 'from-env' },
    anthropic: { apiKey: KEY, baseURL: mock.baseURL, model: 'claude-opus-4-5', promptCaching: true, maxTokens: 256 }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.reasons.llm, 'its apiKey option is set')
  await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }], config: { systemPrompt: 'Be brief.' } })
  t.same(mock.requests[0]?.body, {
    model: 'claude-opus-4-5',
    max_tokens: 256,
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'Hi' }],
    stream: false
  })
})

t.test('an unknown key in the anthropic option fails at register time', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(llmrtc, { webrtc: false, anthropic: { apiKey: 'k', temperature: 1 } as never })
    await app.ready()
  }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /anthropic\.temperature/ })
})

t.test('registered alone with only its declared dependencies, the plugin answers from its options', async t => {
  const mock = await startAnthropicMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const app = await providerPluginAlone(t, llmrtcProviderAnthropic, { apiKey: KEY, baseURL: mock.baseURL })
  t.equal(app.llmrtcProviders.llm.name, 'anthropic-llm')
  const result = await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })
  t.equal(result.fullText, MOCK_REPLY)
})
