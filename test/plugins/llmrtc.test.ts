import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcHooks from '../../plugins/hooks/index.js'
import llmrtcConfig from '../../plugins/config/index.js'
import { RuleBasedLLM } from '../../lib/providers/builtin/index.js'
import { buildApp } from '../helpers/app.js'

t.test('llmrtc registers into an app that already has routes, beside them', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.get('/api/hello', async () => ({ hello: 'world' }))
  await app.register(llmrtc, { env: false })
  await app.ready()
  t.same((await app.inject('/api/hello')).json(), { hello: 'world' })
  t.same((await app.inject('/health')).json(), { ok: true })
  for (const name of ['llmrtcConfig', 'llmrtcEnv', 'llmrtc', 'llmrtcProviders', 'llmrtcSessions', 'llmrtcSignaling']) {
    t.ok(app.hasDecorator(name), `decorates ${name}`)
  }
})

t.test('health says ok and nothing else, not even with secrets configured', async t => {
  const app = await buildApp(t, { env: { OPENAI_API_KEY: 'sk-secret-value', SYSTEM_PROMPT: 'private prompt' } })
  const response = await app.inject('/health')
  t.equal(response.statusCode, 200)
  t.equal(response.body, '{"ok":true}')
})

t.test('the health path is configurable', async t => {
  const app = await buildApp(t, { healthPath: '/healthz' })
  t.equal((await app.inject('/healthz')).statusCode, 200)
  t.equal((await app.inject('/health')).statusCode, 404)
})

t.test('a bad option fails ready() with a clear error', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(llmrtc, { env: false, historyLimit: -5 })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: 'Invalid llmrtc option "historyLimit": expected an integer >= 0, instead got -5' })
})

t.test('a bad environment variable fails ready() naming the variable', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(llmrtc, { env: { HISTORY_LIMIT: 'lots' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: 'Invalid environment variable HISTORY_LIMIT: expected an integer >= 0, instead got "lots"' })
})

t.test('an unknown provider name in the environment fails ready()', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(llmrtc, { env: { LLM_PROVIDER: 'skynet' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER', message: 'Unknown llm provider "skynet": expected one of builtin' })
})

t.test('the environment is read through @fastify/env with types coerced', async t => {
  const app = await buildApp(t, { env: { HISTORY_LIMIT: '3', STREAMING_TTS: 'false', ICE_SERVERS: 'stun:s.example.invalid', UNRELATED: 'x' } })
  t.match(app.llmrtcEnv, { HISTORY_LIMIT: 3, STREAMING_TTS: false })
  t.equal(app.llmrtcConfig.historyLimit, 3)
  t.equal(app.llmrtcConfig.streamingTTS, false)
  t.same(app.llmrtcConfig.iceServers, [{ urls: 'stun:s.example.invalid' }])
})

t.test('providers are chosen at ready, initialised, logged without secrets, and closed on close', async t => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(line) } } } })
  const events: string[] = []
  const llm = Object.assign(new RuleBasedLLM(), {
    init: () => { events.push('init') },
    close: () => { events.push('close') }
  })
  await app.register(llmrtc, { env: { OPENAI_API_KEY: 'sk-should-not-appear' }, providers: { llm } })
  t.throws(() => app.llmrtcProviders.llm, { code: 'LLMRTC_ERR_PROVIDER_NOT_READY' })
  await app.ready()
  t.equal(app.llmrtcProviders.llm, llm)
  t.equal(app.llmrtcProviders.stt.name, 'openai-stt', 'the key selects OpenAI for the roles not given')
  t.equal(app.llmrtcProviders.tts.name, 'openai-tts')
  t.same(app.llmrtcProviders.reasons, { llm: 'given in options', stt: 'OPENAI_API_KEY is set', tts: 'OPENAI_API_KEY is set' })
  await app.close()
  t.same(events, ['init', 'close'])
  const selected = lines.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.msg === 'provider selected')
  t.same(selected.map(l => l.role), ['stt', 'llm', 'tts'])
  t.notMatch(lines.join(''), /sk-should-not-appear/)
})

