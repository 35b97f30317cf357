import type { Clock } from '../clock.js'
import { clientErrorOf, protocolCodeOf } from '../errors.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { Logger } from '../logger.js'
import { publishStageChange } from '../observability/channels.js'
import { PlaybookEngine } from '../playbooks/playbook-engine.js'
import type { IntentDetector, Playbook, StageChange } from '../playbooks/types.js'
import type { PayloadServerMessage } from '../protocol/server-messages.js'
import type { ToolDefinition } from '../providers/types.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import type { Tool, ToolCallOutcome } from '../tools/types.js'
import type { RealtimeSessionChange } from './types.js'

export interface RealtimePlaybookOptions {
  playbook: Playbook
  sessionId: string
  /** The session's data: the engine keeps its state in `data.playbook` (a pipeline fallback resumes the stage). */
  data: Record<string, unknown>
  /** The relay's instructions (the `realtime.instructions` option, else the server's `systemPrompt`). */
  instructions?: string
  /** The server-wide tools, offered in every stage before the stage's own. */
  serverTools: ToolDefinition[]
  /** Runs onStageEnter, onStageExit, onTransition, onPlaybookComplete, and onError for a playbook failure. */
  hooks?: HookRegistry
  intentDetector?: IntentDetector
  clock: Clock
  log: Logger
}

/** What the playbook acts on once the relay runs: the live provider session and the client. */
export interface RealtimePlaybookTarget {
  /** Gives the live provider session the new stage's instructions and tools. */
  update: (change: RealtimeSessionChange) => void
  send: (message: PayloadServerMessage) => void
  /** The mirrored conversation (cleared by a transition with `clearHistory`). */
  history?: ConversationHistory
}

/**
 * A session's playbook in relay mode. The provider session opens with the current stage's instructions
 * (server prompt, global prompt, stage prompt) and tools (server tools, stage and global tools, and the
 * `playbook_transition` tool when the model may choose the next stage). Each stage change — the model's
 * transition call, a tool call, the end of an answer (keyword, intent, max_turns, custom) or a timer — is
 * applied with the engine (onExit/onEnter and the stage hooks), then the live session gets
 * `update({ instructions, tools })` and the client `stage-change`, as the pipeline's SessionAgent does.
 */
export class RealtimePlaybook {
  readonly #o: RealtimePlaybookOptions
  readonly #engine: PlaybookEngine
  #target: RealtimePlaybookTarget | undefined
  /** Changes the model asked for with the transition tool, by call id, applied once the call ended. */
  readonly #requested = new Map<string, StageChange>()
  /** Changes that fired before the relay was bound (a timer during the connect): applied at `bind`. */
  #waiting: StageChange | undefined
  #closed = false

