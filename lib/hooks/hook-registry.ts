import { systemClock, type Clock } from '../clock.js'
import { LLMRTC_ERR_HOOK_NOT_A_FUNCTION, LLMRTC_ERR_HOOK_UNKNOWN } from '../errors.js'
import type { Logger } from '../logger.js'
import { publishError } from '../observability/channels.js'
import { GUARDRAIL_HOOKS, HOOK_NAMES, type ErrorContext, type LLMRTCHookName, type LLMRTCHookObject, type LLMRTCHooks } from './hook-types.js'

const hookNameSet = new Set<string>(HOOK_NAMES)

/**
 * Typed registry of llmrtc's own hooks (Fastify rejects unknown hook names, so these live here, as
 * mercurius keeps `graphql.addHook`).
 */
export class HookRegistry {
  readonly #handlers = new Map<LLMRTCHookName, Array<LLMRTCHooks[LLMRTCHookName]>>()
  readonly #log: Logger
  readonly #clock: Clock

  /** `clock` stamps the `onError` reports of failing hooks (default: the system clock). */
  constructor (log: Logger, clock: Clock = systemClock) {
    this.#log = log
    this.#clock = clock
  }

  addHook<K extends LLMRTCHookName> (name: K, handler: LLMRTCHooks[K]): this {
    if (!hookNameSet.has(name)) throw new LLMRTC_ERR_HOOK_UNKNOWN(String(name), HOOK_NAMES.join(', '))
    if (typeof handler !== 'function') throw new LLMRTC_ERR_HOOK_NOT_A_FUNCTION(name, typeof handler)
    const list = this.#handlers.get(name)
    if (list === undefined) this.#handlers.set(name, [handler])
    else list.push(handler)
    return this
  }

  /** Registers every handler of a hooks object (library mode). */
  addHooks (hooks: LLMRTCHookObject): this {
    for (const [name, handler] of Object.entries(hooks)) {
      if (handler !== undefined) this.addHook(name as LLMRTCHookName, handler)
    }
    return this
  }

  has (name: LLMRTCHookName): boolean {
    return (this.#handlers.get(name)?.length ?? 0) > 0
  }

  /**
   * Runs every handler of `name` in order, awaiting each. A failing handler is logged and reported to
   * `onError`; in a guardrail hook (`onSTTEnd`, `onLLMEnd`) the error is rethrown to block the turn.
   */
  async run<K extends LLMRTCHookName> (name: K, ...args: Parameters<LLMRTCHooks[K]>): Promise<void> {
    // Every reported error passes here, hooks or not: the `llmrtc:error` channel sees it.
    if (name === 'onError') publishError(args[1] as ErrorContext)
    const list = this.#handlers.get(name)
    if (list === undefined) return
    for (const handler of list) {
      try {
        await (handler as (...a: Parameters<LLMRTCHooks[K]>) => void | Promise<void>)(...args)
      } catch (error) {
        if (GUARDRAIL_HOOKS.has(name)) throw error
        await this.#reportHookError(name, error)
      }
    }
  }

  async #reportHookError (name: LLMRTCHookName, error: unknown): Promise<void> {
    const err = error instanceof Error ? error : new Error(String(error))
    this.#log.error({ err, hook: name }, 'llmrtc hook failed')
    // An onError handler that fails is logged above and not reported again (no loop).
    if (name === 'onError') return
    const context: ErrorContext = { code: 'INTERNAL_ERROR', component: 'hook', timestamp: this.#clock.now(), details: { hook: name } }
    await this.run('onError', err, context)
  }
}
