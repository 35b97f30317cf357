import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LLMRTCEnv } from '../../../lib/config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../../lib/errors.js'
import { OpenAILLM, OpenAISTT, OpenAITTS, type OpenAIClientOptions } from '../../../lib/providers/openai/index.js'

/**
 * Placeholder key for OpenAI-compatible servers that need none (Ollama, LM Studio, llama.cpp, vLLM):
 * used only when OPENAI_BASE_URL is set and OPENAI_API_KEY is not.
 */
export const LOCAL_API_KEY = 'local'

/**
 * Registers the OpenAI LLM, STT and TTS, each named `openai` and chosen when OPENAI_API_KEY is set (or
 * by LLM_PROVIDER / STT_PROVIDER / TTS_PROVIDER=openai). Providers are built from the environment only
 * when chosen, at `ready()`.
 */
async function llmrtcProviderOpenAI (fastify: FastifyInstance, _opts: object): Promise<void> {
  const registry = fastify.llmrtcProviders.registry
  registry.register('llm', {
    name: 'openai',
    keyEnv: 'OPENAI_API_KEY',
    create: env => new OpenAILLM({ ...connection(env, 'LLM'), model: env.OPENAI_MODEL })
  })
  registry.register('stt', {
    name: 'openai',
    keyEnv: 'OPENAI_API_KEY',
    create: env => new OpenAISTT({ ...connection(env, 'STT'), model: env.OPENAI_STT_MODEL })
  })
  registry.register('tts', {
    name: 'openai',
    keyEnv: 'OPENAI_API_KEY',
    create: env => new OpenAITTS({
      ...connection(env, 'TTS'),
      model: env.OPENAI_TTS_MODEL,
      voice: env.OPENAI_TTS_VOICE,
      instructions: env.OPENAI_TTS_INSTRUCTIONS
    })
  })
}

function connection (env: LLMRTCEnv, role: string): OpenAIClientOptions {
  const baseURL = env.OPENAI_BASE_URL
  const apiKey = env.OPENAI_API_KEY ?? (baseURL !== undefined ? LOCAL_API_KEY : undefined)
  if (apiKey === undefined) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET(`OpenAI API key for the ${role}`, 'apiKey', 'OPENAI_API_KEY')
  return baseURL === undefined ? { apiKey } : { apiKey, baseURL }
}

export default fp(llmrtcProviderOpenAI, {
  name: 'llmrtc-provider-openai',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
