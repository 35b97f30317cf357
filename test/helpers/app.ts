import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'

/** A fresh app with llmrtc registered (no environment read unless given), closed at teardown. */
export async function buildApp (t: Test, options: LLMRTCPluginOptions = {}, setup?: (app: FastifyInstance) => void | Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { env: false, ...options })
  await setup?.(app)
  await app.ready()
  return app
}
