import { readFileSync } from 'node:fs'
import t from 'tap'
import { envSchema, pickKnownEnv } from '../../lib/config/env-schema.js'
import { DEFAULT_SYSTEM_PROMPT, parseIceServers, resolveOptions } from '../../lib/config/options.js'
import { MemorySessionStore } from '../../lib/sessions/memory-session-store.js'

t.test('defaults apply when neither options nor environment say otherwise', async t => {
  const o = resolveOptions({}, {})
  t.match(o, {
    systemPrompt: DEFAULT_SYSTEM_PROMPT,
    historyLimit: 20,
    streamingTTS: true,
    streamingSTT: true,
    iceServers: [],
    path: '/',
    healthPath: '/health',
    sessionTtlMs: 1_800_000,
    reconnectGraceMs: 120_000,
    maxSessions: 100,
    heartbeatTimeoutMs: 45_000,
    maxMessageBytes: 4 * 1024 * 1024
  })
})

t.test('the environment supplies options and explicit options win over it', async t => {
  const env = { SYSTEM_PROMPT: 'from env', HISTORY_LIMIT: 4, STREAMING_TTS: false, ICE_SERVERS: 'stun:stun.example.invalid:3478', SIGNALING_PATH: '/ws', MAX_SESSIONS: 7 }
  const fromEnv = resolveOptions({}, env)
  t.match(fromEnv, { systemPrompt: 'from env', historyLimit: 4, streamingTTS: false, path: '/ws', maxSessions: 7 })
  t.same(fromEnv.iceServers, [{ urls: 'stun:stun.example.invalid:3478' }])
  const explicit = resolveOptions({ systemPrompt: 'explicit', historyLimit: 9, streamingTTS: true }, env)
  t.match(explicit, { systemPrompt: 'explicit', historyLimit: 9, streamingTTS: true })
})

t.test('bad options fail with what was expected and what came instead', async t => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ historyLimit: -1 }, /option "historyLimit": expected an integer >= 0, instead got -1/],
    [{ historyLimit: 'ten' }, /option "historyLimit": expected an integer >= 0, instead got "ten"/],
    [{ streamingTTS: 'yes' }, /option "streamingTTS": expected a boolean, instead got "yes"/],
    [{ systemPrompt: 42 }, /option "systemPrompt": expected a string, instead got 42/],
    [{ path: 'ws' }, /option "path": expected a path starting with "\/", instead got "ws"/],
    [{ iceServers: [{ url: 'stun:x' }] }, /option "iceServers": expected an array of/],
    [{ iceServers: 'stun:x' }, /option "iceServers": expected an array of .*instead got "stun:x"/],
    [{ maxSessions: 0 }, /option "maxSessions": expected an integer >= 1, instead got 0/],
    [{ maxMessageBytes: 10 }, /option "maxMessageBytes": expected an integer >= 1024/],
    [{ hooks: 'onError' }, /option "hooks": expected an object of hook functions, instead got "onError"/],
    [{ providers: { llm: { name: 'x' } } }, /option "providers.llm": expected an object with a string "name" and a "complete" method, instead got object/],
    [{ providers: { tts: { speak: () => {} } } }, /option "providers.tts": expected an object with a string "name" and a "speak" method/],
    [{ sessionStore: { get: () => {} } }, /option "sessionStore": expected a SessionStore/]
  ]
  for (const [options, message] of cases) {
    t.throws(() => resolveOptions(options, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message }, JSON.stringify(Object.keys(options)))
  }
  t.throws(() => resolveOptions(null as never, {}), { message: /option "options": expected an object, instead got null/ })
  t.throws(() => resolveOptions({ systemPrompt: 'x'.repeat(100), historyLimit: 'y'.repeat(100) as never }, {}), { message: /instead got a long string/ }, 'long values are not echoed')
})

t.test('a valid session store and providers are accepted', async t => {
  const store = new MemorySessionStore()
  const o = resolveOptions({ sessionStore: store, providers: { stt: { name: 's', transcribe: async () => ({ text: '', isFinal: true }) } } }, {})
  t.equal(o.sessionStore, store)
  t.equal((o.providers.stt as { name: string }).name, 's')
})

t.test('ICE_SERVERS takes a JSON array or comma-separated URLs', async t => {
  t.same(parseIceServers(undefined), [])
  t.same(parseIceServers('  '), [])
  t.same(parseIceServers('stun:a:3478, turn:b:3478'), [{ urls: 'stun:a:3478' }, { urls: 'turn:b:3478' }])
  t.same(parseIceServers('[{"urls":["turn:b"],"username":"u","credential":"p"}]'), [{ urls: ['turn:b'], username: 'u', credential: 'p' }])
  t.throws(() => parseIceServers('[{"urls":5}]'), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: /variable ICE_SERVERS: expected a JSON array of/ })
  t.throws(() => parseIceServers('http://x'), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: /variable ICE_SERVERS: expected URLs starting with stun:.*, instead got "http:\/\/x"$/ })
})

t.test('only the variables the plugin uses are read from the environment', async t => {
  t.same(pickKnownEnv({ PORT: '1', PATH: '/usr/bin', HISTORY_LIMIT: '', OPENAI_API_KEY: 'k' }), { OPENAI_API_KEY: 'k' })
  t.same(pickKnownEnv({ PORT: '1', LOG_LEVEL: 'WARN', HOST: 'h', TRUST_PROXY: 'x', JWT_SECRET: 's' }), { JWT_SECRET: 's' }, 'not the standalone server\'s PORT, HOST, LOG_LEVEL, TRUST_PROXY')
})

t.test('every environment variable is documented in docs/configuration.md and nothing else is', async t => {
  const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
  const section = docs.slice(docs.indexOf('## Environment variables'))
  const end = section.indexOf('\n## ', 5)
  const table = end === -1 ? section : section.slice(0, end)
  const documented = [...table.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map(m => m[1]).sort()
  t.same(documented, Object.keys(envSchema.properties).sort())
})
