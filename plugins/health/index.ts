import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

const healthBody = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, draining: { type: 'boolean' } },
  required: ['ok'],
  additionalProperties: false
} as const

/**
 * `GET <healthPath>` (default `/health`, in the context it is registered in: behind the umbrella's
 * `prefix`) → `{ ok: true }`; while the server drains, 503 `{ ok: false, draining: true }` so a load
 * balancer's readiness check takes it out of rotation. The response schema guarantees nothing else (nothing
 * secret) leaks. `healthPath: false` serves no route.
 */
async function llmrtcHealth (fastify: FastifyInstance, _opts: object): Promise<void> {
  const path = fastify.llmrtcConfig.healthPath
  if (path === false) return
  const draining = (): boolean => fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining
  fastify.get(path, { schema: { response: { 200: healthBody, 503: healthBody } } }, async function health (_request, reply) {
    if (draining()) return await reply.code(503).send({ ok: false, draining: true })
    return { ok: true }
  })
}

export default fp(llmrtcHealth, {
  name: 'llmrtc-health',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
