import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../../lib/errors.js'
import { CartesiaTTS, type CartesiaTTSOptions } from '../../../lib/providers/cartesia/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/**
 * Options of `llmrtc-provider-cartesia` (the umbrella's `cartesia` option): `apiKey`, `baseURL`, `model`,
 * `voiceId` and `language` win over their CARTESIA_* variables; the rest tunes rate, timeouts and retries.
 */
export type LLMRTCProviderCartesiaOptions = Partial<CartesiaTTSOptions>

/**
 * Registers Cartesia's TTS as `cartesia`, chosen when a key is given (the `apiKey` option or CARTESIA_API_KEY) (or by
 * TTS_PROVIDER=cartesia), configured by CARTESIA_BASE_URL, CARTESIA_MODEL, CARTESIA_VOICE_ID and
 * CARTESIA_LANGUAGE. The provider is built only when chosen, at `ready()`; its WebSocket opens on the
 * first sentence and closes with the app (the providers plugin's `onClose` calls `close()`).
 */
async function llmrtcProviderCartesia (fastify: FastifyInstance, opts: LLMRTCProviderCartesiaOptions): Promise<void> {
  refuseUnknownProviderKeys('cartesia', opts)
  const given = Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined)) as LLMRTCProviderCartesiaOptions
  fastify.llmrtcProviders.registry.register('tts', {
    name: 'cartesia',
    keyEnv: 'CARTESIA_API_KEY',
    keyGiven: given.apiKey !== undefined,
    create: env => {
      const apiKey = given.apiKey ?? env.CARTESIA_API_KEY
      if (apiKey === undefined) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Cartesia API key', 'apiKey', 'CARTESIA_API_KEY')
      return new CartesiaTTS({
        baseURL: env.CARTESIA_BASE_URL,
        model: env.CARTESIA_MODEL,
        voiceId: env.CARTESIA_VOICE_ID,
        language: env.CARTESIA_LANGUAGE,
        ...given,
        apiKey
      })
    }
  })
}

export default fp(llmrtcProviderCartesia, {
  name: 'llmrtc-provider-cartesia',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
