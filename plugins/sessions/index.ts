import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createRedisSessionStore, redisAddress } from '../../lib/sessions/redis-options.js'
import { SessionManager } from '../../lib/sessions/session-manager.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The live sessions of this server: create, resume, expire (see lib/sessions/session-manager.ts). */
    llmrtcSessions: SessionManager
  }
}

/**
 * Sessions and where their records are kept: the `sessionStore` option, else Redis (`redis` option or
 * REDIS_URL), else memory. ioredis is used directly rather than through @fastify/redis: its `redis`
 * decorator would clash with an application's own, and it waits on an unreachable server instead of
 * failing start-up. llmrtc closes a client it created; a client passed in stays the caller's.
 */
async function llmrtcSessions (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  const log = fastify.log.child({ plugin: 'llmrtc-sessions' })
  const redisStore = config.redis === undefined ? undefined : createRedisSessionStore(config.redis, log)
  const manager = new SessionManager({
    systemPrompt: config.systemPrompt,
    historyLimit: config.historyLimit,
    idleTtlMs: config.sessionTtlMs,
    reconnectGraceMs: config.reconnectGraceMs,
    maxSessions: config.maxSessions,
    store: config.sessionStore ?? redisStore,
    clock: config.clock,
    log
  })
  fastify.decorate('llmrtcSessions', manager)
  if (redisStore !== undefined) {
    const redis = config.redis
    // An unreachable Redis fails ready() at once, rather than every reconnect failing later.
    fastify.addHook('onReady', async function connectSessionStore () {
      await redisStore.connect()
      log.info({ redis: redis?.url === undefined ? 'the given client' : redisAddress(redis.url), keyPrefix: redisStore.keyPrefix }, 'session records are kept in Redis')
    })
  }
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
