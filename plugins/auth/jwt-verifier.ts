import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ResolvedJwtOptions } from '../../lib/config/security-options.js'
import { LLMRTC_ERR_AUTH_UNAUTHORIZED } from '../../lib/errors.js'
import type { UpgradeVerifier } from './index.js'

/** What a fast-jwt failure (as thrown by @fastify/jwt's `verify`) tells the client: why, never the token. */
const REASONS: Record<string, string> = {
  FAST_JWT_EXPIRED: 'the token has expired',
  FAST_JWT_INACTIVE: 'the token is not valid yet',
  FAST_JWT_MALFORMED: 'the token is malformed',
  FAST_JWT_INVALID_TYPE: 'the token is malformed',
  FAST_JWT_INVALID_PAYLOAD: 'the token is malformed',
  FAST_JWT_INVALID_SIGNATURE: 'the token signature is invalid',
  FAST_JWT_MISSING_SIGNATURE: 'the token is not signed',
  FAST_JWT_INVALID_ALGORITHM: 'the token algorithm is not accepted',
  FAST_JWT_INVALID_CLAIM_VALUE: 'the token was not issued for this server (issuer or audience)',
  FAST_JWT_INVALID_CLAIM_TYPE: 'the token has a claim of the wrong type',
  FAST_JWT_MISSING_REQUIRED_CLAIM: 'the token lacks a required claim'
}

/**
 * Bearer JWT verification with @fastify/jwt, registered in an encapsulated context under the
 * namespace `llmrtc`: the app's own @fastify/jwt (its `fastify.jwt`, `request.jwtVerify`) is untouched.
 * The token comes from `Authorization: Bearer <token>`, else the `token` query parameter (browsers
 * cannot set headers on a WebSocket).
 */
export async function createJwtVerifier (fastify: FastifyInstance, options: ResolvedJwtOptions): Promise<UpgradeVerifier> {
  let verify!: (token: string) => Record<string, unknown>
  await fastify.register(async function llmrtcJwt (child) {
    await child.register(fastifyJwt, {
      secret: options.secret,
      namespace: 'llmrtc',
      verify: {
        ...(options.issuer !== undefined ? { allowedIss: options.issuer } : {}),
        ...(options.audience !== undefined ? { allowedAud: options.audience } : {}),
        ...(options.algorithms !== undefined ? { algorithms: options.algorithms as never } : {})
      }
    })
    const jwt = (child.jwt as unknown as Record<string, { verify: (token: string) => Record<string, unknown> }>).llmrtc
    if (jwt === undefined) throw new Error('@fastify/jwt did not register the llmrtc namespace')
    verify = (token) => jwt.verify(token)
  })
  const claim = options.principalClaim

  return async (request) => {
    const token = tokenOf(request)
    let payload: Record<string, unknown>
    try {
      payload = verify(token)
    } catch (err) {
      throw new LLMRTC_ERR_AUTH_UNAUTHORIZED(REASONS[(err as { code?: string }).code ?? ''] ?? 'the token is invalid')
    }
    const principal = payload[claim]
    if (typeof principal === 'string' && principal !== '') return principal
    if (typeof principal === 'number') return String(principal)
    throw new LLMRTC_ERR_AUTH_UNAUTHORIZED(`the token has no "${claim}" claim`)
  }
}

function tokenOf (request: FastifyRequest): string {
  const header = request.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header)
    if (match?.[1] !== undefined) return match[1]
  }
  const query = request.query as Record<string, unknown> | null | undefined
  const token = query?.token
  if (typeof token === 'string' && token !== '') return token
  if (header !== undefined) throw new LLMRTC_ERR_AUTH_UNAUTHORIZED('expected an "Authorization: Bearer <token>" header')
  throw new LLMRTC_ERR_AUTH_UNAUTHORIZED('a token is required: an "Authorization: Bearer <token>" header or a "token" query parameter')
}
