import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { UpgradeRequest } from '../../lib/config/security-options.js'
import { LLMRTC_ERR_AUTH_ORIGIN, LLMRTC_ERR_AUTH_UNAUTHORIZED, protocolCodeOf } from '../../lib/errors.js'
import { createJwtVerifier } from './jwt-verifier.js'
import { originAllowed } from './origin.js'

/** `fastify.llmrtcAuth`: the checks of the signaling route's WebSocket upgrade. */
export interface LLMRTCAuthDecorator {
  /**
   * `onRequest` hook of the signaling route. On a WebSocket upgrade it refuses a disallowed Origin (403)
   * and missing or invalid credentials (401) with `{ code, message }` before the upgrade happens, and
   * sets `request.llmrtcPrincipal`. Plain HTTP GETs (the demo page) pass.
   */
  guardUpgrade: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>
  /** Whether upgrades are authenticated (`authenticate` or `jwt`). */
  readonly enabled: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcAuth: LLMRTCAuthDecorator
  }
  interface FastifyRequest {
    /** The authenticated principal of a WebSocket upgrade; null when authentication is off (and on plain GETs). */
    llmrtcPrincipal: string | null
  }
}

/** Resolves with the principal of an upgrade request, or throws LLMRTC_ERR_AUTH_UNAUTHORIZED. */
export type UpgradeVerifier = (request: FastifyRequest) => Promise<string>

/**
 * Authentication and the Origin allow-list of the WebSocket upgrade, in Fastify's lifecycle
 * (`onRequest`, before @fastify/websocket upgrades): a refused client never gets a socket or a session.
 */
async function llmrtcAuth (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  const log = fastify.log.child({ plugin: 'llmrtc-auth' })
  fastify.decorateRequest('llmrtcPrincipal', null)

  const authenticate = config.authenticate
  const verify: UpgradeVerifier | undefined = authenticate !== undefined
    ? fromAuthenticate(authenticate)
    : config.jwt !== undefined ? await createJwtVerifier(fastify, config.jwt) : undefined
  const allowedOrigins = config.allowedOrigins
  const bearer = authenticate === undefined

  if (verify !== undefined) log.debug({ mode: authenticate !== undefined ? 'authenticate' : 'jwt' }, 'WebSocket upgrades are authenticated')

  async function guardUpgrade (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.ws !== true) return
    const origin = request.headers.origin
    if (!originAllowed(origin, allowedOrigins)) {
      const shown = (origin ?? '').slice(0, 200)
      request.log.info({ origin: shown }, 'WebSocket upgrade refused: origin not allowed')
      return refuse(reply, new LLMRTC_ERR_AUTH_ORIGIN(shown))
    }
    if (verify === undefined) return
    try {
      request.llmrtcPrincipal = await verify(request)
    } catch (err) {
      request.log.info({ reason: (err as Error).message }, 'WebSocket upgrade refused: not authenticated')
      if (bearer) void reply.header('www-authenticate', 'Bearer')
      return refuse(reply, err)
    }
  }

  fastify.decorate('llmrtcAuth', { guardUpgrade, enabled: verify !== undefined })
}

/** Answers before the upgrade, in the protocol's words: `{ code: 'UNAUTHORIZED', message }`. */
async function refuse (reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  const status = (err as { statusCode?: number }).statusCode ?? 401
  return await reply.code(status).send({ code: protocolCodeOf(err), message: (err as Error).message })
}

/** The `authenticate` option as a verifier: a string or `{ principal }` admits, anything else refuses. */
function fromAuthenticate (authenticate: (request: UpgradeRequest) => unknown): UpgradeVerifier {
  return async (request) => {
    let result: unknown
    try {
      result = await authenticate(request)
    } catch (err) {
      if ((err as { code?: unknown }).code === 'LLMRTC_ERR_AUTH_UNAUTHORIZED') throw err
      // Fail closed: a broken authenticate refuses everyone, and says so in the log.
      request.log.error({ err }, 'authenticate threw: the upgrade is refused')
      throw new LLMRTC_ERR_AUTH_UNAUTHORIZED('authentication failed')
    }
    if (result === null || result === false || result === undefined || result === '') {
      throw new LLMRTC_ERR_AUTH_UNAUTHORIZED('the credentials were refused')
    }
    const principal = typeof result === 'string' ? result : (result as { principal?: unknown }).principal
    if (typeof principal !== 'string' || principal === '') {
      request.log.error({ got: typeof principal }, 'authenticate must resolve with a string or { principal: string }: the upgrade is refused')
      throw new LLMRTC_ERR_AUTH_UNAUTHORIZED('authentication failed')
    }
    return principal
  }
}

export default fp(llmrtcAuth, {
  name: 'llmrtc-auth',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
