import fastifyEnv from '@fastify/env'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { envErrorOf } from '../../lib/config/env-errors.js'
import { pickKnownEnv, pluginEnvSchema, type LLMRTCEnv } from '../../lib/config/env-schema.js'
import { invalidOption } from '../../lib/config/invalid-option.js'
import { resolveOptions, type LLMRTCOptions, type ResolvedLLMRTCOptions } from '../../lib/config/options.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** llmrtc's options after the environment and defaults were applied. Contains secrets: never log it. */
    llmrtcConfig: ResolvedLLMRTCOptions
    /** The environment variables llmrtc read (none unless the `env` option is given), validated and coerced by @fastify/env. */
    llmrtcEnv: LLMRTCEnv
  }
}

async function llmrtcConfig (fastify: FastifyInstance, opts: LLMRTCOptions): Promise<void> {
  // A plugin reads the environment only when given one (`env: process.env`): a host app's own JWT_SECRET
  // or REDIS_URL must not turn on llmrtc's authentication or Redis store. The launchers pass process.env.
  const given: unknown = opts?.env
  if (given !== undefined && given !== false && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    invalidOption('env', 'an object of environment variables (such as process.env) or false', given)
  }
  const data = pickKnownEnv(given === undefined || given === false ? {} : given as Record<string, string | undefined>)
  try {
    await fastify.register(fastifyEnv, {
      confKey: 'llmrtcEnv',
      schema: pluginEnvSchema(),
      data,
      env: false,
      dotenv: false
    })
  } catch (error) {
    throw envErrorOf(error, data)
  }
  fastify.decorate('llmrtcConfig', resolveOptions(opts, fastify.llmrtcEnv))
}

export default fp(llmrtcConfig, {
  name: 'llmrtc-config',
  fastify: '5.x'
})
