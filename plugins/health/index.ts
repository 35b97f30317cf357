import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

const healthResponse = {
  200: {
    type: 'object',
    properties: { ok: { type: 'boolean' } },
    required: ['ok'],
    additionalProperties: false
  }
} as const

/** `GET /health` → `{ ok: true }`. The response schema guarantees nothing else (nothing secret) leaks. */
async function llmrtcHealth (fastify: FastifyInstance, _opts: object): Promise<void> {
  fastify.get(fastify.llmrtcConfig.healthPath, { schema: { response: healthResponse } }, async function health () {
    return { ok: true }
  })
}

export default fp(llmrtcHealth, {
  name: 'llmrtc-health',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
