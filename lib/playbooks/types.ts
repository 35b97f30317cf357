import type { ChatMessage, SessionConfig, ToolChoice } from '../providers/types.js'
import type { McpServersOptions } from '../tools/mcp/mcp-options.js'
import type { Tool } from '../tools/types.js'

/** What a transition condition sees when it is evaluated. */
export interface TransitionContext {
  /** The current stage's id. */
  stageId: string
  /** Completed turns in the current stage (a turn counts once its answer was given). */
  turnsInStage: number
  /** Milliseconds since the current stage was entered. */
  timeInStageMs: number
  /** The user's last transcript, when evaluated after a turn. */
  userText?: string
  /** The assistant's last reply, when evaluated after a turn (keyword conditions look here). */
  assistantText?: string
  /** The tool call that triggered this evaluation (tool_call conditions). */
  toolCall?: { name: string, arguments: unknown, result?: unknown, error?: string }
  /** The phone keys (DTMF) pressed since the current stage was entered, oldest first (calls only). */
  dtmfDigits?: string
  /** The intent detected for the user's text, when an intent detector is configured or a tool reported one. */
  intent?: { name: string, confidence: number }
  /** The session's playbook context (free-form, persisted with the session). */
  data: Record<string, unknown>
  history: readonly ChatMessage[]
}

/** When a transition fires. See docs/playbooks.md for when each type is evaluated. */
export type TransitionCondition =
  /** A call of this tool succeeded. */
  | { type: 'tool_call', toolName: string }
  /** The intent detector named this intent (case-insensitive) with at least `confidence` (0..1, default 0: any). */
  | { type: 'intent', intent: string, confidence?: number }
  /** The assistant's reply contains one of the keywords or phrases (case-insensitive, whole words). */
  | { type: 'keyword', keywords: string[] }
  /** The LLM chose this transition's target with the built-in `playbook_transition` tool. */
  | { type: 'llm_decision' }
  /** The turns completed in the stage reached `count` (an integer >= 1). */
  | { type: 'max_turns', count: number }
  /**
   * Phone keys (DTMF, calls only), checked on each key press against the keys pressed in the stage:
   * `digits` fires when they end with this sequence ('1', '*0'); `pattern` when this regular expression
   * (source text, e.g. '^\\d{4}#$') matches them. Give exactly one of the two.
   */
  | { type: 'dtmf', digits?: string, pattern?: string }
  /** `durationMs` passed since the stage was entered: a real timer, not checked at turn boundaries. */
  | { type: 'timeout', durationMs: number }
  /** Your own test, after every tool call, every turn and every key press (calls). A throw is reported as LLMRTC_ERR_PLAYBOOK. */
  | { type: 'custom', evaluate: (ctx: TransitionContext) => boolean | Promise<boolean> }

export type TransitionConditionType = TransitionCondition['type']

export interface TransitionAction {
  targetStage: string
  /** Clear the conversation's messages (the system prompt stays) when moving. */
  clearHistory?: boolean
  /** Merged into the playbook context (session data) when moving. */
  data?: Record<string, unknown>
}

export interface Transition {
  id: string
  /** A stage id, or '*' for any stage. */
  from: string
  condition: TransitionCondition
  action: TransitionAction
  /** Higher first (default 0); equal priorities keep declaration order. */
  priority?: number
}

export interface LLMConfig extends SessionConfig {
  model?: string
}

export interface Stage {
  id: string
  name: string
  description?: string
  systemPrompt: string
  tools?: Tool[]
  /**
   * MCP servers whose tools are offered in this stage only (docs/mcp.md). Connected when the server starts,
   * like the server-wide `mcpServers`; names are unique across both.
   */
  mcpServers?: McpServersOptions
  toolChoice?: ToolChoice
  llmConfig?: LLMConfig
  /** Default true: a turn that ends its tool loop without a final answer gets one more LLM call without tools. */
  twoPhaseExecution?: boolean
  /**
   * Turn limit of this stage: the `max_turns` transitions leaving the stage fire once the turns in the stage
   * reach their `count` or this limit, whichever is smaller. Without a `max_turns` transition leaving the
   * stage it does nothing (validation warns).
   */
  maxTurns?: number
  /**
   * Time limit of this stage in ms: the `timeout` transitions leaving the stage fire after their `durationMs`
   * or this limit, whichever is shorter. Without a `timeout` transition leaving the stage it does nothing
   * (validation warns).
   */
  timeoutMs?: number
  /** Runs when the stage is entered (not when a session is restored into it). A throw is reported; the move stands. */
  onEnter?: (ctx: StageHookContext) => void | Promise<void>
  /** Runs before the stage is left. A throw aborts the move: the session stays in this stage. */
  onExit?: (ctx: StageHookContext) => void | Promise<void>
}

export interface StageHookContext {
  sessionId: string
  stageId: string
  data: Record<string, unknown>
}

export interface Playbook {
  id: string
  name: string
  stages: Stage[]
  transitions: Transition[]
  initialStage: string
  /** Offered in every stage. */
  globalTools?: Tool[]
  /** Prepended to every stage's prompt (after the server's systemPrompt). */
  globalSystemPrompt?: string
  defaultLLMConfig?: LLMConfig
}

/** Why a stage changed: sent to the client as `stage-change.reason`. */
export type TransitionReason = string

/** A transition that fired (and is applied with `PlaybookEngine.apply`). */
export interface StageChange {
  from: string
  to: string
  transitionId: string
  /** e.g. `tool_call: lookup_order`, `keyword: "refund"`, `llm_decision: <the LLM's reason>`, `timeout: 30000 ms`. */
  reason: TransitionReason
  /** The caller clears the conversation's messages (the system prompt stays) when it applies the change. */
  clearHistory: boolean
}

/**
 * The engine's state, kept in the session's data as `data.playbook` so that a session resumed on another
 * server continues in the same stage.
 */
export interface PlaybookState {
  /** The playbook's id: a state of another playbook is ignored. */
  id: string
  stageId: string
  /** Epoch ms (the engine's clock) when the stage was entered. */
  enteredAt: number
  /** Completed turns in the stage. */
  turnsInStage: number
}

/** Names the intent of the user's text, or returns undefined when it sees none. `confidence` is 0..1. */
export type IntentDetector = (text: string) => { name: string, confidence: number } | undefined | Promise<{ name: string, confidence: number } | undefined>
