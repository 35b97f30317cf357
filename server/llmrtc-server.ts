import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import { readEnvValue } from '../lib/config/env-errors.js'
import type { LLMRTCPluginOptions } from '../plugins/llmrtc/index.js'
import type { TurnResult } from '../lib/pipeline/turn-types.js'
import { loggerOptions } from '../lib/logger.js'
import llmrtc from '../plugins/llmrtc/index.js'

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
}

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
  #started = false
  #stopping: Promise<void> | undefined

  constructor (options: LLMRTCServerOptions = {}) {
    super()
    // Library mode reads the environment unless told otherwise (the plugin reads it only when given it).
    const env = options.env === false ? {} : (options.env ?? process.env)
    const { port, host, logger: loggerOption, trustProxy, ...pluginOptions } = options
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
    this.#app.register(llmrtc, { ...pluginOptions, env: options.env ?? process.env })
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

  /** The Fastify instance: add routes and plugins before `start()`. */
  getApp (): FastifyInstance {
    return this.#app
  }

  /** Listens; resolves with the bound address (useful with port 0). */
  async start (): Promise<{ host: string, port: number }> {
    const { port, host } = this.#listen
    await this.#app.listen({ port, host })
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

  /**
   * The assistant says `text` in a session (after its running turn), as an answer that can be
   * interrupted. Resolves with the turn's result, or undefined for an unknown session.
   */
  async say (sessionId: string, text: string): Promise<TurnResult | undefined> {
    const session = this.#app.llmrtcSessions.get(sessionId)
    return session === undefined ? undefined : await this.#app.llmrtcPipeline.for(session).say(text)
  }

  /** The assistant answers on its own in a session, with `instructions` added to the system prompt. */
  async generateReply (sessionId: string, instructions: string): Promise<TurnResult | undefined> {
    const session = this.#app.llmrtcSessions.get(sessionId)
    return session === undefined ? undefined : await this.#app.llmrtcPipeline.for(session).generateReply(instructions)
  }
}

/** TRUST_PROXY: true, false, or comma-separated addresses and CIDRs of the proxies (as Fastify takes them). */
function parseTrustProxy (value: string | undefined): boolean | string {
  const text = value?.trim() ?? ''
  if (text === '' || text === 'false') return false
  return text === 'true' ? true : text
}
