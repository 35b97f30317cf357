import type { ToolDefinition } from '../providers/types.js'

/** What a tool handler receives besides its (validated) arguments. */
export interface ToolContext {
  /** Aborted on timeout, and on barge-in unless the tool is `cancelOnBargeIn: false`. */
  signal: AbortSignal
  sessionId: string
  turnId: string
  callId: string
  /** The playbook stage the call happens in, when a playbook runs. */
  stageId?: string
  /** The session's free-form data (persisted with the session; playbook context lives here). */
  data: Record<string, unknown>
}

export type ToolHandler<Args = Record<string, unknown>, Result = unknown> = (args: Args, ctx: ToolContext) => Result | Promise<Result>

/** Per-tool execution policy. */
export interface ToolPolicy {
  /** Barge-in aborts the handler (default true). false: it runs to completion (a payment), and its result is recorded. */
  cancelOnBargeIn?: boolean
  /** Deadline of one call in ms (default: the executor's, 10 000). */
  timeoutMs?: number
}

/** A tool: its definition for the LLM (name, description, JSON Schema parameters), handler and policy. */
export interface Tool<Args = Record<string, unknown>, Result = unknown> extends ToolPolicy {
  definition: ToolDefinition
  handler: ToolHandler<Args, Result>
}

/** One call the executor ran. `error` is the message the LLM sees; `result` is JSON-serialisable. */
export interface ToolCallOutcome {
  callId: string
  name: string
  arguments: unknown
  result?: unknown
  error?: string
  /** The error's stable code (LLMRTC_ERR_TOOL_*), when it failed. */
  errorCode?: string
  durationMs: number
  /** The call was cut by barge-in (its result is not recorded). */
  cancelled: boolean
}
