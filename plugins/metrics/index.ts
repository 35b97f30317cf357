import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Registry } from 'prom-client'
import { clusterWorker } from '../../lib/cluster/cluster-worker.js'
import type { LLMRTCEnv } from '../../lib/config/env-schema.js'
import { invalidOption } from '../../lib/config/invalid-option.js'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { PrometheusMetrics } from '../../lib/observability/prometheus-metrics.js'
import { SessionOwnership } from '../../lib/observability/session-ownership.js'
import type { SessionTransport } from '../../lib/sessions/session.js'
import llmrtcMetricsRoute from './route.js'

/** Options of the `llmrtc-metrics` plugin (the umbrella's `metrics` option). */
export interface LLMRTCMetricsOptions {
  /**
   * Path of the scrape route (default `/metrics`, or env METRICS_PATH). `false` serves no route: merge
   * `fastify.llmrtcMetrics.registry` into your own.
   */
  path?: string | false
  /** Also collect prom-client's default Node.js metrics (CPU, memory, event loop, GC), prefixed `llmrtc_` (default false). */
  defaultMetrics?: boolean
}

/** `fastify.llmrtcMetrics`: this app's Prometheus registry. */
export interface LLMRTCMetricsDecorator {
  /** Only this app's metrics (never prom-client's global registry). */
  readonly registry: Registry
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcMetrics: LLMRTCMetricsDecorator
  }
}

/** Every key of LLMRTCMetricsOptions (tsc keeps it complete): any other key is refused. */
export const METRICS_OPTION_KEYS: Record<keyof LLMRTCMetricsOptions, true> = { path: true, defaultMetrics: true }

/** Whether the umbrella registers the metrics plugin: an options object (or `false`) wins over env METRICS; on by default. */
export function metricsEnabled (option: LLMRTCMetricsOptions | undefined, env: LLMRTCEnv): boolean {
  return option !== undefined || env.METRICS !== false
}

/**
 * Prometheus metrics of this app's sessions on `GET <path>` (the `llmrtc-metrics-route` plugin), counted from llmrtc's diagnostics channels
 * (docs/observability.md). The route has no authentication: keep it off the public internet.
 */
async function llmrtcMetrics (fastify: FastifyInstance, opts: LLMRTCMetricsOptions): Promise<void> {
  refuseUnknownKeys(opts, [...Object.keys(METRICS_OPTION_KEYS), ...FASTIFY_REGISTER_OPTION_KEYS], 'metrics.')
  if (opts?.defaultMetrics !== undefined && typeof opts.defaultMetrics !== 'boolean') invalidOption('metrics.defaultMetrics', 'a boolean', opts.defaultMetrics)

  const log = fastify.log.child({ plugin: 'llmrtc-metrics' })
  const sessions = fastify.llmrtcSessions
  const signaling = fastify.llmrtcSignaling
  const ownership = new SessionOwnership(sessions)
  const metrics = new PrometheusMetrics({
    activeSessions: () => {
      const byTransport: Partial<Record<SessionTransport, number>> = {}
      for (const session of sessions.list()) byTransport[session.transport] = (byTransport[session.transport] ?? 0) + 1
      return byTransport
    },
    transportOf: (sessionId) => sessions.get(sessionId)?.transport,
    activeConnections: () => signaling.connections().length,
    owns: (sessionId) => ownership.owns(sessionId),
    defaultMetrics: opts?.defaultMetrics === true,
    onListenerError: (err) => { log.warn({ err }, 'metrics listener failed') }
  })

  fastify.decorate('llmrtcMetrics', { registry: metrics.registry })
  // In a worker of LLMRTCServer({ workers }), the primary sums every worker's registry for a scrape (route.ts).
  clusterWorker()?.handle({ metricsSnapshot: async () => await metrics.registry.getMetricsAsJSON() })

  // The umbrella passes `path: false` here and registers the route in its routes context, behind `prefix`.
  if (opts?.path !== false) await fastify.register(llmrtcMetricsRoute, { path: opts?.path })

  fastify.addHook('onClose', async function stopMetrics () {
    metrics.close()
    ownership.close()
  })
}

export default fp(llmrtcMetrics, {
  name: 'llmrtc-metrics',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-sessions', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcEnv', 'llmrtcSessions', 'llmrtcSignaling'] }
})
