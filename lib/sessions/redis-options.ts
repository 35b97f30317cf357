import { Redis } from 'ioredis'
import { invalidOption } from '../config/invalid-option.js'
import { LLMRTC_ERR_OPTIONS_INVALID } from '../errors.js'
import type { Logger } from '../logger.js'
import { DEFAULT_REDIS_KEY_PREFIX, RedisSessionStore } from './redis-session-store.js'

/** The `redis` option as an object: where the shared session store is. */
export interface LLMRTCRedisOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). Secret (it may hold a password): never logged. Env REDIS_URL. */
  url?: string
  /** Namespace of llmrtc's keys (default 'llmrtc:'): records live at `<keyPrefix>session:<id>`. Env REDIS_KEY_PREFIX. */
  keyPrefix?: string
}

const EXPECTED_URL = 'a redis:// or rediss:// URL (env REDIS_URL)'

/** Either a URL llmrtc connects to (and closes), or an ioredis client the application owns. */
export interface ResolvedRedisOptions {
  /** Secret: never log it. */
  url: string | undefined
  client: Redis | undefined
  keyPrefix: string
}

/**
 * Resolves the `redis` option (an object, or an ioredis client) with REDIS_URL and REDIS_KEY_PREFIX.
 * Undefined when neither the option nor REDIS_URL is set, or when a `sessionStore` is given (it wins
 * over REDIS_URL): sessions then go to that store, or stay in memory.
 */
export function resolveRedisOptions (option: LLMRTCRedisOptions | Redis | undefined, env: { REDIS_URL?: string, REDIS_KEY_PREFIX?: string }, sessionStoreGiven = false): ResolvedRedisOptions | undefined {
  if (sessionStoreGiven) {
    if (option !== undefined) invalidOption('redis', 'no redis option when sessionStore is given (one or the other)', option)
    return undefined
  }
  if (option === undefined && env.REDIS_URL === undefined) return undefined
  if (option !== undefined && (option === null || typeof option !== 'object' || Array.isArray(option))) {
    invalidOption('redis', 'an object { url?, keyPrefix? } or an ioredis client', option)
  }
  if (isRedisClient(option)) return { url: undefined, client: option, keyPrefix: keyPrefixOf(env.REDIS_KEY_PREFIX, 'REDIS_KEY_PREFIX') }
  const url = option?.url ?? env.REDIS_URL
  if (typeof url !== 'string' || !/^rediss?:\/\/./.test(url) || !URL.canParse(url)) {
    // Never echo the value: it may carry a password.
    if (typeof url === 'string') throw new LLMRTC_ERR_OPTIONS_INVALID('redis.url', EXPECTED_URL, 'a string that is not a redis URL')
    invalidOption('redis.url', EXPECTED_URL, url)
  }
  return { url, client: undefined, keyPrefix: keyPrefixOf(option?.keyPrefix ?? env.REDIS_KEY_PREFIX, 'redis.keyPrefix') }
}

function keyPrefixOf (value: unknown, name: string): string {
  if (value === undefined) return DEFAULT_REDIS_KEY_PREFIX
  if (typeof value !== 'string') invalidOption(name, 'a string', value)
  return value
}

/** An ioredis client (Redis or Cluster) rather than an options object: it has commands and a status. */
function isRedisClient (value: unknown): value is Redis {
  const candidate = value as { status?: unknown, eval?: unknown, get?: unknown } | undefined
  return typeof candidate?.status === 'string' && typeof candidate.eval === 'function' && typeof candidate.get === 'function'
}

/** host:port of a Redis URL, for messages (never the password). */
export function redisAddress (url: string): string {
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`
}

/**
 * A store on a client llmrtc owns, set up for a server: it connects in `connect()` (so start-up fails
 * when Redis is unreachable instead of waiting), and while running, a command fails within
 * `commandTimeoutMs` instead of queueing while Redis is away. The client keeps reconnecting in the
 * background; the first error after being connected is logged once, and recovery at info.
 */
export function createRedisSessionStore (redis: ResolvedRedisOptions, log: Logger, timeouts: { connectTimeoutMs?: number, commandTimeoutMs?: number } = {}): RedisSessionStore {
  if (redis.client !== undefined) return new RedisSessionStore({ client: redis.client, keyPrefix: redis.keyPrefix, log })
  const url = redis.url as string
  const address = redisAddress(url)
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeouts.connectTimeoutMs ?? 5000,
    commandTimeout: timeouts.commandTimeoutMs ?? 2000,
    // Fail fast while Redis is away: a turn never waits on the store, and the next write carries the
    // whole record anyway.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000)
  })
  // Start-up failures are reported by connect(); after that, one error per outage.
  let state: 'starting' | 'up' | 'down' = 'starting'
  client.on('error', (err: Error) => {
    if (state !== 'up') {
      log.debug({ err }, 'Redis unreachable')
      return
    }
    state = 'down'
    log.error({ err, redis: address }, 'Redis unreachable: sessions keep working on this server, records are written again once it is back')
  })
  client.on('ready', () => {
    if (state === 'down') log.info({ redis: address }, 'Redis reachable again')
    state = 'up'
  })
  return new RedisSessionStore({ client, keyPrefix: redis.keyPrefix, ownsClient: true, address, log })
}
