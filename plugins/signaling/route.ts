import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { WebSocket } from 'ws'
import { LLMRTC_ERR_SERVER_DRAINING, clientErrorOf } from '../../lib/errors.js'

/** What the signaling plugin answers on its route: the plain GET (the page) and the WebSocket. */
export interface SignalingRouteHandlers {
  page: (request: FastifyRequest, reply: FastifyReply) => unknown
  socket: (socket: WebSocket, request: FastifyRequest) => void
}

// Keyed by the `llmrtcSignaling` decorator, so the handlers stay out of its public surface.
const handlersOf = new WeakMap<object, SignalingRouteHandlers>()

export function setSignalingRouteHandlers (signaling: object, handlers: SignalingRouteHandlers): void {
  handlersOf.set(signaling, handlers)
}

/**
 * Registers @fastify/websocket in this context unless the app (or llmrtc) already did. Its `onRequest` hook
 * marks upgrades, and a reply sent to an upgrade before it ran would leave the socket open: register it
 * before any plugin whose hooks may answer first (the rate limit).
 */
export async function ensureWebSocket (fastify: FastifyInstance): Promise<void> {
  if (fastify.hasDecorator('websocketServer')) return
  // A hard cap for ws itself; messages between our limit and this cap get a MESSAGE_TOO_LARGE error.
  await fastify.register(websocket, { options: { maxPayload: fastify.llmrtcConfig.maxMessageBytes * 2 } })
}

/**
 * The signaling route, `GET <path>` (page and WebSocket upgrade), in the context it is registered in: the
 * umbrella registers it in its encapsulated routes context, behind `prefix`. Registers @fastify/websocket
 * in that context unless the app already did, so an app may register its own before or after llmrtc.
 */
async function llmrtcSignalingRoute (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  // Set by llmrtc-signaling, a declared dependency that Fastify checks.
  const handlers = handlersOf.get(fastify.llmrtcSignaling) as SignalingRouteHandlers
  await ensureWebSocket(fastify)

  // While the server drains (llmrtc-drain, registered later), new sessions go elsewhere: the upgrade is
  // refused before any authentication work or session. The page itself still loads.
  async function refuseWhileDraining (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (!fastify.hasDecorator('llmrtcDrain') || !fastify.llmrtcDrain.draining) return
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return
    const error = new LLMRTC_ERR_SERVER_DRAINING()
    const { code, message } = clientErrorOf(error)
    return await reply.code(error.statusCode ?? 503).header('retry-after', '5').send({ code, message })
  }

  fastify.route({
    method: 'GET',
    url: config.path,
    onRequest: [refuseWhileDraining, fastify.llmrtcAuth.guardUpgrade],
    handler: async function signalingPage (request, reply) { return await handlers.page(request, reply) },
    wsHandler: handlers.socket
  })
}

export default fp(llmrtcSignalingRoute, {
  name: 'llmrtc-signaling-route',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtcSignaling', 'llmrtcAuth'] }
})
