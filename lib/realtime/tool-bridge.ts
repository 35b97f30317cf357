import type { Logger } from '../logger.js'
import type { PayloadServerMessage } from '../protocol/server-messages.js'
import type { ToolExecutor } from '../tools/tool-executor.js'
import type { ToolRegistry } from '../tools/tool-registry.js'
import type { Tool, ToolCallOutcome } from '../tools/types.js'
import type { RelayHooks } from './relay-hooks.js'
import type { RealtimeEvent, RealtimeProviderSession } from './types.js'

export interface RealtimeToolBridgeOptions {
  session: RealtimeProviderSession
  sessionId: string
  send: (message: PayloadServerMessage) => void
  tools: ToolRegistry
  executor: ToolExecutor
  data: Record<string, unknown>
  log: Logger
  isClosed: () => boolean
  /** A playbook's tool (stage, global, transition) for a call, before the registry is asked. */
  lookup?: (name: string, callId: string) => Tool | undefined
  /** Runs when a call ended, before its output goes back (a playbook stage change). */
  afterCall?: (outcome: ToolCallOutcome) => Promise<void>
  /** onToolStart, onToolEnd, onToolError. */
  hooks?: RelayHooks
}

interface ResponseCalls { pending: Map<string, AbortController>, done: boolean, answered: number }

/**
 * Bridges the model's function calls to the tool registry. Each call runs at once, beside the audio
 * (nothing waits for it); its output goes back as a `function_call_output` item, and once the response
 * that asked is done and all its calls are answered, one `response.create` lets the model go on. A
 * response that ends `cancelled` (barge-in) cancels its calls still running: their results are not sent.
 */
export class RealtimeToolBridge {
  readonly #o: RealtimeToolBridgeOptions
  readonly #responses = new Map<string, ResponseCalls>()

  constructor (options: RealtimeToolBridgeOptions) {
    this.#o = options
  }

  call (event: Extract<RealtimeEvent, { type: 'tool-call' }>): void {
    const o = this.#o
    const entry = this.#entry(event.responseId)
    const controller = new AbortController()
    entry.pending.set(event.callId, controller)
    const request = { callId: event.callId, name: event.name, arguments: parseArguments(event.arguments) }
    const tool = o.lookup?.(event.name, event.callId) ?? o.tools.get(event.name)
    void o.executor.execute(request, tool, { signal: controller.signal, sessionId: o.sessionId, turnId: event.responseId, data: o.data }, {
      onStart: (call) => {
        o.send({ type: 'tool-call-start', name: call.name, callId: call.callId, arguments: call.arguments })
        o.hooks?.toolStarted(event.responseId, call)
      },
      onEnd: (outcome) => {
        o.hooks?.toolEnded(event.responseId, outcome)
        o.send({
          type: 'tool-call-end',
          callId: outcome.callId,
          ...(outcome.result !== undefined ? { result: outcome.result } : {}),
          ...(outcome.error !== undefined ? { error: outcome.error } : outcome.cancelled ? { error: 'cancelled' } : {}),
          durationMs: outcome.durationMs
        })
      }
    }).then(async (outcome) => {
      if (!controller.signal.aborted && !o.isClosed()) await o.afterCall?.(outcome)
      this.#finished(event.responseId, outcome, controller)
    })
  }

  /** The response that asked for calls is done (`status`: completed, cancelled, incomplete, failed). */
  responseDone (responseId: string, status: string): void {
    const entry = this.#responses.get(responseId)
    if (entry === undefined) return
    entry.done = true
    if (status === 'cancelled') {
      for (const controller of entry.pending.values()) controller.abort()
      this.#responses.delete(responseId)
      return
    }
    this.#maybeContinue(responseId, entry)
  }

  /** Aborts every running call (the relay closes). */
  cancelAll (): void {
    for (const entry of this.#responses.values()) for (const controller of entry.pending.values()) controller.abort()
    this.#responses.clear()
  }

  #finished (responseId: string, outcome: ToolCallOutcome, controller: AbortController): void {
    const o = this.#o
    const entry = this.#responses.get(responseId)
    if (controller.signal.aborted || entry === undefined || o.isClosed()) return
    entry.pending.delete(outcome.callId)
    let output: string
    try {
      output = JSON.stringify(outcome.error !== undefined ? { error: outcome.error } : { result: outcome.result ?? null })
    } catch (err) {
      o.log.warn({ err, tool: outcome.name }, 'tool result is not JSON-serialisable')
      output = JSON.stringify({ error: 'The tool\'s result could not be delivered' })
    }
    o.session.sendToolOutput(outcome.callId, output)
    entry.answered++
    this.#maybeContinue(responseId, entry)
  }

  #maybeContinue (responseId: string, entry: ResponseCalls): void {
    if (!entry.done || entry.pending.size > 0) return
    this.#responses.delete(responseId)
    if (entry.answered > 0 && !this.#o.isClosed()) this.#o.session.createResponse()
  }

  #entry (responseId: string): ResponseCalls {
    let entry = this.#responses.get(responseId)
    if (entry === undefined) {
      entry = { pending: new Map(), done: false, answered: 0 }
      this.#responses.set(responseId, entry)
    }
    return entry
  }
}

function parseArguments (text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text === '' ? '{}' : text)
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {}
  // The executor reports a non-object as invalid arguments, to the model.
  return text as unknown as Record<string, unknown>
}
