import type { FastifyInstance } from 'fastify'
import { loggerOptions } from './lib/logger.js'
import llmrtc, { type LLMRTCPluginOptions } from './plugins/llmrtc/index.js'

/**
 * Entry for fastify-cli: `fastify start -l info dist/app.js` (options from the environment).
 * fastify-cli listens on its own --port/--address (default 3000).
 */
export default async function app (fastify: FastifyInstance, opts: LLMRTCPluginOptions): Promise<void> {
  await fastify.register(llmrtc, opts)
}

/** Server options fastify-cli applies with `-o`: the logger redacts secrets and `?token=` (merged over `-l`). */
export const options = {
  forceCloseConnections: true,
  logger: loggerOptions
}
