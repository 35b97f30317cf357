import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../../lib/errors.js'
import { AnthropicLLM, type AnthropicLLMOptions } from '../../../lib/providers/anthropic/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/**
 * Options of `llmrtc-provider-anthropic` (the umbrella's `anthropic` option): `apiKey`, `baseURL` and
 * `model` win over ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and ANTHROPIC_MODEL; the rest tunes max tokens,
 * prompt caching, sampling, timeouts and retries.
 */
export type LLMRTCProviderAnthropicOptions = Partial<AnthropicLLMOptions>

/**
 * Registers Anthropic's Claude as the LLM `anthropic`, chosen when a key is given (the `apiKey` option or
 * ANTHROPIC_API_KEY) or by LLM_PROVIDER=anthropic. The provider is built only when chosen, at `ready()`.
 */
async function llmrtcProviderAnthropic (fastify: FastifyInstance, opts: LLMRTCProviderAnthropicOptions): Promise<void> {
  refuseUnknownProviderKeys('anthropic', opts)
  const given = Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined)) as LLMRTCProviderAnthropicOptions
  fastify.llmrtcProviders.registry.register('llm', {
    name: 'anthropic',
    keyEnv: 'ANTHROPIC_API_KEY',
    keyGiven: given.apiKey !== undefined || given.client !== undefined,
    create: env => {
      const apiKey = given.apiKey ?? env.ANTHROPIC_API_KEY ?? (given.client !== undefined ? 'unused' : undefined)
      if (apiKey === undefined) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Anthropic API key for the LLM', 'apiKey', 'ANTHROPIC_API_KEY')
      return new AnthropicLLM({ baseURL: env.ANTHROPIC_BASE_URL, model: env.ANTHROPIC_MODEL, ...given, apiKey })
    }
  })
}

export default fp(llmrtcProviderAnthropic, {
  name: 'llmrtc-provider-anthropic',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
