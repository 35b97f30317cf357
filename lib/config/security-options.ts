import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../errors.js'
import type { LLMRTCEnv } from './env-schema.js'
import { invalidOption } from './invalid-option.js'

/**
 * What `authenticate` receives: Fastify's request of the WebSocket upgrade, typed here by the fields
 * llmrtc guarantees (lib does not import fastify). A function typed for `FastifyRequest` is accepted.
 */
export interface UpgradeRequest {
  readonly headers: Record<string, string | string[] | undefined>
  /** The parsed query string (`?token=...`). */
  readonly query: unknown
  readonly url: string
  /** The client's address (the proxy's, unless Fastify's `trustProxy` is set). */
  readonly ip: string
}

/** The principal (a user or tenant id), as a string or `{ principal }`; null, false or undefined refuses the upgrade. */
export type AuthenticateResult = { principal: string } | string | null | false | undefined

/** Built-in bearer-token authentication with @fastify/jwt. */
export interface JwtAuthOptions {
  /** HMAC secret, or the PEM public key of RS/PS/ES/EdDSA tokens. Env JWT_SECRET. Secret: never logged. */
  secret?: string | Buffer | { public: string | Buffer }
  /** Accepted `iss` claim values (default: any). Env JWT_ISSUER (comma-separated). */
  issuer?: string | string[]
  /** Accepted `aud` claim values (default: any). Env JWT_AUDIENCE (comma-separated). */
  audience?: string | string[]
  /** Accepted signing algorithms (default: those the key allows, e.g. HS256/384/512 for a secret). */
  algorithms?: string[]
  /** Claim holding the principal (default 'sub'). */
  principalClaim?: string
}

/** Authentication, origin checks and limits (docs/security.md). */
export interface LLMRTCSecurityOptions {
  /**
   * Authenticates each WebSocket upgrade before it happens: resolve with the principal, or null/false to
   * refuse it with HTTP 401. A throw refuses it too. Takes precedence over `jwt` and JWT_SECRET.
   */
  authenticate? (request: UpgradeRequest): AuthenticateResult | Promise<AuthenticateResult>
  /** Bearer JWT authentication of the upgrade (header `Authorization: Bearer`, or `?token=`), or false for none. Env JWT_SECRET. */
  jwt?: JwtAuthOptions | false
  /** Origins allowed to open the WebSocket, e.g. ['https://app.example.com'], or '*' (default). Env ALLOWED_ORIGINS. */
  allowedOrigins?: string[] | '*'
  /** Register @fastify/cors for `allowedOrigins` (default: when `allowedOrigins` is a list). False if you register it yourself. */
  cors?: boolean
  /** Client messages accepted per second on one connection, WebSocket and data channel together (default 50; 0: no limit). Env MAX_MESSAGES_PER_SECOND. */
  maxMessagesPerSecond?: number
  /** Messages accepted in a row before `maxMessagesPerSecond` applies (default 100). Env MESSAGE_BURST. */
  messageBurst?: number
  /** Sessions one client may hold at once: per principal when authenticated, else per IP (default 10; 0: no limit). Env MAX_SESSIONS_PER_CLIENT. */
  maxSessionsPerClient?: number
  /** Largest `data` of an `audio` message, in bytes of base64 (default 3 MiB). Env MAX_AUDIO_BYTES. */
  maxAudioBytes?: number
  /** Longest utterance in an `audio` message, in ms (default 60 000). Env MAX_AUDIO_MS. */
  maxAudioMs?: number
  /** HTTP rate limit per IP on llmrtc's routes and the upgrade (default 100 per minute), or false. Env RATE_LIMIT_MAX. */
  rateLimit?: { max: number, timeWindow?: number | string } | false
}

export interface ResolvedJwtOptions {
  /** Secret: never log it. */
  secret: string | Buffer | { public: string | Buffer }
  issuer: string[] | undefined
  audience: string[] | undefined
  algorithms: string[] | undefined
  principalClaim: string
}

export interface ResolvedSecurityOptions {
  authenticate: ((request: UpgradeRequest) => AuthenticateResult | Promise<AuthenticateResult>) | undefined
  /** Secret inside: never log it. */
  jwt: ResolvedJwtOptions | undefined
  allowedOrigins: string[] | '*'
  /** Whether llmrtc registers @fastify/cors. */
  cors: boolean
  maxMessagesPerSecond: number
  messageBurst: number
  maxSessionsPerClient: number
  maxAudioBytes: number
  maxAudioMs: number
  rateLimit: { max: number, timeWindow: number | string } | false
}

export const DEFAULT_SECURITY = {
  maxMessagesPerSecond: 50,
  messageBurst: 100,
  maxSessionsPerClient: 10,
  maxAudioBytes: 3 * 1024 * 1024,
  maxAudioMs: 60_000,
  rateLimit: { max: 100, timeWindow: 60_000 }
} as const

