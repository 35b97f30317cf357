import type { ToolDefinition } from '../providers/types.js'

/** What a tool handler receives besides its (validated) arguments. */
export interface ToolContext {
  /**
   * Aborted when the call's deadline passes (reason: an `LLMRTC_ERR_TOOL_TIMEOUT` error), and on
   * barge-in unless the tool is `cancelOnBargeIn: false`. Pass it to every fetch and SDK call.
   */
  signal: AbortSignal
  sessionId: string
  turnId: string
  /** The id of this call (the model's `tool_call_id`). */
  callId: string
  /** The playbook stage the call happens in, when a playbook runs. */
  stageId?: string
  /** The session's free-form data (persisted with the session; playbook context lives here). */
  data: Record<string, unknown>
}

/**
 * Runs one call. What it returns (or resolves to) must be JSON-serialisable: it is sent to the LLM as
 * `{"result": ...}`. What it throws is reported to the LLM as the error's message (never its stack).
 */
export type ToolHandler<Args = Record<string, unknown>, Result = unknown> = (args: Args, ctx: ToolContext) => Result | Promise<Result>

/** Per-tool execution policy. */
export interface ToolPolicy {
  /**
   * Barge-in aborts the handler (default true): its outcome is `cancelled` and not recorded.
   * false: it runs to completion (a payment), and its result is recorded.
   */
  cancelOnBargeIn?: boolean
  /** Deadline of one call in ms, from the moment the handler starts (default: the executor's, 10 000). */
  timeoutMs?: number
}

/**
 * A tool: its definition for the LLM (name, description, JSON Schema parameters), handler and policy.
 * Build it with `defineTool`, which validates it and compiles its parameters schema once.
 */
export interface Tool<Args = Record<string, unknown>, Result = unknown> extends ToolPolicy {
  definition: ToolDefinition
  // Method syntax on purpose: it keeps `Tool<{ orderId: string }>` assignable to `Tool`, so typed tools
  // go into `Tool[]` lists (stages, registries) without casts. The executor validates the arguments
  // against the schema before the handler sees them.
  handler (args: Args, ctx: ToolContext): Result | Promise<Result>
}

/** One call the executor ran. `error` is the message the LLM sees; `result` is JSON-serialisable. */
export interface ToolCallOutcome {
  callId: string
  name: string
  /** The arguments as the model sent them (an object, or the raw string when it was not valid JSON). */
  arguments: unknown
  /** The handler's result as plain JSON data (`null` when it returned nothing); absent on errors. */
  result?: unknown
  error?: string
  /** The error's stable code (LLMRTC_ERR_TOOL_*), when it failed. */
  errorCode?: string
  /**
   * What the handler threw, for logs. Non-enumerable, so it never reaches the LLM or a client through
   * `JSON.stringify`.
   */
  cause?: unknown
  /** From just before the call started to its outcome, in ms (0 for a call that never started). */
  durationMs: number
  /** The call was cut by barge-in, or never started because the turn was already aborted (its result is not recorded). */
  cancelled: boolean
}
