import type { Clock } from '../clock.js'
import { clientErrorOf, protocolCodeOf } from '../errors.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { TurnContext } from '../hooks/hook-types.js'
import type { Logger } from '../logger.js'
import { publishStageChange, publishToolEnd } from '../observability/channels.js'
import type { PlaybookEngine } from '../playbooks/playbook-engine.js'
import type { StageChange } from '../playbooks/types.js'
import type { AgentRound, TurnAgent } from '../pipeline/turn-types.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import type { ChatMessage, ToolCallRequest } from '../providers/types.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import { toolResultMessage, type ToolExecutor } from '../tools/tool-executor.js'
import type { ToolRegistry } from '../tools/tool-registry.js'
import type { Tool, ToolCallOutcome } from '../tools/types.js'

/** Bounds of the tool phase of one turn. */
export interface ToolLoopLimits {
  /** Most LLM rounds that may call tools in one turn (default 5). */
  maxToolRounds: number
  /** How long the tool phase of one turn may last, in ms (default 30 000). */
  toolPhaseTimeoutMs: number
}

export const DEFAULT_TOOL_LOOP_LIMITS: ToolLoopLimits = { maxToolRounds: 5, toolPhaseTimeoutMs: 30_000 }

export interface SessionAgentOptions extends ToolLoopLimits {
  sessionId: string
  /** The server's system prompt (the playbook's and the stage's are added to it). */
  systemPrompt: string
  /** Server-wide tools, offered in every turn (and every stage). */
  tools: ToolRegistry
  executor: ToolExecutor
  /** The session's playbook, when one runs. */
  playbook?: PlaybookEngine
  history: ConversationHistory
  data: Record<string, unknown>
  send: (message: ServerMessage) => void
  hooks: HookRegistry
  clock: Clock
  log: Logger
}

/**
 * A session's tools and playbook, as its turns use them: what each LLM round offers, running tool
 * calls (events to the client, hooks, history), and moving between playbook stages.
 */
export class SessionAgent implements TurnAgent {
  readonly #o: SessionAgentOptions
  #started: Promise<void> | undefined

  constructor (options: SessionAgentOptions) {
    this.#o = options
  }

