import type { ChatMessage, SessionConfig, ToolChoice } from '../providers/types.js'
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
  /** The intent detected for the user's text, when an intent detector is configured or a tool reported one. */
  intent?: { name: string, confidence: number }
  /** The session's playbook context (free-form, persisted with the session). */
  data: Record<string, unknown>
  history: readonly ChatMessage[]
}

export type TransitionCondition =
  | { type: 'tool_call', toolName: string }
  | { type: 'intent', intent: string, confidence?: number }
  | { type: 'keyword', keywords: string[] }
  | { type: 'llm_decision' }
  | { type: 'max_turns', count: number }
  | { type: 'timeout', durationMs: number }
  | { type: 'custom', evaluate: (ctx: TransitionContext) => boolean | Promise<boolean> }

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
  toolChoice?: ToolChoice
  llmConfig?: LLMConfig
  /** Default true: a turn that ends its tool loop without a final answer gets one more LLM call without tools. */
  twoPhaseExecution?: boolean
  maxTurns?: number
  timeoutMs?: number
  onEnter?: (ctx: StageHookContext) => void | Promise<void>
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

/** A transition that fired. */
export interface StageChange {
  from: string
  to: string
  transitionId: string
  reason: TransitionReason
  clearHistory: boolean
}
