import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * CORS for llmrtc's HTTP routes (`/health`, the page) with @fastify/cors, for the origins of
 * `allowedOrigins`. Registered only when the `cors` option resolves to true (by default: when
 * `allowedOrigins` is a list); it applies to the routes of the context it is registered in (the
 * umbrella's routes context: llmrtc's routes, never the app's). An app that registered @fastify/cors
 * itself before llmrtc keeps its own configuration.
 */
async function llmrtcCors (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  if (!config.cors) return
  if (fastify.hasPlugin('@fastify/cors')) {
    fastify.log.child({ plugin: 'llmrtc-cors' }).warn('@fastify/cors is already registered: llmrtc leaves CORS to it (set cors: false to silence this)')
    return
  }
  await fastify.register(cors, { origin: config.allowedOrigins === '*' ? '*' : config.allowedOrigins })
}

export default fp(llmrtcCors, {
  name: 'llmrtc-cors',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
