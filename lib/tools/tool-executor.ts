import type { ErrorObject } from 'ajv'
import { systemClock, type Clock } from '../clock.js'
import {
  LLMRTC_ERR_OPTIONS_INVALID,
  LLMRTC_ERR_TOOL_FAILED,
  LLMRTC_ERR_TOOL_INVALID_ARGUMENTS,
  LLMRTC_ERR_TOOL_TIMEOUT,
  LLMRTC_ERR_TOOL_UNKNOWN
} from '../errors.js'
import type { ChatMessage, ToolCallRequest } from '../providers/types.js'
import { linkSignals } from '../streams/link-signals.js'
import { checkTool } from './define-tool.js'
import type { Tool, ToolCallOutcome, ToolContext } from './types.js'

export interface ToolExecutorOptions {
  /** Deadline of one call in ms, for tools without their own `timeoutMs` (default 10 000). */
  timeoutMs?: number
  /** Most handlers one `executeAll` runs at once (default 4). */
  maxConcurrency?: number
  /** Measures durations and runs the deadlines (default: the system clock). */
  clock?: Clock
}

/** The turn a call belongs to. */
export interface ToolExecutionContext {
  /** The turn's signal: aborted on barge-in (and session close). */
  signal: AbortSignal
  sessionId: string
  turnId: string
  stageId?: string
  /** The session's free-form data, handed to the handler as is. */
  data: Record<string, unknown>
}

/**
 * Progress of calls, for the client's tool-call-start / tool-call-end events. Every `onStart` is followed
 * by exactly one `onEnd`, and there is no `onEnd` without an `onStart`. Listeners must not throw: what
 * they throw is swallowed, so a listener cannot break the tool loop.
 */
export interface ToolExecutionEvents {
  /**
   * A call starts: fired for every call that is not cancelled before it starts, invalid ones included
   * (unknown tool, invalid arguments), right before its arguments are checked and its handler runs.
   */
  onStart?: (call: ToolCallRequest) => void
  /** A started call has its outcome (a result, an error, or cancelled by barge-in). */
  onEnd?: (outcome: ToolCallOutcome) => void
}

/**
 * Runs the LLM's tool calls: checks them, applies deadlines and barge-in, caps concurrency, and turns
 * every failure into an outcome the LLM can read. Never throws, never leaves a timer behind.
 *
 * The executor keeps no state between calls: the concurrency cap bounds each `executeAll` batch (one
 * model response's calls), so one executor can be shared by every session without sessions queueing
 * behind each other.
 */
export class ToolExecutor {
  readonly #timeoutMs: number
  readonly #maxConcurrency: number
  readonly #clock: Clock

  constructor (options: ToolExecutorOptions = {}) {
    const { timeoutMs = 10_000, maxConcurrency = 4, clock = systemClock } = options
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new LLMRTC_ERR_OPTIONS_INVALID('timeoutMs', 'a positive number of ms', String(timeoutMs))
    }
    if (!Number.isSafeInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new LLMRTC_ERR_OPTIONS_INVALID('maxConcurrency', 'a positive integer', String(maxConcurrency))
    }
    this.#timeoutMs = timeoutMs
    this.#maxConcurrency = maxConcurrency
    this.#clock = clock
  }

  /**
   * Runs the calls, at most `maxConcurrency` at once, and resolves with their outcomes in call order.
   * Calls still waiting when the turn is aborted never start (`cancelled: true`).
   */
  async executeAll (calls: readonly ToolCallRequest[], lookup: (name: string) => Tool | undefined, ctx: ToolExecutionContext, events?: ToolExecutionEvents): Promise<ToolCallOutcome[]> {
    const outcomes = new Array<ToolCallOutcome>(calls.length)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < calls.length) {
        const index = next++
        const call = calls[index] as ToolCallRequest
        outcomes[index] = await this.execute(call, safeLookup(lookup, call.name), ctx, events)
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#maxConcurrency, calls.length) }, worker))
    return outcomes
  }

  /**
   * Runs one call (not counted against `maxConcurrency`). `tool` undefined: the model called a tool that
   * does not exist. Resolves with the outcome, never rejects.
   */
  async execute (call: ToolCallRequest, tool: Tool | undefined, ctx: ToolExecutionContext, events?: ToolExecutionEvents): Promise<ToolCallOutcome> {
    // A cancelled generation never runs tools, not even the ones that survive barge-in.
    if (ctx.signal.aborted) return outcomeOf(call, 0, { cancelled: true })
    notify(events?.onStart, call)
    const startedAt = this.#clock.now()
    const partial = await this.#run(call, tool, ctx)
    const outcome = outcomeOf(call, this.#clock.now() - startedAt, partial)
    notify(events?.onEnd, outcome)
    return outcome
  }

  async #run (call: ToolCallRequest, tool: Tool | undefined, ctx: ToolExecutionContext): Promise<Partial<ToolCallOutcome>> {
    if (tool === undefined) return failure(new LLMRTC_ERR_TOOL_UNKNOWN(call.name))
    let validate
    try {
      validate = checkTool(tool)
    } catch (err) {
      return failure(err as Error)
    }
    const args: unknown = call.arguments
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      // The raw text stays out of the message: arguments are user data (they are in the outcome).
      return failure(new LLMRTC_ERR_TOOL_INVALID_ARGUMENTS(call.name, 'the arguments are not a JSON object'))
    }
    if (!validate(args)) return failure(new LLMRTC_ERR_TOOL_INVALID_ARGUMENTS(call.name, describe(validate.errors?.[0])))
    return await this.#runHandler(call, tool, args, ctx)
  }

  #runHandler (call: ToolCallRequest, tool: Tool, args: object, ctx: ToolExecutionContext): Promise<Partial<ToolCallOutcome>> {
    const timeoutMs = tool.timeoutMs ?? this.#timeoutMs
    const cancellable = tool.cancelOnBargeIn !== false
    const deadline = new AbortController()
    // Both sources are short-lived (the call's deadline, the turn): no dispose needed (linkSignals, not
    // AbortSignal.any: a leak per call on Node 20).
    const signal = cancellable ? linkSignals(deadline.signal, ctx.signal).signal : deadline.signal
    const toolCtx: ToolContext = { signal, sessionId: ctx.sessionId, turnId: ctx.turnId, callId: call.callId, data: ctx.data }
    if (ctx.stageId !== undefined) toolCtx.stageId = ctx.stageId

    return new Promise(resolve => {
      let settled = false
      const settle = (partial: Partial<ToolCallOutcome>): void => {
        if (settled) return
        settled = true
        this.#clock.clearTimeout(timer)
        ctx.signal.removeEventListener('abort', onBargeIn)
        resolve(partial)
      }
      const onBargeIn = (): void => { settle({ cancelled: true }) }
      const timer = this.#clock.setTimeout(() => {
        const err = new LLMRTC_ERR_TOOL_TIMEOUT(call.name, timeoutMs)
        // Settle first: a handler that rejects on abort must not turn the timeout into a failure.
        settle(failure(err))
        deadline.abort(err)
      }, timeoutMs)
      if (cancellable) ctx.signal.addEventListener('abort', onBargeIn, { once: true })

      let pending: unknown
      try {
        pending = tool.handler(args as Record<string, unknown>, toolCtx)
      } catch (err) {
        settle(thrown(call.name, err))
        return
      }
      Promise.resolve(pending).then(
        result => { settle(serialisable(call.name, result)) },
        err => { settle(thrown(call.name, err)) }
      )
    })
  }
}

