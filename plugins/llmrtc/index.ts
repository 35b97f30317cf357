import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LLMRTCOptions } from '../../lib/config/options.js'
import llmrtcConfig from '../config/index.js'
import llmrtcHealth from '../health/index.js'
import llmrtcHooks from '../hooks/index.js'
import llmrtcProviders from '../providers/index.js'
import llmrtcSessions from '../sessions/index.js'
import llmrtcSignaling from '../signaling/index.js'

/**
 * The umbrella plugin: `fastify.register(llmrtc, opts)` adds the whole voice server (signaling
 * WebSocket, sessions, providers, hooks, `/health`) to any Fastify app, beside its own routes.
 * Options are validated here, so a bad option fails `ready()`, not the first call.
 */
async function llmrtc (fastify: FastifyInstance, opts: LLMRTCOptions): Promise<void> {
  await fastify.register(llmrtcConfig, opts)
  await fastify.register(llmrtcHooks)
  await fastify.register(llmrtcProviders)
  await fastify.register(llmrtcSessions)
  await fastify.register(llmrtcSignaling)
  await fastify.register(llmrtcHealth)
}

export default fp(llmrtc, {
  name: 'llmrtc',
  fastify: '5.x'
})
