import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LLMRTCEnv } from '../../../lib/config/env-schema.js'
import { BedrockLLM, type BedrockCredentials, type BedrockLLMOptions } from '../../../lib/providers/bedrock/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/**
 * Options of `llmrtc-provider-bedrock` (the umbrella's `bedrock` option). Each wins over its variable:
 * `model` over BEDROCK_MODEL, `region` over BEDROCK_REGION and AWS_REGION, `credentials` over
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, `profile` over AWS_PROFILE.
 */
export type LLMRTCProviderBedrockOptions = Partial<BedrockLLMOptions>

/**
 * Registers the Bedrock LLM as `bedrock`, chosen when a model is given (the `model` option or
 * BEDROCK_MODEL), or by LLM_PROVIDER=bedrock. Without explicit credentials (option or the environment
 * given to llmrtc), the AWS SDK's default credential chain signs (shared files, SSO, container and
 * instance roles, and its own reading of process.env). Built only when chosen, at `ready()`.
 */
async function llmrtcProviderBedrock (fastify: FastifyInstance, opts: LLMRTCProviderBedrockOptions): Promise<void> {
  refuseUnknownProviderKeys('bedrock', opts)
  const given = Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined)) as LLMRTCProviderBedrockOptions
  fastify.llmrtcProviders.registry.register('llm', {
    name: 'bedrock',
    keyEnv: 'BEDROCK_MODEL',
    keyGiven: given.model !== undefined,
    create: env => {
      const region = env.BEDROCK_REGION ?? env.AWS_REGION
      const credentials = credentialsOf(env)
      const profile = env.AWS_PROFILE
      return new BedrockLLM({
        ...(region !== undefined ? { region } : {}),
        ...(credentials !== undefined ? { credentials } : {}),
        ...(profile !== undefined ? { profile } : {}),
        ...given,
        model: given.model ?? env.BEDROCK_MODEL ?? ''
      })
    }
  })
}

/** Static credentials from the environment llmrtc was given, when both halves are there. */
function credentialsOf (env: LLMRTCEnv): BedrockCredentials | undefined {
  if (env.AWS_ACCESS_KEY_ID === undefined || env.AWS_SECRET_ACCESS_KEY === undefined) return undefined
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN !== undefined ? { sessionToken: env.AWS_SESSION_TOKEN } : {})
  }
}

export default fp(llmrtcProviderBedrock, {
  name: 'llmrtc-provider-bedrock',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
