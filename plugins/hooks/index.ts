import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { systemClock } from '../../lib/clock.js'
import { HookRegistry } from '../../lib/hooks/hook-registry.js'
import type { LLMRTCHookName, LLMRTCHooks } from '../../lib/hooks/hook-types.js'

/** `fastify.llmrtc`: llmrtc's own hooks (Fastify rejects unknown hook names on `fastify.addHook`). */
export interface LLMRTCDecorator {
  /** Adds a handler for one of llmrtc's hooks (see docs/hooks.md). Returns the decorator for chaining. */
  addHook: <K extends LLMRTCHookName>(name: K, handler: LLMRTCHooks[K]) => LLMRTCDecorator
  /** The registry the pipeline runs hooks through. */
  readonly hooks: HookRegistry
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtc: LLMRTCDecorator
  }
}

async function llmrtcHooks (fastify: FastifyInstance, _opts: object): Promise<void> {
  const hooks = new HookRegistry(fastify.log.child({ plugin: 'llmrtc-hooks' }), fastify.llmrtcConfig.clock ?? systemClock)
  hooks.addHooks(fastify.llmrtcConfig.hooks)
  // Other plugins add their APIs to this object (llmrtc-telephony: `telephony`): this one fills its own part.
  const decorator: LLMRTCDecorator = {
    hooks,
    addHook (name, handler) {
      hooks.addHook(name, handler)
      return decorator
    }
  } satisfies Pick<LLMRTCDecorator, 'hooks' | 'addHook'> as LLMRTCDecorator
  fastify.decorate('llmrtc', decorator)
}

export default fp(llmrtcHooks, {
  name: 'llmrtc-hooks',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
