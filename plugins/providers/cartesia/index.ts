import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../../lib/errors.js'
import { CartesiaTTS } from '../../../lib/providers/cartesia/index.js'

/**
 * Registers Cartesia's TTS as `cartesia`, chosen when CARTESIA_API_KEY is set (or by
 * TTS_PROVIDER=cartesia), configured by CARTESIA_BASE_URL, CARTESIA_MODEL, CARTESIA_VOICE_ID and
 * CARTESIA_LANGUAGE. The provider is built only when chosen, at `ready()`; its WebSocket opens on the
 * first sentence and closes with the app (the providers plugin's `onClose` calls `close()`).
 */
async function llmrtcProviderCartesia (fastify: FastifyInstance, _opts: object): Promise<void> {
  fastify.llmrtcProviders.registry.register('tts', {
    name: 'cartesia',
    keyEnv: 'CARTESIA_API_KEY',
    create: env => {
      const apiKey = env.CARTESIA_API_KEY
      if (apiKey === undefined) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Cartesia API key', 'apiKey', 'CARTESIA_API_KEY')
      return new CartesiaTTS({
        apiKey,
        baseURL: env.CARTESIA_BASE_URL,
        model: env.CARTESIA_MODEL,
        voiceId: env.CARTESIA_VOICE_ID,
        language: env.CARTESIA_LANGUAGE
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