  constructor (options: RealtimePlaybookOptions) {
    this.#o = options
    this.#engine = new PlaybookEngine({
      playbook: options.playbook,
      sessionId: options.sessionId,
      data: options.data,
      clock: options.clock,
      log: options.log,
      ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
      ...(options.intentDetector !== undefined ? { intentDetector: options.intentDetector } : {}),
      onTimer: (change) => { void this.apply(change) }
    })
  }

  /** The engine (its stage and state). */
  get engine (): PlaybookEngine { return this.#engine }

  /**
   * Enters the initial stage (its onEnter and the enter hooks), or the stage saved in the session data.
   * A failing onEnter is reported (the stage is entered anyway); never rejects.
   */
  async start (): Promise<void> {
    await this.#guard(async () => { await this.#engine.start() })
  }

  /** The current stage's instructions and tools, for opening (or renewing) the provider session. */
  current (): RealtimeSessionChange {
    const instructions = this.#engine.systemPrompt(this.#o.instructions ?? '')
    return {
      ...(instructions !== '' ? { instructions } : {}),
      tools: [...this.#o.serverTools, ...this.#engine.toolDefinitions()]
    }
  }

  /** Where stage changes go from now on: the relay's provider session and client. */
  bind (target: RealtimePlaybookTarget): void {
    this.#target = target
    const waiting = this.#waiting
    this.#waiting = undefined
    if (waiting !== undefined) void this.apply(waiting)
  }

  /**
   * The playbook's tool of that name: the transition tool (its call asks the engine for the change, applied
   * when the call ends), or a stage or global tool. Undefined for any other name (a server tool).
   */
  lookup (name: string, callId: string): Tool | undefined {
    const engine = this.#engine
    if (engine.isTransitionTool(name)) {
      return {
        definition: { name, description: '', parameters: { type: 'object' } },
        handler: (args) => {
          const { change, error } = engine.requestTransition(args)
          if (change === undefined) throw new Error(error ?? 'transition refused')
          this.#requested.set(callId, change)
          return { movedTo: change.to }
        }
      }
    }
    return engine.tools().find(tool => tool.definition.name === name)
  }

  /**
   * A tool call ended: the model's transition, else the tool_call, intent or custom transition the call
   * fires, is applied before the call's output goes back (so the model's next response is in the new stage).
   */
  async afterToolCall (outcome: ToolCallOutcome): Promise<void> {
    const requested = this.#requested.get(outcome.callId)
    this.#requested.delete(outcome.callId)
    if (this.#closed || outcome.cancelled) return
    if (requested !== undefined) {
      if (outcome.error === undefined) await this.apply(requested)
      return
    }
    if (outcome.error !== undefined || this.#engine.isTransitionTool(outcome.name)) return
    const change = await this.#guard(async () => await this.#engine.afterToolCall({ name: outcome.name, arguments: outcome.arguments, result: outcome.result }))
    if (change !== undefined) await this.apply(change)
  }

  /** The model finished an answer: the turn counts, and keyword, intent, max_turns or custom transitions may fire. */
  async afterAnswer (turn: { userText?: string, assistantText: string }): Promise<void> {
    if (this.#closed) return
    const history = this.#target?.history?.messages
    const change = await this.#guard(async () => await this.#engine.afterTurn(turn, history !== undefined ? { history } : {}))
    if (change !== undefined) await this.apply(change)
  }

  /**
   * Applies a change: the engine moves (hooks included), the mirrored history is cleared when the transition
   * says so, the live session gets the new stage's instructions and tools, and the client `stage-change`.
   * Resolves false when nothing moved (a stale change, or an onExit that threw: reported).
   */
  async apply (change: StageChange): Promise<boolean> {
    if (this.#closed) return false
    const target = this.#target
    if (target === undefined) {
      this.#waiting = change
      return false
    }
    let applied = await this.#guard(async () => await this.#engine.apply(change))
    // An onEnter that threw ran after the move: the stage did change (and the error was reported).
    if (applied === undefined && this.#engine.stage.id === change.to) applied = true
    if (applied !== true || this.#closed) return false
    if (change.clearHistory) target.history?.clear()
    target.update(this.current())
    target.send({ type: 'stage-change', from: change.from, to: change.to, reason: change.reason })
    this.#o.log.info({ from: change.from, to: change.to, transitionId: change.transitionId }, 'playbook stage changed')
    publishStageChange(this.#o.sessionId, change, this.#o.playbook.id)
    return true
  }

  /** Stops the engine's timers (idempotent). */
  close (): void {
    this.#closed = true
    this.#requested.clear()
    this.#engine.close()
  }

  /** Runs a playbook callback; its failure is reported (PLAYBOOK_ERROR to the client, onError) and the stage stays. */
  async #guard<T> (run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run()
    } catch (error) {
      const o = this.#o
      const err = error instanceof Error ? error : new Error(String(error))
      o.log.warn({ err }, 'playbook callback failed')
      this.#target?.send(clientErrorOf(err))
      await o.hooks?.run('onError', err, { code: protocolCodeOf(err), component: 'playbook', sessionId: o.sessionId, timestamp: o.clock.now() })
      return undefined
    }
  }
}
