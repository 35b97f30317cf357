import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import t, { type Test } from 'tap'
import * as entry from '../../index.js'
import { connect } from '../helpers/ws-client.js'

// Every sub-plugin of the package entry registered alone with exactly the plugins its fastify-plugin
// metadata declares (`dependencies`, followed transitively): a missing declaration fails `ready()`
// here, and every decorator a plugin declares it needs must come from a plugin it depends on.

interface PluginMeta { name: string, dependencies?: string[], decorators?: { fastify?: string[] } }
type Plugin = FastifyPluginAsync<any> & { [key: symbol]: unknown }

const plugins = Object.values(entry).filter((value): value is Plugin => typeof value === 'function' && meta(value as Plugin) !== undefined)
const byName = new Map(plugins.map(plugin => [meta(plugin)?.name ?? '', plugin]))

function meta (plugin: Plugin): PluginMeta | undefined {
  return plugin[Symbol.for('plugin-meta')] as PluginMeta | undefined
}

/** The plugins `name` needs, dependencies first, each once. */
function withDependencies (name: string, seen = new Set<string>()): Plugin[] {
  if (seen.has(name)) return []
  seen.add(name)
  const plugin = byName.get(name)
  if (plugin === undefined) throw new Error(`${name} is not exported from the package entry`)
  return [...(meta(plugin)?.dependencies ?? []).flatMap(dependency => withDependencies(dependency, seen)), plugin]
}

