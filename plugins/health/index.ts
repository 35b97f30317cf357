import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { clusterWorker } from '../../lib/cluster/cluster-worker.js'

const healthBody = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, draining: { type: 'boolean' }, worker: { type: 'integer' }, pid: { type: 'integer' } },
  required: ['ok'],
  additionalProperties: false
} as const

/**
 * `GET <healthPath>` (default `/health`, in the context it is registered in: behind the umbrella's
 * `prefix`) → `{ ok: true }`; while the server drains, 503 `{ ok: false, draining: true }` so a load
 * balancer's readiness check takes it out of rotation. The response schema guarantees nothing else (nothing
 * secret) leaks. `healthPath: false` serves no route. In a worker of `LLMRTCServer({ workers })` the answer is
 * this process's, and says which one: `{ ok: true, worker: 2, pid: 4242 }`.
 */
async function llmrtcHealth (fastify: FastifyInstance, _opts: object): Promise<void> {
  const path = fastify.llmrtcConfig.healthPath
  if (path === false) return
  const draining = (): boolean => fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining
  const worker = clusterWorker()
  const identity = worker === undefined ? {} : { worker: worker.id, pid: process.pid }
  fastify.get(path, { schema: { response: { 200: healthBody, 503: healthBody } } }, async function health (_request, reply) {
    if (draining()) return await reply.code(503).send({ ok: false, draining: true, ...identity })
    return { ok: true, ...identity }
  })
}

export default fp(llmrtcHealth, {
  name: 'llmrtc-health',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
