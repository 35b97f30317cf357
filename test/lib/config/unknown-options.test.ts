import t from 'tap'
import { resolveOptions, type LLMRTCOptions } from '../../../lib/config/options.js'
import { refuseUnknownKeys } from '../../../lib/config/unknown-options.js'

const resolve = (options: unknown): unknown => resolveOptions(options as LLMRTCOptions, {})

t.test('an unknown top-level option is refused, with the nearest known name', async t => {
  t.throws(() => resolve({ systemPromt: 'hi' }), {
    code: 'LLMRTC_ERR_OPTIONS_UNKNOWN',
    message: 'Unknown llmrtc option "systemPromt": did you mean "systemPrompt"? docs/configuration.md lists the options'
  })
  t.throws(() => resolve({ colour: 'blue' }), { message: 'Unknown llmrtc option "colour": docs/configuration.md lists the options' })
})

t.test('an unknown key of a nested option object is refused, named with its path', async t => {
  for (const [options, message] of [
    [{ jwt: { secret: 's', issuers: ['a'] } }, 'Unknown llmrtc option "jwt.issuers": did you mean "jwt.issuer"? expected one of secret, issuer, audience, algorithms, principalClaim'],
    [{ rateLimit: { max: 5, window: 1000 } }, 'Unknown llmrtc option "rateLimit.window": expected one of max, timeWindow'],
    [{ redis: { url: 'redis://x', prefix: 'a:' } }, 'Unknown llmrtc option "redis.prefix": expected one of url, keyPrefix'],
    [{ providers: { lm: {} } }, 'Unknown llmrtc option "providers.lm": did you mean "providers.llm"? expected one of llm, stt, tts'],
    [{ greeting: { instruction: 'hi' } }, 'Unknown llmrtc option "greeting.instruction": did you mean "greeting.instructions"? expected one of instructions'],
    [{ interruption: { mode: 'pause', minWord: 2 } }, 'Unknown llmrtc option "interruption.minWord": did you mean "interruption.minWords"? expected one of mode, minSpeechMs, minWords, resumeAfterMs, onsetThreshold, loudnessOnset, backchannels'],
    [{ preemptive: { after: 100 } }, 'Unknown llmrtc option "preemptive.after": expected one of afterMs'],
    [{ userIdle: { afterMs: 5000, prompt: 'x' } }, /"userIdle.prompt": did you mean "userIdle.prompts"\?/],
    [{ turnDetection: { minEndpoint: 100 } }, /"turnDetection.minEndpoint": did you mean "turnDetection.minEndpointMs"\?/],
    [{ speechFilters: { emojis: false } }, /"speechFilters.emojis": did you mean "speechFilters.emoji"\?/]
  ] as const) {
    t.throws(() => resolve(options), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message }, Object.keys(options).join())
  }
})

t.test('Fastify\'s own register options and the values that are not objects pass', async t => {
  t.doesNotThrow(() => resolve({ prefix: '/voice', logLevel: 'warn', logSerializers: {} }))
  t.doesNotThrow(() => resolve({ jwt: false, turnDetection: false, preemptive: false, userIdle: false, speechFilters: false, greeting: 'hello' }))
  const client = { status: 'ready', eval: () => {}, get: () => {}, anything: true }
  t.doesNotThrow(() => resolve({ redis: client }), 'an ioredis client is not an options object')
})

t.test('a short list of known keys is given whole, a long one only through the docs', async t => {
  t.throws(() => refuseUnknownKeys({ b: 1 }, ['a', 'c'], 'x.'), { message: 'Unknown llmrtc option "x.b": did you mean "x.a"? expected one of a, c' })
  t.doesNotThrow(() => refuseUnknownKeys(undefined, ['a']))
  t.doesNotThrow(() => refuseUnknownKeys([1, 2], ['a']))
})