/** Options each plugin is registered with when it is the one under test. */
const OPTIONS: Record<string, object> = {
  'llmrtc-config': { env: false },
  'llmrtc-webrtc': { loadWrtc: () => { throw new Error('no wrtc in this test') } },
  'llmrtc-provider-openai': { apiKey: 'sk-standalone', baseURL: 'http://127.0.0.1:1/v1' },
  'llmrtc-provider-deepgram': { apiKey: 'dg-standalone' },
  'llmrtc-provider-cartesia': { apiKey: 'sk_car_standalone' },
  'llmrtc-provider-elevenlabs': { apiKey: 'xi-standalone' },
  'llmrtc-provider-anthropic': { apiKey: 'sk-ant-standalone', baseURL: 'http://127.0.0.1:1' },
  'llmrtc-provider-piper': { url: 'http://127.0.0.1:1' },
  'llmrtc-provider-gemini': { apiKey: 'gemini-standalone', baseUrl: 'http://127.0.0.1:1' },
  'llmrtc-provider-local': { env: false },
  'llmrtc-telephony': { twilio: { authToken: 'twilio-standalone' }, publicUrl: 'https://voice.example.test' },
  'llmrtc-provider-bedrock': { model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', region: 'us-east-1', credentials: { accessKeyId: 'AKIDSTANDALONE', secretAccessKey: 'standalone-secret' }, endpoint: 'http://127.0.0.1:1' }
}

/** The config plugin's options when testing a plugin that acts only on some of them. */
const CONFIG: Record<string, object> = {
  'llmrtc-cors': { env: false, allowedOrigins: ['https://app.example'] },
  'llmrtc-rate-limit': { env: false, rateLimit: { max: 1, timeWindow: 60_000 } }
}

/** Routes a plugin acts on, added before `ready()`. */
const SETUP: Record<string, (app: FastifyInstance) => void> = {
  'llmrtc-rate-limit': app => { app.get('/limited', async () => 'ok') }
}

/** What each plugin does once it is ready, checked through its decorator or its route. */
const CHECKS: Record<string, (app: FastifyInstance, t: Test) => Promise<void> | void> = {
  'llmrtc-config': (app, t) => { t.equal(app.llmrtcConfig.path, '/') },
  'llmrtc-hooks': (app, t) => { t.type(app.llmrtc.addHook, 'function') },
  'llmrtc-providers': (app, t) => { t.equal(app.llmrtcProviders.llm.name, 'builtin-assistant') },
  'llmrtc-provider-openai': (app, t) => { t.equal(app.llmrtcProviders.llm.name, 'openai-llm') },
  'llmrtc-provider-deepgram': (app, t) => { t.equal(app.llmrtcProviders.stt.name, 'deepgram') },
  'llmrtc-provider-cartesia': (app, t) => { t.equal(app.llmrtcProviders.tts.name, 'cartesia') },
  'llmrtc-provider-elevenlabs': (app, t) => { t.equal(app.llmrtcProviders.tts.name, 'elevenlabs') },
  'llmrtc-provider-anthropic': (app, t) => { t.equal(app.llmrtcProviders.llm.name, 'anthropic-llm') },
  'llmrtc-provider-piper': (app, t) => { t.equal(app.llmrtcProviders.tts.name, 'piper') },
  'llmrtc-provider-gemini': (app, t) => { t.equal(app.llmrtcProviders.llm.name, 'gemini-llm') },
  'llmrtc-provider-local': (app, t) => { t.ok(app.llmrtcProviders.registry.names('tts').includes('espeak')) },
  'llmrtc-provider-bedrock': (app, t) => { t.equal(app.llmrtcProviders.llm.name, 'bedrock') },
  'llmrtc-sessions': (app, t) => { t.equal(app.llmrtcSessions.size, 0) },
  'llmrtc-recording': (app, t) => { t.type(app.llmrtcRecording.listen, 'function') },
  'llmrtc-auth': (app, t) => { t.type(app.llmrtcAuth.guardUpgrade, 'function') },
  'llmrtc-signaling': async (app, t) => {
    const client = await connect(app)
    t.match(await client.next('ready'), { type: 'ready' }, 'a client connects and gets ready')
    client.ws.terminate()
  },
  'llmrtc-pipeline': (app, t) => { t.type(app.llmrtcPipeline, 'object') },
  'llmrtc-realtime': (app, t) => { t.equal(app.llmrtcRealtime.enabled, false, 'relay mode is off without a provider') },
  'llmrtc-drain': (app, t) => { t.equal(app.llmrtcDrain.draining, false) },
  'llmrtc-health': async (app, t) => { t.equal((await app.inject('/health')).statusCode, 200) },
  'llmrtc-metrics': async (app, t) => {
    const response = await app.inject('/metrics')
    t.equal(response.statusCode, 200)
    t.match(response.body, /^# HELP llmrtc_/m)
  },
  'llmrtc-tracing': (app, t) => { t.ok(app.hasPlugin('llmrtc-tracing')) },
  'llmrtc-cors': async (app, t) => {
    const preflight = await app.inject({ method: 'OPTIONS', url: '/', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
    t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example')
  },
  'llmrtc-rate-limit': async (app, t) => {
    t.equal((await app.inject('/limited')).statusCode, 200)
    t.equal((await app.inject('/limited')).statusCode, 429, 'the second request in the window is refused')
  },
  'llmrtc-demo-page': async (app, t) => {
    const page = await app.inject('/')
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /text\/html/)
  },
  'llmrtc-vad': (app, t) => { t.type(app.llmrtcVad.createDetector, 'function') },
  'llmrtc-webrtc': (app, t) => { t.type(app.llmrtcTransport, 'object') },
  'llmrtc-telephony': async (app, t) => {
    const unsigned = await app.inject({ method: 'POST', url: '/telephony/twilio/voice', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'CallSid=CA1' })
    t.equal(unsigned.statusCode, 403, 'the voice webhook refuses an unsigned call')
  },
  'llmrtc-device': async (app, t) => {
    const plain = await app.inject('/device')
    t.equal(plain.statusCode, 426, 'the device route is a WebSocket endpoint')
  }
}

t.test('the package entry exports every sub-plugin, each with a check here', async t => {
  const names = plugins.map(plugin => meta(plugin)?.name).filter(name => name !== 'llmrtc').sort()
  t.same(names, Object.keys(CHECKS).sort())
})

for (const name of Object.keys(CHECKS)) {
  t.test(`${name} works registered alone with only its declared dependencies`, async t => {
    const chain = withDependencies(name)
    const provided = new Set<string>()
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    for (const plugin of chain) {
      const m = meta(plugin) as PluginMeta
      for (const decorator of m.decorators?.fastify ?? []) {
        t.ok(provided.has(decorator) || app.hasDecorator(decorator), `${m.name} needs ${decorator}, which a declared dependency provides`)
      }
      await app.register(plugin, m.name === 'llmrtc-config' ? CONFIG[name] ?? { env: false } : OPTIONS[m.name] ?? {})
      await app.after()
      for (const decorator of ['llmrtc', 'llmrtcConfig', 'llmrtcEnv', 'llmrtcProviders', 'llmrtcSessions', 'llmrtcSignaling', 'llmrtcAuth', 'llmrtcPipeline', 'llmrtcVad', 'llmrtcTransport', 'llmrtcDrain', 'llmrtcMetrics']) {
        if (app.hasDecorator(decorator)) provided.add(decorator)
      }
    }
    SETUP[name]?.(app)
    await app.ready()
    await CHECKS[name]?.(app, t)
  })
}
