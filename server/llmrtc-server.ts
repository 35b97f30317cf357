import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import cluster from 'node:cluster'
import { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import { ClusterPrimary } from '../lib/cluster/cluster-primary.js'
import { clusterWorker, type ClusterWorker } from '../lib/cluster/cluster-worker.js'
import { resolveWorkerCount, type WorkerCount } from '../lib/cluster/worker-count.js'
import { readEnvValue } from '../lib/config/env-errors.js'
import { invalidOption } from '../lib/config/invalid-option.js'
import { ClusterSessionStore } from '../lib/sessions/cluster-session-store.js'
import type { LLMRTCPluginOptions } from '../plugins/llmrtc/index.js'
import type { TurnResult } from '../lib/pipeline/turn-types.js'
import { loggerOptions } from '../lib/logger.js'

export interface LLMRTCServerOptions extends LLMRTCPluginOptions {
  /** Port to listen on (default: env PORT, else 8787; 0 picks a free port). */
  port?: number
  /** Address to bind (default: env HOST, else 127.0.0.1). */
  host?: string
  /**
   * Fastify's logger option (default: info level, or env LOG_LEVEL). An options object gets llmrtc's
   * redaction of secrets and tokens (`loggerOptions` of lib/logger.ts) under its own settings.
   */
  logger?: FastifyServerOptions['logger']
  /**
   * Fastify's `trustProxy`: set it behind a reverse proxy, so that per-IP limits see the client's address
   * (X-Forwarded-For) instead of the proxy's (default: env TRUST_PROXY, else false).
   */
  trustProxy?: FastifyServerOptions['trustProxy']
  /**
   * Processes that serve, sharing the port through node:cluster (default: env WORKERS, else 1: one process,
   * no cluster). `'auto'`: one per core (`os.availableParallelism()`). With more than one, this script runs
   * again in each worker, and the process you started only supervises them (see `role` and
   * docs/deployment.md, "Workers (every core)").
   */
  workers?: WorkerCount
}

/** What this process is: `single` (no cluster), the cluster's `primary` (supervises, serves nothing), or one of its `worker`s. */
export type LLMRTCServerRole = 'single' | 'primary' | 'worker'

export interface LLMRTCServerEvents {
  listening: [{ host: string, port: number }]
  connection: [{ id: string }]
  disconnect: [{ id: string }]
  error: [Error]
}

/**
 * Library mode: a standalone llmrtc server. `getApp()` returns the Fastify instance so routes can be
 * added before `start()`.
 */
export class LLMRTCServer extends EventEmitter<LLMRTCServerEvents> {
  readonly #app: FastifyInstance
  readonly #listen: { port: number, host: string }
  /** With `workers` > 1, in the process that was started: the supervisor of the workers. */
  readonly #primary: ClusterPrimary | undefined
  /** In a worker forked by llmrtc's primary: its channel to the primary. */
  readonly #worker: ClusterWorker | undefined
  readonly #drainTimeoutMs: number | undefined
  #started = false
  #stopping: Promise<void> | undefined

  constructor (options: LLMRTCServerOptions = {}) {
    super()
    // Library mode reads the environment unless told otherwise (the plugin reads it only when given it).
    const env = options.env === false ? {} : (options.env ?? process.env)
    const { port, host, logger: loggerOption, trustProxy, workers, ...pluginOptions } = options
    this.#worker = clusterWorker()
    const workerCount = this.#worker === undefined ? resolveWorkerCount(workers, env.WORKERS) : 1
    // A worker of the application's own cluster cannot fork: its primary does.
    if (workerCount > 1 && !cluster.isPrimary) invalidOption('workers', '1 in a worker of another node:cluster', workers ?? env.WORKERS)
    // A call's voice webhook and its media WebSocket are two connections, which the cluster may hand to two
    // workers, and the call lives in the first one's memory.
    if (workerCount > 1 && phoneCallsConfigured(options, env)) invalidOption('workers', '1 with phone calls (telephony)', workers ?? env.WORKERS)
    this.#listen = {
      port: port ?? (readEnvValue('PORT', env.PORT) as number | undefined) ?? 8787,
      host: host ?? (env.HOST !== undefined && env.HOST !== '' ? env.HOST : '127.0.0.1')
    }
    const level = loggerOption === undefined ? (readEnvValue('LOG_LEVEL', env.LOG_LEVEL) as string | undefined ?? 'info') : 'info'
    const logger = loggerOption === undefined || loggerOption === true
      ? { level, ...loggerOptions }
      : typeof loggerOption === 'object' ? { ...loggerOptions, ...loggerOption } : loggerOption
    this.#app = Fastify({
      logger,
      trustProxy: trustProxy ?? parseTrustProxy(env.TRUST_PROXY),
      forceCloseConnections: true
    })
    if (workerCount > 1) {
      // The primary serves nothing: its app stays inert (never ready), so a script's getApp().get(...) runs
      // here harmlessly and for real in the workers, where the same script runs again.
      this.#primary = new ClusterPrimary({ workers: workerCount, log: this.#app.log.child({ cluster: 'primary' }) })
      this.#drainTimeoutMs = options.drainTimeoutMs ?? (readEnvValue('DRAIN_TIMEOUT_MS', env.DRAIN_TIMEOUT_MS) as number | undefined)
      return
    }
    this.#primary = undefined
    this.#drainTimeoutMs = undefined
    if (this.#worker !== undefined) {
      // Without Redis or a store of the caller, the workers share the primary's records: a reconnect that
      // lands on another worker resumes there.
      const redisConfigured = options.redis !== undefined || (env.REDIS_URL !== undefined && env.REDIS_URL !== '')
      if (options.sessionStore === undefined && !redisConfigured) pluginOptions.sessionStore = new ClusterSessionStore(this.#worker)
      this.#worker.handle({ drain: (drainTimeoutMs) => { this.#exitAfterDrain(drainTimeoutMs) } })
    }
    // Imported here, not at the top: a cluster's primary never loads the plugin tree (tens of MB it would not use).
    this.#app.register(import('../plugins/llmrtc/index.js'), { ...pluginOptions, env: options.env ?? process.env })
    // A plugin that depends on llmrtc: if llmrtc fails to register, start() rejects with its error.
    this.#app.register(fp(async (app) => {
      app.llmrtc.addHook('onConnection', (id) => { this.emit('connection', { id }) })
      app.llmrtc.addHook('onDisconnect', (id) => { this.emit('disconnect', { id }) })
      app.llmrtc.addHook('onError', (error) => {
        // EventEmitter throws on 'error' without a listener; a server must not die of a turn's error.
        if (this.listenerCount('error') > 0) this.emit('error', error)
      })
    }, { name: 'llmrtc-server-events', dependencies: ['llmrtc'] }))
  }

  /**
   * The Fastify instance: add routes and plugins before `start()`. In a cluster's primary it is an inert
   * instance that never gets ready nor listens (the workers serve).
   */
  getApp (): FastifyInstance {
    return this.#app
  }

  /** `single` (no cluster), `primary` (supervises the workers, serves nothing) or `worker`. */
  get role (): LLMRTCServerRole {
    return this.#primary !== undefined ? 'primary' : this.#worker !== undefined ? 'worker' : 'single'
  }

  /** node:cluster's id of this worker (1, 2, ...; a replacement gets a new one), undefined outside a worker. */
  get workerId (): number | undefined { return this.#worker?.id }

  /** Process ids of the workers running now (in the primary; empty elsewhere). */
  get workerPids (): number[] { return this.#primary?.pids ?? [] }

  /**
   * Listens; resolves with the bound address (useful with port 0). In a cluster's primary: forks the workers
   * and resolves with the address they share once every one listens (rejects with
   * LLMRTC_ERR_CLUSTER_WORKER_START when one cannot start).
   */
  async start (): Promise<{ host: string, port: number }> {
    if (this.#primary !== undefined) {
      const bound = await this.#primary.start()
      this.#started = true
      this.#app.log.info({ workers: this.#primary.size, port: bound.port }, 'workers listening')
      this.emit('listening', bound)
      return bound
    }
    const { port, host } = this.#listen
    try {
      await this.#app.listen({ port, host })
    } catch (err) {
      // The primary names this error when it reports the failed start (before the script decides to exit).
      await this.#worker?.request({ op: 'start-failed', message: (err as Error).message, code: (err as { code?: string }).code }).catch(() => {})
      throw err
    }
    this.#started = true
    const address = this.#app.server.address() as AddressInfo
    const bound = { host: address.address, port: address.port }
    this.emit('listening', bound)
    return bound
  }

  /**
   * Graceful stop: a drain first (`/health` answers 503, new connections are refused, turns in progress
   * finish, up to `drainTimeoutMs` or the given `drainTimeoutMs`; 0 skips the wait), then sockets close
   * with 1001, sessions are saved and end, and providers are released. Idempotent.
   */
  async stop (options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#primary !== undefined) {
        // Every worker drains as one server would; resolves when all have exited.
        await this.#primary.stop(options.drainTimeoutMs ?? this.#drainTimeoutMs)
        this.#started = false
        return
      }
      const app = this.#app
      if (this.#started && app.hasDecorator('llmrtcDrain') && options.drainTimeoutMs !== 0) {
        await app.llmrtcDrain.drain(options.drainTimeoutMs)
      }
      await app.close()
      this.#started = false
    })()
    await this.#stopping
  }

  get started (): boolean { return this.#started }

  /** In a worker: the primary stops the cluster (or is gone). The worker drains, then its process exits. */
  #exitAfterDrain (drainTimeoutMs: number | undefined): void {
    this.stop(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }).then(() => process.exit(0), (err: unknown) => {
      this.#app.log.error({ err }, 'worker shutdown failed')
      process.exit(1)
    })
  }

  /**
   * The assistant says `text` in a session (after its running turn), as an answer that can be
   * interrupted. Resolves with the turn's result, or undefined for an unknown session (and always in a
   * cluster's primary: sessions live in the workers).
   */
  async say (sessionId: string, text: string): Promise<TurnResult | undefined> {
    if (this.#primary !== undefined) return undefined
    const session = this.#app.llmrtcSessions.get(sessionId)
    return session === undefined ? undefined : await this.#app.llmrtcPipeline.for(session).say(text)
  }

  /** The assistant answers on its own in a session, with `instructions` added to the system prompt. */
  async generateReply (sessionId: string, instructions: string): Promise<TurnResult | undefined> {
    if (this.#primary !== undefined) return undefined
    const session = this.#app.llmrtcSessions.get(sessionId)
    return session === undefined ? undefined : await this.#app.llmrtcPipeline.for(session).generateReply(instructions)
  }
}

/** Whether a carrier is configured, as plugins/telephony decides it (an option, else its variable). */
function phoneCallsConfigured (options: LLMRTCServerOptions, env: Record<string, string | undefined>): boolean {
  const given = (value: string | undefined): boolean => value !== undefined && value !== ''
  const telephony = options.telephony
  return given(telephony?.twilio?.authToken ?? env.TWILIO_AUTH_TOKEN) || given(telephony?.telnyx?.publicKey ?? env.TELNYX_PUBLIC_KEY) || given(telephony?.plivo?.authToken ?? env.PLIVO_AUTH_TOKEN)
}

/** TRUST_PROXY: true, false, or comma-separated addresses and CIDRs of the proxies (as Fastify takes them). */
function parseTrustProxy (value: string | undefined): boolean | string {
  const text = value?.trim() ?? ''
  if (text === '' || text === 'false') return false
  return text === 'true' ? true : text
}
