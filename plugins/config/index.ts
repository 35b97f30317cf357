import fastifyEnv from '@fastify/env'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { envSchema, pickKnownEnv, type LLMRTCEnv } from '../../lib/config/env-schema.js'
import { resolveOptions, type LLMRTCOptions, type ResolvedLLMRTCOptions } from '../../lib/config/options.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** llmrtc's options after the environment and defaults were applied. Contains secrets: never log it. */
    llmrtcConfig: ResolvedLLMRTCOptions
    /** The environment variables llmrtc read, validated and coerced by @fastify/env. */
    llmrtcEnv: LLMRTCEnv
  }
}

async function llmrtcConfig (fastify: FastifyInstance, opts: LLMRTCOptions): Promise<void> {
  const source = opts.env === false ? {} : (opts.env ?? process.env)
  await fastify.register(fastifyEnv, {
    confKey: 'llmrtcEnv',
    schema: structuredClone(envSchema),
    data: pickKnownEnv(source),
    env: false,
    dotenv: false
  })
  fastify.decorate('llmrtcConfig', resolveOptions(opts, fastify.llmrtcEnv))
}

export default fp(llmrtcConfig, {
  name: 'llmrtc-config',
  fastify: '5.x'
})
