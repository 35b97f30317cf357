import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { SessionOwnership } from '../../lib/observability/session-ownership.js'
import { traceTurns } from '../../lib/observability/turn-tracing.js'

/**
 * OpenTelemetry spans for this app's turns (`llmrtc.turn` with `llmrtc.stt`, `llmrtc.llm`, `llmrtc.tts`
 * children), through `@opentelemetry/api` only: spans reach an exporter once the application registers
 * an OpenTelemetry SDK, and cost next to nothing before (docs/observability.md).
 */
async function llmrtcTracing (fastify: FastifyInstance, _opts: object): Promise<void> {
  const log = fastify.log.child({ plugin: 'llmrtc-tracing' })
  const ownership = new SessionOwnership(fastify.llmrtcSessions)
  const stop = traceTurns({
    owns: (sessionId) => ownership.owns(sessionId),
    onListenerError: (err) => { log.warn({ err }, 'turn tracing failed') }
  })
  fastify.addHook('onClose', async function stopTracing () {
    stop()
    ownership.close()
  })
}

export default fp(llmrtcTracing, {
  name: 'llmrtc-tracing',
  fastify: '5.x',
  dependencies: ['llmrtc-sessions'],
  decorators: { fastify: ['llmrtcSessions'] }
})
