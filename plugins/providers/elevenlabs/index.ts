import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LLMRTCEnv } from '../../../lib/config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../../lib/errors.js'
import { ElevenLabsTTS, type ElevenLabsTTSOptions } from '../../../lib/providers/elevenlabs/index.js'
import { ElevenLabsSTT, elevenLabsSTTOptionsFromEnv, resolveElevenLabsSTTOptions, type ElevenLabsSTTOptions } from '../../../lib/providers/elevenlabs/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/** What the ElevenLabs roles share: the key and the API's base URL. */
export interface ElevenLabsConnectionOptions {
  /** Wins over ELEVENLABS_API_KEY. */
  apiKey: string
  /** Wins over ELEVENLABS_BASE_URL. */
  baseURL: string
}

/**
 * Options of `llmrtc-provider-elevenlabs` (the umbrella's `elevenlabs` option): `apiKey` and `baseURL`
 * shared by the roles, then each role's own. Each wins over its variable.
 */
export interface LLMRTCProviderElevenLabsOptions extends Partial<ElevenLabsConnectionOptions> {
  /** The TTS: `model`, `voiceId` and `language` win over ELEVENLABS_MODEL, ELEVENLABS_VOICE_ID and ELEVENLABS_LANGUAGE. */
  tts?: Omit<ElevenLabsTTSOptions, keyof ElevenLabsConnectionOptions>
  /** Scribe STT: `model` and `language` win over ELEVENLABS_STT_MODEL and ELEVENLABS_LANGUAGE; `realtimeModel`, timeouts and retries have no variable. */
  stt?: Omit<ElevenLabsSTTOptions, keyof ElevenLabsConnectionOptions>
}

/**
 * Registers ElevenLabs' TTS as `elevenlabs`, chosen when a key is given (the `apiKey` option or
 * ELEVENLABS_API_KEY) or by TTS_PROVIDER=elevenlabs, configured by ELEVENLABS_BASE_URL, ELEVENLABS_MODEL,
 * ELEVENLABS_VOICE_ID and ELEVENLABS_LANGUAGE. The provider is built only when chosen, at `ready()`; its
 * WebSocket opens on the first sentence and closes with the app (the providers plugin's `onClose` calls
 * `close()`).
 */
async function llmrtcProviderElevenLabs (fastify: FastifyInstance, opts: LLMRTCProviderElevenLabsOptions): Promise<void> {
  refuseUnknownProviderKeys('elevenlabs', opts)
  const { tts, stt, ...connectionGiven } = opts
  // Validated now, so a bad STT option fails at register time even when Scribe is not chosen.
  if (stt !== undefined) resolveElevenLabsSTTOptions({ ...definedOnly(stt), apiKey: 'validation-only' })
  const connection = definedOnly(connectionGiven)
  const registry = fastify.llmrtcProviders.registry
  const keyGiven = connection.apiKey !== undefined
  const apiKey = (env: LLMRTCEnv, role: string): string => {
    const key = connection.apiKey ?? env.ELEVENLABS_API_KEY
    if (key === undefined) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET(`ElevenLabs API key for the ${role}`, 'apiKey', 'ELEVENLABS_API_KEY')
    return key
  }
  const baseURL = (env: LLMRTCEnv): { baseURL?: string } => {
    const url = connection.baseURL ?? env.ELEVENLABS_BASE_URL
    return url !== undefined ? { baseURL: url } : {}
  }

  registry.register('tts', {
    name: 'elevenlabs',
    keyEnv: 'ELEVENLABS_API_KEY',
    keyGiven,
    create: env => new ElevenLabsTTS({
      model: env.ELEVENLABS_MODEL,
      voiceId: env.ELEVENLABS_VOICE_ID,
      language: env.ELEVENLABS_LANGUAGE,
      ...definedOnly(tts ?? {}),
      ...baseURL(env),
      apiKey: apiKey(env, 'TTS')
    })
  })

  registry.register('stt', {
    name: 'elevenlabs',
    keyEnv: 'ELEVENLABS_API_KEY',
    keyGiven,
    create: env => new ElevenLabsSTT({
      ...elevenLabsSTTOptionsFromEnv(env),
      ...definedOnly(stt ?? {}),
      ...baseURL(env),
      apiKey: apiKey(env, 'STT')
    })
  })
}

/** `options` without the keys whose value is undefined, so they do not hide a variable's value. */
function definedOnly<T extends object> (options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>
}

export default fp(llmrtcProviderElevenLabs, {
  name: 'llmrtc-provider-elevenlabs',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
