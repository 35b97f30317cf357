import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

const healthBody = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, draining: { type: 'boolean' } },
  required: ['ok'],
  additionalProperties: false
} as const

/**
 * `GET /health` → `{ ok: true }`; while the server drains, 503 `{ ok: false, draining: true }` so a load
 * balancer's readiness check takes it out of rotation. The response schema guarantees nothing else (nothing
 * secret) leaks.
 */
async function llmrtcHealth (fastify: FastifyInstance, _opts: object): Promise<void> {
  const draining = (): boolean => fastify.hasDecorator('llmrtcDrain') && fastify.llmrtcDrain.draining
  fastify.get(fastify.llmrtcConfig.healthPath, { schema: { response: { 200: healthBody, 503: healthBody } } }, async function health (_request, reply) {
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