/**
 * The `tool` history message answering a call: content is `{"result": ...}` or `{"error": "..."}` as
 * JSON. A cancelled call is normally dropped; if recorded, it reads as an error so the history stays a
 * valid answer to the model's call.
 */
export function toolResultMessage (outcome: ToolCallOutcome): ChatMessage {
  let body: { result: unknown } | { error: string }
  if (outcome.error !== undefined) body = { error: outcome.error }
  else if (outcome.cancelled) body = { error: `Tool "${outcome.name}" was cancelled before it finished` }
  else body = { result: outcome.result ?? null }
  return { role: 'tool', content: JSON.stringify(body), toolCallId: outcome.callId, toolName: outcome.name }
}

function outcomeOf (call: ToolCallRequest, durationMs: number, partial: Partial<ToolCallOutcome>): ToolCallOutcome {
  const { cause, ...rest } = partial
  const outcome: ToolCallOutcome = { callId: call.callId, name: call.name, arguments: call.arguments, durationMs, cancelled: false, ...rest }
  if ('cause' in partial) Object.defineProperty(outcome, 'cause', { value: cause, enumerable: false, writable: true, configurable: true })
  return outcome
}

function failure (err: Error & { code?: string }, cause?: unknown): Partial<ToolCallOutcome> {
  const partial: Partial<ToolCallOutcome> = { error: err.message }
  if (err.code !== undefined) partial.errorCode = err.code
  if (cause !== undefined) partial.cause = cause
  return partial
}

function thrown (name: string, err: unknown): Partial<ToolCallOutcome> {
  const message = err instanceof Error ? err.message : String(err)
  return failure(new LLMRTC_ERR_TOOL_FAILED(name, message, { cause: err }), err)
}

/** The result as plain JSON data, or a failure when it cannot be sent to the LLM. */
function serialisable (name: string, result: unknown): Partial<ToolCallOutcome> {
  let json: string | undefined
  try {
    json = JSON.stringify(result)
  } catch (err) {
    const message = `its result is not JSON-serialisable (${err instanceof Error ? err.message : String(err)})`
    return failure(new LLMRTC_ERR_TOOL_FAILED(name, message, { cause: err }), err)
  }
  return { result: json === undefined ? null : JSON.parse(json) }
}

/** The first schema error, naming the field: `/orderId must be string`. */
function describe (error: ErrorObject | undefined): string {
  if (error === undefined) return 'they do not match the schema'
  let message = error.message ?? 'is invalid'
  if (error.keyword === 'additionalProperties') message += ` ("${String(error.params.additionalProperty)}")`
  return error.instancePath === '' ? message : `${error.instancePath} ${message}`
}

function safeLookup (lookup: (name: string) => Tool | undefined, name: string): Tool | undefined {
  try {
    return lookup(name)
  } catch {
    return undefined
  }
}

function notify<T> (listener: ((value: T) => void) | undefined, value: T): void {
  try {
    listener?.(value)
  } catch {}
}
