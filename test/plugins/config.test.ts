import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtc, { type LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'

/** Sets process.env variables for one test and restores them at its end. */
function withProcessEnv (t: Test, values: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(values).map(name => [name, process.env[name]]))
  Object.assign(process.env, values)
  t.teardown(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
}

async function ready (t: Test, options: LLMRTCPluginOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, demoPage: false, ...options })
  await app.ready()
  return app
}

t.test('as a plugin, llmrtc does not read process.env: a host\'s JWT_SECRET, REDIS_URL and LOG_LEVEL change nothing', async t => {
  withProcessEnv(t, { JWT_SECRET: 'host-secret', REDIS_URL: 'redis://127.0.0.1:1/0', LOG_LEVEL: 'WARN', MAX_SESSIONS: '0', SYSTEM_PROMPT: 'host prompt' })
  const app = await ready(t, {})
  t.equal(app.llmrtcConfig.jwt, undefined, 'no authentication')
  t.equal(app.llmrtcConfig.redis, undefined, 'no Redis store')
  t.equal(app.llmrtcConfig.maxSessions, 100)
  t.not(app.llmrtcConfig.systemPrompt, 'host prompt')
  t.same(app.llmrtcEnv, {})
  t.equal(app.llmrtcProviders.tts.name, 'builtin-tone-tts', 'nor its PATH: an installed espeak-ng is not the default without env')
})

t.test('env: process.env reads llmrtc\'s variables, and ignores the standalone server\'s LOG_LEVEL, PORT, HOST and TRUST_PROXY', async t => {
  withProcessEnv(t, { LOG_LEVEL: 'WARN', PORT: 'http', HOST: '', TRUST_PROXY: 'maybe', MAX_SESSIONS: '3', JWT_SECRET: 'given-secret' })
  const app = await ready(t, { env: process.env })
  t.equal(app.llmrtcConfig.maxSessions, 3)
  t.equal(app.llmrtcConfig.jwt?.secret, 'given-secret', 'an environment given on purpose turns authentication on')
  for (const name of ['LOG_LEVEL', 'PORT', 'HOST', 'TRUST_PROXY']) t.notOk(name in app.llmrtcEnv, `${name} is not read`)
})

t.test('a bad value of a variable llmrtc reads fails ready() naming the variable, its value and what is expected', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(llmrtcConfig, { env: { MAX_SESSIONS: '0' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: 'Invalid environment variable MAX_SESSIONS: expected an integer >= 1, instead got "0"' })
  const ice = Fastify({ logger: false })
  t.teardown(() => ice.close())
  ice.register(llmrtcConfig, { env: { ICE_SERVERS: '[bad' } })
  await t.rejects(async () => { await ice.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: /ICE_SERVERS: .*instead got malformed JSON \(Unexpected token 'b'\)$/ })
})

t.test('env must be an object or false', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(llmrtcConfig, { env: 'process.env' as never })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /option "env": expected an object of environment variables/ })
})

t.test('unknown option keys are refused at every level of the umbrella, and Fastify\'s register options are accepted', async t => {
  for (const [options, message] of [
    [{ sytemPrompt: 'x' }, /^Unknown llmrtc option "sytemPrompt": did you mean "systemPrompt"\?/],
    [{ webrtc: { gatherTimeout: 100 } }, /^Unknown llmrtc option "webrtc.gatherTimeout": did you mean "webrtc.gatherTimeoutMs"\? expected one of loadWrtc, gatherTimeoutMs, disconnectedGraceMs, opusDtx$/],
    [{ vad: { minSpeechMS: 100 } }, /^Unknown llmrtc option "vad.minSpeechMS": did you mean "vad.minSpeechMs"\?/],
    [{ metrics: { paths: '/m' } }, /^Unknown llmrtc option "metrics.paths": did you mean "metrics.path"\? expected one of path, defaultMetrics$/],
    [{ jwt: { secret: 's', audiences: ['a'] } }, /^Unknown llmrtc option "jwt.audiences"/]
  ] as const) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    app.register(llmrtc, { env: false, webrtc: false, ...options } as LLMRTCPluginOptions)
    await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message }, JSON.stringify(options))
  }
  const app = await ready(t, { env: false, logLevel: 'warn', logSerializers: {} } as LLMRTCPluginOptions)
  t.ok(app.hasDecorator('llmrtcConfig'))
})
