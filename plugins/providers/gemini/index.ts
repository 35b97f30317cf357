import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { GeminiLLM, geminiOptionsFromEnv, resolveGeminiOptions, type GeminiLLMOptions } from '../../../lib/providers/gemini/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/**
 * Options of `llmrtc-provider-gemini` (the umbrella's `gemini` option): `apiKey`, `baseUrl` and `model`
 * win over GEMINI_API_KEY (or GOOGLE_API_KEY), GEMINI_BASE_URL and GEMINI_MODEL; the rest tunes retries
 * and the timeout, or passes a ready SDK client.
 */
export type LLMRTCProviderGeminiOptions = Partial<GeminiLLMOptions>

/**
 * Registers Google Gemini as the `gemini` LLM, chosen by LLM_PROVIDER=gemini, or when a key is given (the
 * `apiKey` or `client` option, or GEMINI_API_KEY); GOOGLE_API_KEY, the alias Google's SDKs read, chooses
 * it only when no other provider's key is set. The provider is built only when chosen, at `ready()`: a
 * missing key or a bad variable fails `ready()` there.
 */
async function llmrtcProviderGemini (fastify: FastifyInstance, opts: LLMRTCProviderGeminiOptions): Promise<void> {
  refuseUnknownProviderKeys('gemini', opts)
  const given = Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined)) as LLMRTCProviderGeminiOptions
  // Validated now, so a bad option fails at register time even when Gemini is not chosen.
  resolveGeminiOptions({ ...given, apiKey: 'validation-only' })
  fastify.llmrtcProviders.registry.register('llm', {
    name: 'gemini',
    keyEnv: 'GEMINI_API_KEY',
    keyGiven: given.apiKey !== undefined || given.client !== undefined,
    fallback: env => env.GOOGLE_API_KEY !== undefined ? 'GOOGLE_API_KEY is set' : undefined,
    create: env => new GeminiLLM({ ...geminiOptionsFromEnv(env), ...given })
  })
}

export default fp(llmrtcProviderGemini, {
  name: 'llmrtc-provider-gemini',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
