import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** `fastify.llmrtcDrain`: taking the server out of service without cutting a conversation mid-sentence. */
export interface LLMRTCDrainDecorator {
  /** True from the moment `drain()` was called: `/health` answers 503, new WebSocket upgrades are refused. */
  readonly draining: boolean
  /**
   * Stops accepting new connections and waits until no turn is running (the assistant finished speaking),
   * at most `timeoutMs` (default `drainTimeoutMs`). Resolves whether every turn finished in time. Then
   * `fastify.close()`: sessions are saved to the store and sockets closed with 1001, so clients reconnect
   * elsewhere and resume. Idempotent: a second call waits with the first.
   */
  drain: (timeoutMs?: number) => Promise<{ finished: boolean }>
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcDrain: LLMRTCDrainDecorator
  }
}

/**
 * Graceful drain for rolling deploys: readiness goes down first (a load balancer stops sending traffic),
 * connected clients finish their turns, then the app closes as usual.
 */
async function llmrtcDrain (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  const log = fastify.log.child({ plugin: 'llmrtc-drain' })
  let draining: Promise<{ finished: boolean }> | undefined

  async function waitForTurns (timeoutMs: number): Promise<{ finished: boolean }> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<false>(resolve => { timer = setTimeout(() => { resolve(false) }, timeoutMs) })
    try {
      const finished = await Promise.race([fastify.llmrtcPipeline.idle().then(() => true), deadline])
      return { finished }
    } finally {
      clearTimeout(timer)
    }
  }

  fastify.decorate('llmrtcDrain', {
    get draining () { return draining !== undefined },
    async drain (timeoutMs = config.drainTimeoutMs) {
      if (draining === undefined) {
        log.info({ sessions: fastify.llmrtcSessions.size, timeoutMs }, 'draining: no new connections, waiting for turns in progress')
        draining = waitForTurns(timeoutMs).then((result) => {
          if (result.finished) log.info('drained: no turn in progress')
          else log.warn({ timeoutMs }, 'drain deadline reached with turns still in progress')
          return result
        })
      }
      return await draining
    }
  })
  // New sessions go elsewhere: the signaling route refuses upgrades while `draining` (plugins/signaling/route.ts).
}

export default fp(llmrtcDrain, {
  name: 'llmrtc-drain',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-sessions', 'llmrtc-pipeline'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtcSessions', 'llmrtcPipeline'] }
})
