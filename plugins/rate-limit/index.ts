import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { LLMRTC_ERR_RATE_LIMITED } from '../../lib/errors.js'

type Check = ReturnType<FastifyInstance['createRateLimit']>

/**
 * The HTTP rate limit of the routes of the context it is registered in, per client IP, with
 * @fastify/rate-limit. The umbrella registers it in its encapsulated routes context, so it limits llmrtc's
 * own routes (the signaling path: the page and every WebSocket upgrade; the health and metrics routes; the
 * demo page's files) and never the app's. Over the limit: HTTP 429 `{ code: 'RATE_LIMITED', message }`
 * with `retry-after`, before any authentication work (an `onRequest` hook of the context runs before the
 * route's own).
 */
async function llmrtcRateLimit (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  if (config.rateLimit === false) return
  const { max, timeWindow } = config.rateLimit

  // Its own store, in an encapsulated context: an app's own @fastify/rate-limit (global or per route)
  // is neither replaced nor doubled. If the app registered one first, its store is reused.
  let check!: Check
  await fastify.register(async function llmrtcRateLimitStore (child) {
    if (!child.hasDecorator('createRateLimit')) await child.register(rateLimit, { global: false })
    // The default key, but a request without an address (`injectWS`) does not fail: it shares one key.
    check = child.createRateLimit({ max, timeWindow, keyGenerator: (request) => request.ip === undefined ? 'unknown' : normalizeIP(request.ip) })
  })
  const message = new LLMRTC_ERR_RATE_LIMITED('requests', `${max} per ${describeWindow(timeWindow)}`).message

  async function limitRequest (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const result = await check(request)
    if (result.isAllowed || !result.isExceeded) return
    request.log.info({ limit: max }, 'HTTP rate limit exceeded')
    return await reply.code(429).header('retry-after', result.ttlInSeconds).send({ code: 'RATE_LIMITED', message })
  }

  fastify.addHook('onRequest', limitRequest)
}

function describeWindow (window: number | string): string {
  if (typeof window === 'string') return window
  if (window % 60_000 === 0) return window === 60_000 ? 'minute' : `${window / 60_000} minutes`
  if (window % 1000 === 0) return window === 1000 ? 'second' : `${window / 1000} seconds`
  return `${window} ms`
}

export default fp(llmrtcRateLimit, {
  name: 'llmrtc-rate-limit',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