  get maxToolRounds (): number { return this.#o.maxToolRounds }
  get toolPhaseTimeoutMs (): number { return this.#o.toolPhaseTimeoutMs }
  get twoPhase (): boolean { return this.#o.playbook?.twoPhase() ?? true }

  async begin (): Promise<void> {
    this.#started ??= this.#o.playbook?.start() ?? Promise.resolve()
    await this.#started
  }

  round (withTools: boolean): AgentRound {
    const playbook = this.#o.playbook
    const systemPrompt = playbook?.systemPrompt(this.#o.systemPrompt) ?? this.#o.systemPrompt
    const round: AgentRound = { systemPrompt, tools: [] }
    const config = playbook?.llmConfig()
    if (config !== undefined && Object.keys(config).length > 0) round.config = config
    if (!withTools) return round
    round.tools = [...this.#o.tools.definitions(), ...(playbook?.toolDefinitions() ?? [])]
    const toolChoice = playbook?.toolChoice()
    if (toolChoice !== undefined && round.tools.length > 0) round.toolChoice = toolChoice
    return round
  }

  async runToolCalls (calls: ToolCallRequest[], turn: { ctx: TurnContext, signal: AbortSignal, roundText: string }): Promise<StageChange | undefined> {
    const o = this.#o
    const playbook = o.playbook
    const stageId = playbook?.stage.id
    const requested: StageChange[] = []
    const outcomes = await o.executor.executeAll(calls, name => this.#lookup(name, requested), {
      signal: turn.signal,
      sessionId: o.sessionId,
      turnId: turn.ctx.turnId,
      ...(stageId !== undefined ? { stageId } : {}),
      data: o.data
    }, {
      onStart: (call) => {
        o.send({ type: 'tool-call-start', name: call.name, callId: call.callId, arguments: call.arguments })
        void o.hooks.run('onToolStart', turn.ctx, { callId: call.callId, name: call.name, arguments: call.arguments })
      },
      onEnd: (outcome) => { this.#ended(turn.ctx, outcome, stageId) }
    })
    // Only whole pairs enter the history: a call cut by barge-in leaves neither its call nor a result.
    const kept = outcomes.filter(outcome => !outcome.cancelled)
    if (kept.length > 0) {
      const keptIds = new Set(kept.map(outcome => outcome.callId))
      o.history.add(
        { role: 'assistant', content: turn.roundText, toolCalls: calls.filter(call => keptIds.has(call.callId)) },
        ...kept.map(toolResultMessage)
      )
    }
    if (turn.signal.aborted || playbook === undefined) return undefined
    // The LLM's own decision first, then what the calls trigger.
    if (requested[0] !== undefined) return requested[0]
    for (const outcome of kept) {
      if (outcome.error !== undefined || playbook.isTransitionTool(outcome.name)) continue
      const change = await this.#guard(async () => await playbook.afterToolCall({ name: outcome.name, arguments: outcome.arguments, result: outcome.result }))
      if (change !== undefined) return change
    }
    return undefined
  }

  async applyChange (change: StageChange, turn: { ctx: TurnContext, keep?: ChatMessage }): Promise<boolean> {
    const o = this.#o
    const playbook = o.playbook
    if (playbook === undefined) return false
    let applied = await this.#guard(async () => await playbook.apply(change), turn.ctx)
    // An onEnter that threw ran after the move: the stage did change (and the error was reported).
    if (applied === undefined && playbook.stage.id === change.to) applied = true
    if (applied !== true) return false
    if (change.clearHistory) {
      // The turn in progress still needs the user's words for its answer.
      o.history.clear()
      if (turn.keep !== undefined) o.history.add(turn.keep)
    }
    o.send({ type: 'stage-change', from: change.from, to: change.to, reason: change.reason })
    o.log.info({ from: change.from, to: change.to, transitionId: change.transitionId }, 'playbook stage changed')
    publishStageChange(o.sessionId, change, playbook.playbook.id)
    return true
  }

  async afterAnswer (turn: { ctx: TurnContext, userText: string, assistantText: string, keep: ChatMessage }): Promise<void> {
    const playbook = this.#o.playbook
    if (playbook === undefined) return
    const change = await this.#guard(async () => await playbook.afterTurn({ userText: turn.userText, assistantText: turn.assistantText }), turn.ctx)
    if (change !== undefined) await this.applyChange(change, turn)
  }

  /** A timer transition (playbook `timeout`), applied between turns. */
  async applyTimerChange (change: StageChange): Promise<void> {
    await this.begin()
    const ctx: TurnContext = { turnId: 'timer', sessionId: this.#o.sessionId, startTime: this.#o.clock.now() }
    await this.applyChange(change, { ctx })
  }

  /** A phone key (DTMF) pressed on a call: the playbook's `dtmf` transitions, applied between turns. Resolves true when the stage changed. */
  async keyPressed (digit: string): Promise<boolean> {
    const playbook = this.#o.playbook
    if (playbook === undefined) return false
    await this.begin()
    const ctx: TurnContext = { turnId: 'dtmf', sessionId: this.#o.sessionId, startTime: this.#o.clock.now() }
    const change = await this.#guard(async () => await playbook.afterDtmf(digit, { history: this.#o.history.messages }), ctx)
    return change !== undefined && await this.applyChange(change, { ctx })
  }

  close (): void {
    this.#o.playbook?.close()
  }

  /** The tool behind a name: the playbook's transition tool, the stage's and global tools, the server's. */
  #lookup (name: string, requested: StageChange[]): Tool | undefined {
    const playbook = this.#o.playbook
    if (playbook?.isTransitionTool(name) === true) {
      return {
        definition: { name, description: '', parameters: { type: 'object' } },
        handler: (args) => {
          const { change, error } = playbook.requestTransition(args)
          if (change === undefined) throw new Error(error ?? 'transition refused')
          requested.push(change)
          return { movedTo: change.to }
        }
      }
    }
    return playbook?.tools().find(tool => tool.definition.name === name) ?? this.#o.tools.get(name)
  }

  #ended (ctx: TurnContext, outcome: ToolCallOutcome, stageId: string | undefined): void {
    const o = this.#o
    o.send({
      type: 'tool-call-end',
      callId: outcome.callId,
      ...(outcome.result !== undefined ? { result: outcome.result } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      durationMs: outcome.durationMs
    })
    const end = o.clock.now()
    const info = { callId: outcome.callId, name: outcome.name, ...(outcome.result !== undefined ? { result: outcome.result } : {}), ...(outcome.error !== undefined ? { error: outcome.error } : {}) }
    if (outcome.error !== undefined) {
      const cause = (outcome as { cause?: unknown }).cause
      void o.hooks.run('onToolError', ctx, { callId: outcome.callId, name: outcome.name, arguments: outcome.arguments }, new Error(outcome.error, cause !== undefined ? { cause } : undefined))
    }
    void o.hooks.run('onToolEnd', ctx, info, { startTime: end - outcome.durationMs, endTime: end, durationMs: outcome.durationMs })
    publishToolEnd({ sessionId: o.sessionId, turnId: ctx.turnId, ...(stageId !== undefined ? { stageId } : {}) }, outcome)
  }

  /** Runs a playbook callback; its failure is reported (PLAYBOOK_ERROR) and the stage stays. */
  async #guard<T> (run: () => Promise<T>, ctx?: TurnContext): Promise<T | undefined> {
    try {
      return await run()
    } catch (error) {
      const o = this.#o
      const err = error instanceof Error ? error : new Error(String(error))
      o.log.warn({ err }, 'playbook callback failed')
      o.send(clientErrorOf(err))
      await o.hooks.run('onError', err, { code: protocolCodeOf(err), component: 'playbook', sessionId: o.sessionId, ...(ctx !== undefined ? { turnId: ctx.turnId } : {}), timestamp: o.clock.now() })
      return undefined
    }
  }
}
