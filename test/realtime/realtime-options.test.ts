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
  t.throws(() => resolveRealtimeOptions({ provider: 'gemini' as 'openai', apiKey: 'k' }, {}), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER' })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', voices: 'x' } as never, {}), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /realtime\.voices/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', budget: { maxTokens: -1 } }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /realtime\.budget\.maxTokens/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', budget: { onExceeded: 'stop' as 'warn' } }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /onExceeded/ })
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', fallback: 'maybe' as 'none' }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /fallback/ })
})
