import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Registry } from 'prom-client'
import type { LLMRTCEnv } from '../../lib/config/env-schema.js'
import { invalidOption } from '../../lib/config/invalid-option.js'
import { PrometheusMetrics } from '../../lib/observability/prometheus-metrics.js'
import { SessionOwnership } from '../../lib/observability/session-ownership.js'

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

const OPTION_NAMES = new Set(['path', 'defaultMetrics'])

/** Whether the umbrella registers the metrics plugin: an options object (or `false`) wins over env METRICS; on by default. */
export function metricsEnabled (option: LLMRTCMetricsOptions | undefined, env: LLMRTCEnv): boolean {
  return option !== undefined || env.METRICS !== false
}

/**
 * Prometheus metrics of this app's sessions on `GET <path>`, counted from llmrtc's diagnostics channels
 * (docs/observability.md). The route has no authentication: keep it off the public internet.
 */
async function llmrtcMetrics (fastify: FastifyInstance, opts: LLMRTCMetricsOptions): Promise<void> {
  for (const key of Object.keys(opts ?? {})) {
    if (!OPTION_NAMES.has(key)) invalidOption(`metrics.${key}`, 'one of path, defaultMetrics', key)
  }
  const path = opts?.path ?? fastify.llmrtcEnv.METRICS_PATH ?? '/metrics'
  if (path !== false && (typeof path !== 'string' || !path.startsWith('/'))) invalidOption('metrics.path', 'a path starting with / (or false)', path)
  if (opts?.defaultMetrics !== undefined && typeof opts.defaultMetrics !== 'boolean') invalidOption('metrics.defaultMetrics', 'a boolean', opts.defaultMetrics)

  const log = fastify.log.child({ plugin: 'llmrtc-metrics' })
  const sessions = fastify.llmrtcSessions
  const signaling = fastify.llmrtcSignaling
  const ownership = new SessionOwnership(sessions)
  const metrics = new PrometheusMetrics({
    activeSessions: () => sessions.size,
    activeConnections: () => signaling.connections().length,
    owns: (sessionId) => ownership.owns(sessionId),
    defaultMetrics: opts?.defaultMetrics === true,
    onListenerError: (err) => { log.warn({ err }, 'metrics listener failed') }
  })

  fastify.decorate('llmrtcMetrics', { registry: metrics.registry })

  if (path !== false) {
    // Scrapes come every few seconds: they are not worth an info log line each.
    fastify.get(path, { logLevel: 'warn' }, async function scrapeMetrics (_request, reply) {
      const { contentType, body } = await metrics.scrape()
      return await reply.type(contentType).send(body)
    })
  }

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
