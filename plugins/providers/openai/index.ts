import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LLMRTCEnv } from '../../../lib/config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../../lib/errors.js'
import { isLocalUrl } from '../../../lib/providers/local/local-url.js'
import { OpenAILLM, OpenAISTT, OpenAITTS, type OpenAIClientOptions, type OpenAILLMOptions, type OpenAISTTOptions, type OpenAITTSOptions } from '../../../lib/providers/openai/index.js'
import { OpenAIRealtimeSTT } from '../../../lib/providers/openai/realtime-transcription/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/**
 * Options of `llmrtc-provider-openai` (the umbrella's `openai` option). Each wins over its variable:
 * `apiKey` over OPENAI_API_KEY, `baseURL` over OPENAI_BASE_URL, `llm.model` over OPENAI_MODEL, and so on.
 */
export interface LLMRTCProviderOpenAIOptions extends Partial<OpenAIClientOptions> {
  /** The chat model and its options (`model` over OPENAI_MODEL). */
  llm?: Omit<OpenAILLMOptions, keyof OpenAIClientOptions>
  /** The transcription model and its options (`model` over OPENAI_STT_MODEL). */
  stt?: Omit<OpenAISTTOptions, keyof OpenAIClientOptions>
  /** The speech model and its options (`model`, `voice`, `instructions` over OPENAI_TTS_*). */
  tts?: Omit<OpenAITTSOptions, keyof OpenAIClientOptions>
}

/**
 * Placeholder key for OpenAI-compatible servers that need none (Ollama, LM Studio, llama.cpp, vLLM):
 * used only when a base URL is set and no key is.
 */
export const LOCAL_API_KEY = 'local'

/**
 * Registers the OpenAI LLM, STT and TTS, each named `openai` and chosen when a key is given (the `apiKey`
 * option or OPENAI_API_KEY), or by LLM_PROVIDER / STT_PROVIDER / TTS_PROVIDER=openai. Providers are built
 * only when chosen, at `ready()`. A base URL on this machine or network (Ollama, llama.cpp, vLLM, a Whisper
 * server) makes them local: LOCAL_ONLY=true then admits them, and picks the LLM without a key.
 * A second STT, `openai-realtime` (streaming over the realtime WebSocket), serves only when named
 * (STT_PROVIDER=openai-realtime); it takes the same `stt` options and OPENAI_STT_MODEL.
 */
async function llmrtcProviderOpenAI (fastify: FastifyInstance, opts: LLMRTCProviderOpenAIOptions): Promise<void> {
  refuseUnknownProviderKeys('openai', opts)
  const { llm, stt, tts, ...client } = opts
  const registry = fastify.llmrtcProviders.registry
  const keyGiven = client.apiKey !== undefined || client.client !== undefined
  const baseURL = (env: LLMRTCEnv): string | undefined => client.baseURL ?? env.OPENAI_BASE_URL
  const local = (env: LLMRTCEnv): boolean => client.client === undefined && isLocalUrl(baseURL(env))
  const connection = (env: LLMRTCEnv, role: string): OpenAIClientOptions => {
    const url = baseURL(env)
    const apiKey = client.apiKey ?? env.OPENAI_API_KEY ?? (url !== undefined || client.client !== undefined ? LOCAL_API_KEY : undefined)
    if (apiKey === undefined) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET(`OpenAI API key for the ${role}`, 'apiKey', 'OPENAI_API_KEY')
    return { ...definedOnly(client), apiKey, ...(url !== undefined ? { baseURL: url } : {}) }
  }
  registry.register('llm', {
    name: 'openai',
    keyEnv: 'OPENAI_API_KEY',
    keyGiven,
    local,
    fallback: env => env.LOCAL_ONLY === true && local(env) ? `${client.baseURL !== undefined ? 'its baseURL option' : 'OPENAI_BASE_URL'} is a local server` : undefined,
    create: env => new OpenAILLM({ ...connection(env, 'LLM'), model: env.OPENAI_MODEL, ...definedOnly(llm) })
  })
  registry.register('stt', {
    name: 'openai',
    keyEnv: 'OPENAI_API_KEY',
    keyGiven,
    local,
    create: env => new OpenAISTT({ ...connection(env, 'STT'), model: env.OPENAI_STT_MODEL, ...definedOnly(stt) })
  })
  registry.register('stt', {
    name: 'openai-realtime',
    local,
    create: env => {
      const { client: sdk, apiKey, baseURL: url, maxRetries } = connection(env, 'realtime STT')
      return new OpenAIRealtimeSTT({
        apiKey: sdk?.apiKey ?? apiKey,
        baseURL: sdk?.baseURL ?? url,
        maxRetries,
        model: env.OPENAI_STT_MODEL,
        ...definedOnly(stt)
      })
    }
  })
  registry.register('tts', {
    name: 'openai',
    keyEnv: 'OPENAI_API_KEY',
    keyGiven,
    local,
    create: env => new OpenAITTS({
      ...connection(env, 'TTS'),
      model: env.OPENAI_TTS_MODEL,
      voice: env.OPENAI_TTS_VOICE,
      instructions: env.OPENAI_TTS_INSTRUCTIONS,
      ...definedOnly(tts)
    })
  })
}

/** An option left undefined does not hide its variable. */
function definedOnly<T extends object> (options: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>
}

export default fp(llmrtcProviderOpenAI, {
  name: 'llmrtc-provider-openai',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
