import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { SessionManager } from '../../lib/sessions/session-manager.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The live sessions of this server: create, resume, expire (see lib/sessions/session-manager.ts). */
    llmrtcSessions: SessionManager
  }
}

async function llmrtcSessions (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  const manager = new SessionManager({
    systemPrompt: config.systemPrompt,
    historyLimit: config.historyLimit,
    idleTtlMs: config.sessionTtlMs,
    reconnectGraceMs: config.reconnectGraceMs,
    maxSessions: config.maxSessions,
    store: config.sessionStore,
    clock: config.clock,
    log: fastify.log.child({ plugin: 'llmrtc-sessions' })
  })
  fastify.decorate('llmrtcSessions', manager)
  fastify.addHook('onClose', async function closeSessions () {
    await manager.close()
  })
}

export default fp(llmrtcSessions, {
  name: 'llmrtc-sessions',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
