import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { Test } from 'tap'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcHooks from '../../plugins/hooks/index.js'
import llmrtcProviders from '../../plugins/providers/index.js'

/** A fresh app with llmrtc registered (no environment read unless given), closed at teardown. */
export async function buildApp (t: Test, options: LLMRTCPluginOptions = {}, setup?: (app: FastifyInstance) => void | Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { env: false, ...options })
  await setup?.(app)
  await app.ready()
  return app
}

/** An app with one provider plugin and only the plugins it declares as dependencies (no environment), ready. */
export async function providerPluginAlone<O extends object> (t: Test, plugin: FastifyPluginAsync<O>, options: O): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtcConfig, { env: false })
  await app.register(llmrtcHooks)
  await app.register(llmrtcProviders)
  await app.register(plugin, options)
  await app.ready()
  return app
}
