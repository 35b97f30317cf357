import t from 'tap'
import { resolveRealtimeOptions } from '../../plugins/realtime/options.js'

t.test('relay mode is off without a provider option or REALTIME_PROVIDER', async t => {
  t.equal(resolveRealtimeOptions({}, {}), undefined)
})

t.test('the environment configures the relay, and options win over it', async t => {
  const env = { REALTIME_PROVIDER: 'openai' as const, OPENAI_API_KEY: 'sk-env', REALTIME_MODEL: 'gpt-realtime-mini', REALTIME_VOICE: 'cedar', REALTIME_INSTRUCTIONS: 'From env.', REALTIME_MAX_SESSION_MS: 60_000, REALTIME_MAX_TOKENS: 5000, REALTIME_BUDGET_ACTION: 'warn' as const }
  t.match(resolveRealtimeOptions({}, env), {
    provider: 'openai',
    apiKey: 'sk-env',
    model: 'gpt-realtime-mini',
    voice: 'cedar',
    instructions: 'From env.',
    budget: { maxSessionMs: 60_000, maxTokens: 5000, onExceeded: 'warn' },
    turnDetection: { type: 'server_vad' },
    fallback: 'pipeline',
    connectTimeoutMs: 10_000
  })
  t.match(resolveRealtimeOptions({ model: 'gpt-realtime', voice: 'marin', apiKey: 'sk-opt', budget: { maxTokens: 10 } }, env), { model: 'gpt-realtime', voice: 'marin', apiKey: 'sk-opt', budget: { maxTokens: 10, maxSessionMs: 60_000, onExceeded: 'warn' } })
})

t.test('defaults: gpt-realtime, marin, end-session', async t => {
  t.match(resolveRealtimeOptions({ provider: 'openai', apiKey: 'sk' }, {}), { model: 'gpt-realtime', voice: 'marin', budget: { onExceeded: 'end-session' } })
})

t.test('bad relay options fail with the option named', async t => {
  t.throws(() => resolveRealtimeOptions({ provider: 'openai' }, {}), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /OPENAI_API_KEY/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'azure' as 'openai', apiKey: 'k' }, {}), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER', message: /"openai", "gemini"/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', voices: 'x' } as never, {}), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /realtime\.voices/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', budget: { maxTokens: -1 } }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /realtime\.budget\.maxTokens/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', budget: { onExceeded: 'stop' as 'warn' } }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /onExceeded/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', fallback: 'maybe' as 'none' }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /fallback/ })
})

t.test('gemini: GEMINI_API_KEY, else GOOGLE_API_KEY; GEMINI_BASE_URL; its own model and voice defaults', async t => {
  t.match(resolveRealtimeOptions({ provider: 'gemini' }, { GEMINI_API_KEY: 'g-key', GOOGLE_API_KEY: 'google-key', GEMINI_BASE_URL: 'http://127.0.0.1:9', OPENAI_API_KEY: 'sk', OPENAI_BASE_URL: 'http://openai' }), {
    provider: 'gemini',
    apiKey: 'g-key',
    baseURL: 'http://127.0.0.1:9',
    model: 'gemini-2.5-flash-native-audio-preview-12-2025',
    voice: 'Puck'
  })
  t.match(resolveRealtimeOptions({}, { REALTIME_PROVIDER: 'gemini', GEMINI_API_KEY: '', GOOGLE_API_KEY: 'google-key' }), { provider: 'gemini', apiKey: 'google-key' }, 'an empty GEMINI_API_KEY falls back to GOOGLE_API_KEY')
  const options = resolveRealtimeOptions({ provider: 'gemini', apiKey: 'opt-key', model: 'gemini-live-2.5-flash', voice: 'Kore' }, { GEMINI_API_KEY: 'g-key', REALTIME_VOICE: 'Aoede' })
  t.match(options, { apiKey: 'opt-key', model: 'gemini-live-2.5-flash', voice: 'Kore' })
  t.equal(options?.baseURL, undefined, 'no OPENAI_BASE_URL for Gemini')
  t.match(resolveRealtimeOptions({ provider: 'gemini' }, { GOOGLE_API_KEY: 'k', REALTIME_MODEL: 'm', REALTIME_VOICE: 'Charon' }), { model: 'm', voice: 'Charon' })
  t.throws(() => resolveRealtimeOptions({ provider: 'gemini' }, { OPENAI_API_KEY: 'sk' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /GEMINI_API_KEY \(or GOOGLE_API_KEY\)/ })
})
