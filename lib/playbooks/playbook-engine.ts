import { systemClock, type Clock, type TimerHandle } from '../clock.js'
import { LLMRTC_ERR_PLAYBOOK } from '../errors.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import { silentLogger, type Logger } from '../logger.js'
import type { ChatMessage, ToolChoice, ToolDefinition } from '../providers/types.js'
import { stageSourceTools } from '../tools/mcp/stage-tools.js'
import type { Tool } from '../tools/types.js'
import { conditionReason, leavingTransitions, timeLimitMs } from './conditions.js'
import { parseTransitionArguments, PLAYBOOK_TRANSITION_TOOL, transitionToolDefinition } from './transition-tool.js'
import type {
  IntentDetector, LLMConfig, Playbook, PlaybookState, Stage, StageChange, StageHookContext, Transition,
  TransitionConditionType, TransitionContext
} from './types.js'

export interface PlaybookEngineOptions {
  /** A playbook checked by `validatePlaybook` (the engine does not check it again). */
  playbook: Playbook
  sessionId: string
  /** The session's persisted data: the engine keeps its state in `data.playbook` and merges `action.data` here. */
  data: Record<string, unknown>
  /** Default: the system clock. */
  clock?: Clock
  /** Runs onStageEnter, onStageExit, onTransition and onPlaybookComplete. */
  hooks?: HookRegistry
  /**
   * Called when a `timeout` transition fires, between or during turns: apply the change when the session is
   * idle. Without it, timeout transitions never fire.
   */
  onTimer?: (change: StageChange) => void
  /** Names the intent of the user's text for `intent` conditions; only called when such a transition leaves the stage. */
  intentDetector?: IntentDetector
  log?: Logger
}

/** What the caller knows about the moment besides the turn or the call: the conversation, an intent it detected. */
export interface TransitionExtras {
  history?: readonly ChatMessage[]
  intent?: { name: string, confidence: number }
}

/** One tool call as `afterToolCall` sees it: `error` is set when it failed. */
export interface PlaybookToolCall {
  name: string
  arguments: unknown
  result?: unknown
  error?: string
}

const AFTER_TOOL_CALL: ReadonlySet<TransitionConditionType> = new Set(['tool_call', 'intent', 'custom'])
const AFTER_TURN: ReadonlySet<TransitionConditionType> = new Set(['keyword', 'intent', 'max_turns', 'custom'])
const AFTER_DTMF: ReadonlySet<TransitionConditionType> = new Set(['dtmf', 'custom'])
/** Keys pressed in a stage that `dtmf` conditions see: the newest this many. */
const MAX_STAGE_DIGITS = 64

/**
 * Runs one session through a playbook: the current stage, its tools, prompt and LLM settings, and the
 * transitions that move it on. Framework-free: the caller (the turn orchestrator) asks for changes after tool
 * calls and turns, applies them, clears the history when a change says so and tells the client.
 */
export class PlaybookEngine {
  readonly #playbook: Playbook
  readonly #sessionId: string
  readonly #data: Record<string, unknown>
  readonly #clock: Clock
  readonly #hooks: HookRegistry | undefined
  readonly #onTimer: ((change: StageChange) => void) | undefined
  readonly #intentDetector: IntentDetector | undefined
  readonly #log: Logger
  readonly #stages: Map<string, Stage>
  readonly #leaving = new Map<string, Transition[]>()
  #state: PlaybookState
  #started = false
  #closed = false
  #timer: TimerHandle | undefined
  #applying: Promise<unknown> = Promise.resolve()
  /** The phone keys pressed since the stage was entered (not persisted: a resumed session starts afresh). */
  #digits = ''

