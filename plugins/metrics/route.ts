import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { clusterWorker } from '../../lib/cluster/cluster-worker.js'
import { invalidOption } from '../../lib/config/invalid-option.js'

/** Options of the `llmrtc-metrics-route` plugin. */
export interface LLMRTCMetricsRouteOptions {
  /** Path of the scrape route (default `/metrics`, or env METRICS_PATH); false serves no route. */
  path?: string | false
}

/**
 * The scrape route of `fastify.llmrtcMetrics.registry` on `GET <path>`, in the context it is registered in
 * (the umbrella's routes context, behind `prefix`). No authentication: keep it off the public internet.
 * In a worker of `LLMRTCServer({ workers })` a scrape answers for the whole machine: the primary sums the
 * registries of every worker (whichever worker the scrape lands on).
 */
async function llmrtcMetricsRoute (fastify: FastifyInstance, opts: LLMRTCMetricsRouteOptions): Promise<void> {
  const path = opts?.path ?? fastify.llmrtcEnv.METRICS_PATH ?? '/metrics'
  if (path !== false && (typeof path !== 'string' || !path.startsWith('/'))) invalidOption('metrics.path', 'a path starting with / (or false)', path)
  if (path === false) return
  const registry = fastify.llmrtcMetrics.registry
  const worker = clusterWorker()
  // Scrapes come every few seconds: they are not worth an info log line each.
  fastify.get(path, { logLevel: 'warn' }, async function scrapeMetrics (_request, reply) {
    if (worker !== undefined) {
      const machine = await worker.request({ op: 'metrics' }) as { contentType: string, body: string }
      return await reply.type(machine.contentType).send(machine.body)
    }
    const body = await registry.metrics()
    return await reply.type(registry.contentType).send(body)
  })
}

export default fp(llmrtcMetricsRoute, {
  name: 'llmrtc-metrics-route',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-metrics'],
  decorators: { fastify: ['llmrtcEnv', 'llmrtcMetrics'] }
})
