import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { isLocalUrl } from '../../../lib/providers/local/local-url.js'
import { PiperTTS, piperOptionsFromEnv, resolvePiperOptions, type PiperTTSOptions } from '../../../lib/providers/piper/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/**
 * Options of `llmrtc-provider-piper` (the umbrella's `piper` option): `url` and `voice` win over
 * PIPER_URL and PIPER_VOICE; the rest picks the server's API, speaker, scales, rate, timeouts and retries.
 */
export type LLMRTCProviderPiperOptions = Partial<PiperTTSOptions>

/**
 * Registers Piper (a Piper HTTP server) as TTS `piper`, chosen when its URL is given (the `url` option
 * or PIPER_URL) or by TTS_PROVIDER=piper. It counts as local (LOCAL_ONLY) when the URL's host is this
 * machine or the local network. The provider is built only when chosen, at `ready()`; nothing is
 * requested until the first sentence.
 */
async function llmrtcProviderPiper (fastify: FastifyInstance, opts: LLMRTCProviderPiperOptions): Promise<void> {
  refuseUnknownProviderKeys('piper', opts)
  const given = Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined)) as LLMRTCProviderPiperOptions
  // Validated now, so a bad option fails at register time even when Piper is not chosen.
  resolvePiperOptions({ ...given, url: given.url ?? 'http://validation-only' })
  fastify.llmrtcProviders.registry.register('tts', {
    name: 'piper',
    keyEnv: 'PIPER_URL',
    keyGiven: given.url !== undefined,
    local: env => isLocalUrl(given.url ?? env.PIPER_URL),
    create: env => new PiperTTS({ ...piperOptionsFromEnv(env), ...given })
  })
}

export default fp(llmrtcProviderPiper, {
  name: 'llmrtc-provider-piper',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