  constructor (options: PlaybookEngineOptions) {
    this.#playbook = options.playbook
    this.#sessionId = options.sessionId
    this.#data = options.data
    this.#clock = options.clock ?? systemClock
    this.#hooks = options.hooks
    this.#onTimer = options.onTimer
    this.#intentDetector = options.intentDetector
    this.#log = options.log ?? silentLogger
    this.#stages = new Map(this.#playbook.stages.map(stage => [stage.id, stage]))
    for (const stage of this.#playbook.stages) this.#leaving.set(stage.id, leavingTransitions(this.#playbook, stage.id))
    this.#state = { id: this.#playbook.id, stageId: this.#playbook.initialStage, enteredAt: this.#clock.now(), turnsInStage: 0 }
  }

  get playbook (): Playbook { return this.#playbook }

  /** The current stage (the initial stage before `start`). */
  get stage (): Stage { return this.#stage(this.#state.stageId) }

  /** A copy of the state kept in `data.playbook`. */
  get state (): PlaybookState { return { ...this.#state } }

  /** The current stage is terminal: no transition can leave it. */
  get completed (): boolean { return this.#leavingNow().length === 0 }

  /**
   * Enters the initial stage, or restores the stage saved in `data.playbook` (same playbook id, stage still
   * there) without running its onEnter. Arms the stage's timers. Calling it again does nothing.
   * Rejects with LLMRTC_ERR_PLAYBOOK when the initial stage's onEnter throws (the stage is entered anyway).
   */
  async start (): Promise<void> {
    if (this.#started || this.#closed) return
    this.#started = true
    const saved = savedState(this.#data.playbook)
    if (saved !== undefined && saved.id === this.#playbook.id && this.#stages.has(saved.stageId)) {
      this.#setState(saved)
      return
    }
    this.#setState({ id: this.#playbook.id, stageId: this.#playbook.initialStage, enteredAt: this.#clock.now(), turnsInStage: 0 })
    await this.#enter(undefined)
  }

  /**
   * The tools offered in the current stage: its own, its MCP servers' (when connected), then the global
   * ones (validation keeps names unique; the MCP plugin does not offer an MCP tool whose name is taken).
   */
  tools (): Tool[] {
    return [...(this.stage.tools ?? []), ...stageSourceTools(this.stage), ...(this.#playbook.globalTools ?? [])]
  }

  /** What the LLM is offered: the tools' definitions, plus the transition tool when the LLM may choose a next stage. */
  toolDefinitions (): ToolDefinition[] {
    const definitions = this.tools().map(tool => tool.definition)
    const targets = [...this.#llmTargets().keys()].map(id => this.#stage(id))
    if (targets.length > 0) definitions.push(transitionToolDefinition(targets))
    return definitions
  }

  /** The call is the built-in transition tool's: route it to `requestTransition`, not to the tool executor. */
  isTransitionTool (name: string): boolean {
    return name === PLAYBOOK_TRANSITION_TOOL
  }

  /** The server's prompt, the playbook's global prompt and the stage's prompt, separated by blank lines. */
  systemPrompt (serverPrompt: string): string {
    return [serverPrompt, this.#playbook.globalSystemPrompt, this.stage.systemPrompt]
      .filter((part): part is string => part !== undefined && part.trim() !== '')
      .join('\n\n')
  }

  /** The playbook's defaultLLMConfig with the stage's llmConfig over it (a copy). */
  llmConfig (): LLMConfig {
    const config: Record<string, unknown> = {}
    for (const source of [this.#playbook.defaultLLMConfig, this.stage.llmConfig]) {
      for (const [key, value] of Object.entries(source ?? {})) if (value !== undefined) config[key] = value
    }
    return config as LLMConfig
  }

  toolChoice (): ToolChoice | undefined {
    return this.stage.toolChoice
  }

  /** Whether the stage wants the second, tool-free LLM call (default true). */
  twoPhase (): boolean {
    return this.stage.twoPhaseExecution ?? true
  }

  /**
   * Answers the LLM's `playbook_transition` call: the change to apply (not applied yet), or an error message
   * for the LLM when the arguments are unusable or the target is not one an `llm_decision` transition from
   * this stage leads to.
   */
  requestTransition (args: unknown): { change?: StageChange, error?: string } {
    const targets = this.#llmTargets()
    if (targets.size === 0) return { error: `No stage change is possible from the stage "${this.#state.stageId}".` }
    const parsed = parseTransitionArguments(args)
    if ('error' in parsed) return { error: parsed.error }
    const transition = targets.get(parsed.targetStage)
    if (transition === undefined) {
      return { error: `${JSON.stringify(parsed.targetStage.slice(0, 60))} is not a stage you can move to from here: choose one of ${[...targets.keys()].join(', ')}.` }
    }
    return { change: this.#change(transition, `llm_decision: ${parsed.reason}`) }
  }

  /**
   * After a tool call: the highest-priority `tool_call`, `intent` (with `extras.intent`) or `custom` transition
   * that fires, not applied yet. A failed call fires no `tool_call` transition (custom conditions still see it).
   * The transition tool's own calls are ignored here.
   */
  async afterToolCall (call: PlaybookToolCall, extras: TransitionExtras = {}): Promise<StageChange | undefined> {
    if (this.#closed || this.isTransitionTool(call.name)) return undefined
    return await this.#evaluate(AFTER_TOOL_CALL, { ...this.#context(extras), toolCall: call })
  }

  /**
   * After a turn's answer was given: counts the turn, detects the intent when an `intent` transition leaves
   * the stage, and returns the highest-priority `keyword`, `intent`, `max_turns` or `custom` transition that
   * fires, not applied yet.
   */
  async afterTurn (turn: { userText?: string, assistantText?: string }, extras: TransitionExtras = {}): Promise<StageChange | undefined> {
    if (this.#closed) return undefined
    this.#setState({ ...this.#state, turnsInStage: this.#state.turnsInStage + 1 }, false)
    let intent = extras.intent
    const userText = turn.userText ?? ''
    if (intent === undefined && this.#intentDetector !== undefined && userText.trim() !== '' && this.#leavingNow().some(t => t.condition.type === 'intent')) {
      try {
        intent = await this.#intentDetector(userText)
      } catch (error) {
        throw this.#failure('the intent detector threw', error)
      }
    }
    const ctx: TransitionContext = { ...this.#context(extras), intent }
    if (turn.userText !== undefined) ctx.userText = turn.userText
    if (turn.assistantText !== undefined) ctx.assistantText = turn.assistantText
    return await this.#evaluate(AFTER_TURN, ctx)
  }

  /**
   * After a phone key was pressed (DTMF, on a call): adds `digit` to the keys pressed in the stage and returns
   * the highest-priority `dtmf` or `custom` transition that fires, not applied yet.
   */
  async afterDtmf (digit: string, extras: TransitionExtras = {}): Promise<StageChange | undefined> {
    if (this.#closed) return undefined
    this.#digits = (this.#digits + digit).slice(-MAX_STAGE_DIGITS)
    return await this.#evaluate(AFTER_DTMF, this.#context(extras))
  }

  /**
   * Moves to `change.to`: the old stage's onExit and `onStageExit`, then the switch (turns and time in stage
   * reset, `action.data` merged into the session data, timers re-armed), then the new stage's onEnter,
   * `onStageEnter`, `onTransition`, and `onPlaybookComplete` when the new stage is terminal. Changes are applied
   * one at a time; a change whose `from` is no longer the current stage (a timer that lost a race) is dropped
   * and resolves false. The caller clears the history (`change.clearHistory`) and tells the client.
   *
   * Rejects with LLMRTC_ERR_PLAYBOOK when onExit throws (nothing changed: still in `change.from`) or onEnter
   * throws (the move stands and the hooks ran: now in `change.to`).
   */
  async apply (change: StageChange): Promise<boolean> {
    const run = this.#applying.then(async () => await this.#apply(change))
    this.#applying = run.catch(() => {})
    return await run
  }

  /** Stops the timers. Idempotent; later calls of `afterTurn`, `afterToolCall`, `afterDtmf` and `apply` do nothing. */
  close (): void {
    this.#closed = true
    this.#clearTimer()
  }

  async #apply (change: StageChange): Promise<boolean> {
    if (this.#closed || change.from !== this.#state.stageId) return false
    if (!this.#stages.has(change.to)) throw new LLMRTC_ERR_PLAYBOOK(this.#playbook.id, `there is no stage "${change.to}" to move to`)
    const from = this.stage
    try {
      await from.onExit?.(this.#hookContext(from.id))
    } catch (error) {
      throw this.#failure(`the onExit of stage "${from.id}" threw; the session stays in it`, error)
    }
    await this.#hooks?.run('onStageExit', this.#sessionId, from.id, this.#hookContext(from.id))
    const data = this.#playbook.transitions.find(t => t.id === change.transitionId)?.action.data
    if (data !== undefined) Object.assign(this.#data, data)
    this.#setState({ id: this.#playbook.id, stageId: change.to, enteredAt: this.#clock.now(), turnsInStage: 0 })
    await this.#enter(change)
    return true
  }

  /** Runs the current stage's onEnter and the enter hooks; an onEnter throw is rethrown after the hooks. */
  async #enter (change: StageChange | undefined): Promise<void> {
    const stage = this.stage
    let failure: Error | undefined
    try {
      await stage.onEnter?.(this.#hookContext(stage.id))
    } catch (error) {
      failure = this.#failure(`the onEnter of stage "${stage.id}" threw`, error)
    }
    await this.#hooks?.run('onStageEnter', this.#sessionId, stage.id, this.#hookContext(stage.id))
    if (change !== undefined) await this.#hooks?.run('onTransition', this.#sessionId, change)
    if (this.completed) await this.#hooks?.run('onPlaybookComplete', this.#sessionId, this.#playbook.id, stage.id)
    if (failure !== undefined) throw failure
  }

  async #evaluate (types: ReadonlySet<TransitionConditionType>, ctx: TransitionContext): Promise<StageChange | undefined> {
    const stage = this.stage
    for (const transition of this.#leavingNow()) {
      if (!types.has(transition.condition.type)) continue
      let reason: string | undefined
      try {
        reason = await conditionReason(transition, ctx, stage)
      } catch (error) {
        throw this.#failure(`the custom condition of transition "${transition.id}" threw`, error)
      }
      if (reason !== undefined) return this.#change(transition, reason)
    }
    return undefined
  }

  /** Saves the state in the session data and, when the stage (or its entry time) changed, re-arms the timer. */
  #setState (state: PlaybookState, rearm = true): void {
    this.#state = state
    this.#data.playbook = { ...state }
    if (!rearm) return
    // A new stage (or a restart): the keys pressed before it no longer count.
    this.#digits = ''
    this.#armTimer(-1)
  }

  /**
   * Arms one timer for the next `timeout` deadline of the stage later than `afterMs` (ms in stage). When it
   * rings, the highest-priority timeout transition that is due fires, and the next deadline is armed (in case
   * the caller does not apply the change).
   */
  #armTimer (afterMs: number): void {
    this.#clearTimer()
    if (this.#closed || !this.#started || this.#onTimer === undefined) return
    const stage = this.stage
    const deadlines = this.#leavingNow().flatMap(t => t.condition.type === 'timeout' ? [timeLimitMs(t.condition, stage)] : [])
    const next = Math.min(...deadlines.filter(ms => ms > afterMs))
    if (next === Infinity) return
    const { stageId, enteredAt } = this.#state
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined
      if (this.#closed || this.#state.stageId !== stageId || this.#state.enteredAt !== enteredAt) return
      this.#ring(Math.max(next, this.#clock.now() - enteredAt))
    }, Math.max(0, next - (this.#clock.now() - enteredAt)))
  }

  #ring (elapsedMs: number): void {
    const stage = this.stage
    const due = this.#leavingNow().find(t => t.condition.type === 'timeout' && timeLimitMs(t.condition, stage) <= elapsedMs)
    this.#armTimer(elapsedMs)
    if (due === undefined || due.condition.type !== 'timeout') return
    const change = this.#change(due, `timeout: ${timeLimitMs(due.condition, stage)} ms`)
    try {
      this.#onTimer?.(change)
    } catch (error) {
      this.#log.error({ err: error, playbookId: this.#playbook.id, transitionId: due.id }, 'playbook onTimer callback failed')
    }
  }

  #clearTimer (): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** The stages the LLM may choose, each with the highest-priority `llm_decision` transition leading there. */
  #llmTargets (): Map<string, Transition> {
    const targets = new Map<string, Transition>()
    for (const transition of this.#leavingNow()) {
      if (transition.condition.type === 'llm_decision' && !targets.has(transition.action.targetStage)) {
        targets.set(transition.action.targetStage, transition)
      }
    }
    return targets
  }

  #leavingNow (): Transition[] {
    return this.#leaving.get(this.#state.stageId) ?? []
  }

  #change (transition: Transition, reason: string): StageChange {
    return { from: this.#state.stageId, to: transition.action.targetStage, transitionId: transition.id, reason, clearHistory: transition.action.clearHistory ?? false }
  }

  #context (extras: TransitionExtras): TransitionContext {
    const ctx: TransitionContext = {
      stageId: this.#state.stageId,
      turnsInStage: this.#state.turnsInStage,
      timeInStageMs: this.#clock.now() - this.#state.enteredAt,
      data: this.#data,
      history: extras.history ?? []
    }
    if (extras.intent !== undefined) ctx.intent = extras.intent
    if (this.#digits !== '') ctx.dtmfDigits = this.#digits
    return ctx
  }

  #hookContext (stageId: string): StageHookContext {
    return { sessionId: this.#sessionId, stageId, data: this.#data }
  }

  #stage (id: string): Stage {
    const stage = this.#stages.get(id)
    if (stage === undefined) throw new LLMRTC_ERR_PLAYBOOK(this.#playbook.id, `there is no stage "${id}"`)
    return stage
  }

  /** Wraps a playbook callback's error; its message stays in `cause` (clients only see ours). */
  #failure (what: string, error: unknown): Error {
    return new LLMRTC_ERR_PLAYBOOK(this.#playbook.id, what, { cause: error })
  }
}

function savedState (value: unknown): PlaybookState | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { id, stageId, enteredAt, turnsInStage } = value as Record<string, unknown>
  if (typeof id !== 'string' || typeof stageId !== 'string' || !Number.isFinite(enteredAt) || !Number.isInteger(turnsInStage)) return undefined
  return { id, stageId, enteredAt: enteredAt as number, turnsInStage: turnsInStage as number }
}
