import type { FastifyInstance } from 'fastify'
import { loggerOptions } from './lib/logger.js'
import llmrtc, { type LLMRTCPluginOptions } from './plugins/llmrtc/index.js'

/**
 * Entry for fastify-cli: `fastify start -l info dist/app.js` (options from the environment).
 * fastify-cli listens on its own --port/--address (default 3000).
 */
export default async function app (fastify: FastifyInstance, opts: LLMRTCPluginOptions): Promise<void> {
  // With `-o`, fastify-cli hands this file's server options to the plugin as well: they are not llmrtc's.
  const { forceCloseConnections: _forceCloseConnections, logger: _logger, ...pluginOptions } = opts as LLMRTCPluginOptions & Partial<typeof options>
  // As the launchers do, read llmrtc's variables from the environment (fastify-cli has loaded .env).
  await fastify.register(llmrtc, { env: process.env, ...pluginOptions })
}

/** Server options fastify-cli applies with `-o`: the logger redacts secrets and `?token=` (merged over `-l`). */
export const options = {
  forceCloseConnections: true,
  logger: loggerOptions
}