t.test('a provider that fails to initialise fails ready() and keeps the cause', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  const cause = new Error('model file missing')
  await app.register(llmrtc, { env: false, providers: { tts: { name: 'broken', speak: async () => { throw cause }, init: () => { throw cause } } } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_PROVIDER_INIT', message: 'Provider "broken" failed to initialise: model file missing', cause })
})

t.test('provider plugins registered after llmrtc can add factories chosen by key', async t => {
  const app = await buildApp(t, { env: { CARTESIA_API_KEY: 'k' } }, (app) => {
    app.llmrtcProviders.registry.register('llm', { name: 'example', keyEnv: 'CARTESIA_API_KEY', create: () => ({ name: 'example-llm', complete: async () => ({ fullText: 'hi' }) }) })
  })
  t.equal(app.llmrtcProviders.llm.name, 'example-llm')
  t.equal(app.llmrtcProviders.reasons.llm, 'CARTESIA_API_KEY is set')
})

t.test('hooks can be added through fastify.llmrtc.addHook and the hooks option', async t => {
  const seen: string[] = []
  const app = await buildApp(t, { hooks: { onConnection: (id) => { seen.push(`option ${id}`) } } }, (app) => {
    app.llmrtc.addHook('onConnection', (id) => { seen.push(`addHook ${id}`) }).addHook('onDisconnect', () => {})
  })
  await app.llmrtc.hooks.run('onConnection', 's1', 'c1')
  t.same(seen, ['option s1', 'addHook s1'])
  t.throws(() => app.llmrtc.addHook('onRequest' as 'onError', () => {}), { code: 'LLMRTC_ERR_HOOK_UNKNOWN' })
})

t.test('each plugin declares its dependencies, so registering one alone fails clearly', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(llmrtcHooks)
  await t.rejects(async () => { await app.ready() }, { code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE', message: /'llmrtcConfig' required by 'llmrtc-hooks'/ })
})

t.test('the sessions plugin ends sessions when the app closes', async t => {
  const app = Fastify({ logger: false })
  await app.register(llmrtc, { env: false })
  await app.ready()
  const session = app.llmrtcSessions.create()
  await app.close()
  t.ok(session.closed)
})

t.test('the config plugin alone decorates the resolved options', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(fp(async (instance) => { await instance.register(llmrtcConfig, { env: false, maxSessions: 3 }) }))
  await app.ready()
  t.equal(app.llmrtcConfig.maxSessions, 3)
})

t.test('GET on the signaling path serves the voice page beside the WebSocket, unless turned off', async t => {
  const app = await buildApp(t, { webrtc: false })
  const page = await app.inject('/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.body, /<title>llmrtc voice<\/title>/)
  t.match(page.body, /src="\/llmrtc-demo\/client.js"/)
  t.match(page.body, /<link rel="icon" href="data:,">/, 'an inline icon: the browser asks for no /favicon.ico')
  const script = await app.inject('/llmrtc-demo/client.js')
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /javascript/)
  t.match(script.body, /type: 'offer', signal: \{ type: 'offer'/, 'the page speaks protocol v1')
  t.equal((await app.inject('/llmrtc-demo/style.css')).statusCode, 200)

  const off = await buildApp(t, { webrtc: false, demoPage: false })
  t.equal((await off.inject('/')).statusCode, 404)
  t.equal((await off.inject('/llmrtc-demo/client.js')).statusCode, 404)

  const nested = await buildApp(t, { webrtc: false, path: '/voice/ws' })
  t.equal((await nested.inject('/voice/ws')).statusCode, 200)
  t.equal((await nested.inject('/voice/llmrtc-demo/client.js')).statusCode, 200, 'assets sit beside a nested path')
})

t.test('the voice page\'s static files live beside the user\'s own @fastify/static, and index.html only on the signaling path', async t => {
  const app = await buildApp(t, { webrtc: false }, async app => {
    await app.register(fastifyStatic, { root: join(import.meta.dirname, '..', '..', 'docs'), prefix: '/docs/' })
    app.get('/download', async (_request, reply) => await reply.sendFile('protocol.md'))
  })
  t.equal((await app.inject('/docs/protocol.md')).statusCode, 200, 'the user\'s static files')
  t.equal((await app.inject('/download')).statusCode, 200, 'the user\'s reply.sendFile')
  const style = await app.inject('/llmrtc-demo/style.css')
  t.equal(style.statusCode, 200)
  t.match(style.headers['content-type'], /text\/css/)
  t.ok(style.headers.etag, 'cache validators from @fastify/static')
  t.equal((await app.inject({ url: '/llmrtc-demo/style.css', headers: { 'if-none-match': String(style.headers.etag) } })).statusCode, 304)
  t.equal((await app.inject('/llmrtc-demo/index.html')).statusCode, 404)
  t.not((await app.inject('/llmrtc-demo/')).statusCode, 200, 'no page, no listing under the prefix')
  t.equal((await app.inject('/llmrtc-demo/../package.json')).statusCode, 404, 'nothing outside public/')
})