/** Applies the environment and defaults to the security options, and validates them. */
export function resolveSecurityOptions (options: LLMRTCSecurityOptions, env: LLMRTCEnv): ResolvedSecurityOptions {
  const origins = options.allowedOrigins ?? parseOrigins(env.ALLOWED_ORIGINS)
  validateOrigins(origins)
  // Browsers send the Origin header in lower case, with no default port.
  const allowedOrigins = origins === '*' ? '*' : origins.map(o => o.toLowerCase())
  if (options.cors !== undefined && typeof options.cors !== 'boolean') invalidOption('cors', 'a boolean', options.cors)
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') invalidOption('authenticate', 'a function', options.authenticate)
  if (options.authenticate !== undefined && options.jwt !== undefined && options.jwt !== false) {
    invalidOption('jwt', 'no jwt option when authenticate is set (verify tokens inside authenticate)', 'both')
  }
  const rateLimit = resolveRateLimit(options.rateLimit, env.RATE_LIMIT_MAX)
  const resolved: ResolvedSecurityOptions = {
    authenticate: options.authenticate,
    jwt: options.authenticate !== undefined ? undefined : resolveJwt(options.jwt, env),
    allowedOrigins,
    cors: options.cors ?? allowedOrigins !== '*',
    maxMessagesPerSecond: options.maxMessagesPerSecond ?? env.MAX_MESSAGES_PER_SECOND ?? DEFAULT_SECURITY.maxMessagesPerSecond,
    messageBurst: options.messageBurst ?? env.MESSAGE_BURST ?? DEFAULT_SECURITY.messageBurst,
    maxSessionsPerClient: options.maxSessionsPerClient ?? env.MAX_SESSIONS_PER_CLIENT ?? DEFAULT_SECURITY.maxSessionsPerClient,
    maxAudioBytes: options.maxAudioBytes ?? env.MAX_AUDIO_BYTES ?? DEFAULT_SECURITY.maxAudioBytes,
    maxAudioMs: options.maxAudioMs ?? env.MAX_AUDIO_MS ?? DEFAULT_SECURITY.maxAudioMs,
    rateLimit
  }
  integer('maxMessagesPerSecond', resolved.maxMessagesPerSecond, 0)
  integer('messageBurst', resolved.messageBurst, 1)
  integer('maxSessionsPerClient', resolved.maxSessionsPerClient, 0)
  integer('maxAudioBytes', resolved.maxAudioBytes, 1024)
  integer('maxAudioMs', resolved.maxAudioMs, 1000)
  return resolved
}

function resolveJwt (option: JwtAuthOptions | false | undefined, env: LLMRTCEnv): ResolvedJwtOptions | undefined {
  if (option === false) return undefined
  if (option === undefined && env.JWT_SECRET === undefined) return undefined
  if (option !== undefined && (option === null || typeof option !== 'object')) invalidOption('jwt', 'an object ({ secret, issuer?, audience?, algorithms?, principalClaim? }) or false', option)
  const given = option ?? {}
  const secret = given.secret ?? env.JWT_SECRET
  if (secret === undefined) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('JWT secret', 'jwt.secret', 'JWT_SECRET')
  if (!isKey(secret) && !(typeof secret === 'object' && secret !== null && isKey((secret as { public?: unknown }).public))) {
    // Never echo the value: it is a secret.
    const kind = secret === '' ? 'an empty string' : /^[aeiou]/.test(typeof secret) ? `an ${typeof secret}` : `a ${typeof secret}`
    throw new LLMRTC_ERR_OPTIONS_INVALID('jwt.secret', 'a non-empty string, a Buffer or { public }', kind)
  }
  const resolved: ResolvedJwtOptions = {
    secret,
    issuer: list('jwt.issuer', given.issuer ?? parseList(env.JWT_ISSUER)),
    audience: list('jwt.audience', given.audience ?? parseList(env.JWT_AUDIENCE)),
    algorithms: list('jwt.algorithms', given.algorithms),
    principalClaim: given.principalClaim ?? 'sub'
  }
  if (typeof resolved.principalClaim !== 'string' || resolved.principalClaim === '') invalidOption('jwt.principalClaim', 'a non-empty string', resolved.principalClaim)
  return resolved
}

function resolveRateLimit (option: LLMRTCSecurityOptions['rateLimit'], envMax: number | undefined): ResolvedSecurityOptions['rateLimit'] {
  if (option === false) return false
  if (option === undefined) {
    if (envMax === 0) return false
    return { max: envMax ?? DEFAULT_SECURITY.rateLimit.max, timeWindow: DEFAULT_SECURITY.rateLimit.timeWindow }
  }
  if (option === null || typeof option !== 'object') invalidOption('rateLimit', '{ max, timeWindow? } or false', option)
  integer('rateLimit.max', option.max, 1)
  const timeWindow = option.timeWindow ?? DEFAULT_SECURITY.rateLimit.timeWindow
  if (typeof timeWindow === 'number') integer('rateLimit.timeWindow', timeWindow, 1)
  else if (typeof timeWindow !== 'string' || timeWindow.trim() === '') invalidOption('rateLimit.timeWindow', 'milliseconds or a duration such as "1 minute"', timeWindow)
  return { max: option.max, timeWindow }
}

/** ALLOWED_ORIGINS: '*' or comma-separated origins. */
function parseOrigins (value: string | undefined): string[] | '*' {
  if (value === undefined || value.trim() === '*') return '*'
  return parseList(value) ?? '*'
}

function validateOrigins (value: unknown): void {
  if (value === '*') return
  if (!Array.isArray(value) || value.length === 0) invalidOption('allowedOrigins', '"*" or a non-empty array of origins', value)
  for (const origin of value) {
    if (typeof origin !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i.test(origin)) {
      invalidOption('allowedOrigins', 'origins such as "https://app.example.com" (scheme and host, no path)', origin)
    }
  }
}

function parseList (value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  const items = value.split(',').map(v => v.trim()).filter(v => v !== '')
  return items.length > 0 ? items : undefined
}

function list (name: string, value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined
  const items = typeof value === 'string' ? [value] : value
  if (!Array.isArray(items) || items.length === 0 || !items.every(v => typeof v === 'string' && v !== '')) invalidOption(name, 'a non-empty string or array of strings', value)
  return items
}

function isKey (value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || (Buffer.isBuffer(value) && value.length > 0)
}

function integer (name: string, value: unknown, minimum: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) invalidOption(name, `an integer >= ${minimum}`, value)
}
