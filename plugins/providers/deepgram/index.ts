import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { DeepgramSTT, DeepgramTTS, deepgramOptionsFromEnv, resolveDeepgramOptions, type DeepgramOptions } from '../../../lib/providers/deepgram/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/**
 * Options of `llmrtc-provider-deepgram` (the umbrella's `deepgram` option): the key, URL, models and
 * language win over their DEEPGRAM_* variables; the rest tunes timeouts, keepalive, retries and TTS rate.
 */
export type LLMRTCProviderDeepgramOptions = Partial<DeepgramOptions>

/**
 * Registers Deepgram as `deepgram` for STT (live streaming, prerecorded fallback) and TTS (Aura),
 * chosen when a key is given (the `apiKey` option or DEEPGRAM_API_KEY) (or by STT_PROVIDER/TTS_PROVIDER=deepgram), configured by
 * DEEPGRAM_BASE_URL, DEEPGRAM_MODEL, DEEPGRAM_LANGUAGE and DEEPGRAM_TTS_MODEL. A provider is built only
 * when chosen, at `ready()`: a missing key or a bad variable fails `ready()` there. Nothing is opened
 * until the first call; each utterance has its own live connection.
 */
async function llmrtcProviderDeepgram (fastify: FastifyInstance, opts: LLMRTCProviderDeepgramOptions): Promise<void> {
  refuseUnknownProviderKeys('deepgram', opts)
  // Validated now, so a bad option fails at register time even when Deepgram is not chosen.
  resolveDeepgramOptions({ ...opts, apiKey: 'validation-only' })
  const { registry } = fastify.llmrtcProviders
  const keyGiven = opts.apiKey !== undefined
  registry.register('stt', {
    name: 'deepgram',
    keyEnv: 'DEEPGRAM_API_KEY',
    keyGiven,
    create: env => new DeepgramSTT({ ...deepgramOptionsFromEnv(env), ...definedOnly(opts) })
  })
  registry.register('tts', {
    name: 'deepgram',
    keyEnv: 'DEEPGRAM_API_KEY',
    keyGiven,
    create: env => new DeepgramTTS({ ...deepgramOptionsFromEnv(env), ...definedOnly(opts) })
  })
}

function definedOnly (opts: LLMRTCProviderDeepgramOptions): LLMRTCProviderDeepgramOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined))
}

export default fp(llmrtcProviderDeepgram, {
  name: 'llmrtc-provider-deepgram',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
