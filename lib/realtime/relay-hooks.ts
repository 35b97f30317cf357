import type { Clock } from '../clock.js'
import { protocolCodeOf } from '../errors.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { ErrorContext, TurnContext } from '../hooks/hook-types.js'
import type { Logger } from '../logger.js'
import type { ProtocolErrorCode } from '../protocol/error-codes.js'
import type { ToolCallOutcome } from '../tools/types.js'

/**
 * The session hooks that relay mode fires (docs/realtime.md lists them): onSpeechStart and onSpeechEnd,
 * onSTTEnd with the model's transcription of the user and onLLMEnd with its answer's transcript (both after
 * the fact: the realtime model hears and answers by itself, so a throw cannot block anything; it is logged
 * and reported to onError), the tool hooks (the turn id is the model's response id), and onError.
 * Hooks run in the background: the relay never waits for them.
 */
export class RelayHooks {
  readonly #hooks: HookRegistry | undefined
  readonly #sessionId: string
  readonly #clock: Clock
  readonly #log: Logger
  #speechStartedAt: number | undefined
  #turns = 0

  constructor (hooks: HookRegistry | undefined, sessionId: string, clock: Clock, log: Logger) {
    this.#hooks = hooks
    this.#sessionId = sessionId
    this.#clock = clock
    this.#log = log
  }

  speechStarted (): void {
    this.#speechStartedAt = this.#clock.now()
    this.#run(async hooks => { await hooks.run('onSpeechStart', this.#sessionId, this.#speechStartedAt ?? this.#clock.now()) })
  }

  /** `durationMs`: the utterance's length when known (our VAD), else the time since speech started. */
  speechEnded (durationMs?: number): void {
    const now = this.#clock.now()
    const duration = durationMs ?? (this.#speechStartedAt !== undefined ? now - this.#speechStartedAt : 0)
    this.#run(async hooks => { await hooks.run('onSpeechEnd', this.#sessionId, now, duration) })
  }

  /** The model's final transcription of the user's words. */
  userTranscript (text: string): void {
    const now = this.#clock.now()
    const ctx: TurnContext = { turnId: `user-${++this.#turns}`, sessionId: this.#sessionId, startTime: this.#speechStartedAt ?? now }
    this.#run(async hooks => { await hooks.run('onSTTEnd', ctx, { text, isFinal: true }, { startTime: ctx.startTime, endTime: now, durationMs: now - ctx.startTime }) })
  }

  /** The model's answer, as its final transcript. */
  answer (responseId: string, text: string, startTime: number): void {
    const now = this.#clock.now()
    const ctx: TurnContext = { turnId: responseId, sessionId: this.#sessionId, startTime }
    this.#run(async hooks => { await hooks.run('onLLMEnd', ctx, { fullText: text }, { startTime, endTime: now, durationMs: now - startTime }) })
  }

  toolStarted (responseId: string, call: { callId: string, name: string, arguments: unknown }): void {
    const ctx = this.#turn(responseId)
    this.#run(async hooks => { await hooks.run('onToolStart', ctx, { callId: call.callId, name: call.name, arguments: call.arguments }) })
  }

  toolEnded (responseId: string, outcome: ToolCallOutcome): void {
    const ctx = this.#turn(responseId)
    const end = this.#clock.now()
    const info = { callId: outcome.callId, name: outcome.name, ...(outcome.result !== undefined ? { result: outcome.result } : {}), ...(outcome.error !== undefined ? { error: outcome.error } : {}) }
    this.#run(async hooks => {
      if (outcome.error !== undefined) await hooks.run('onToolError', ctx, { callId: outcome.callId, name: outcome.name, arguments: outcome.arguments }, new Error(outcome.error))
      await hooks.run('onToolEnd', ctx, info, { startTime: end - outcome.durationMs, endTime: end, durationMs: outcome.durationMs })
    })
  }

  /** `extra.code`: the protocol code when the error is not one of llmrtc's (a provider's error event). */
  error (error: Error, component: ErrorContext['component'], extra: { code?: ProtocolErrorCode, details?: Record<string, unknown> } = {}): void {
    const context: ErrorContext = { code: extra.code ?? protocolCodeOf(error), component, sessionId: this.#sessionId, timestamp: this.#clock.now(), ...(extra.details !== undefined ? { details: extra.details } : {}) }
    this.#run(async hooks => { await hooks.run('onError', error, context) })
  }

  #turn (responseId: string): TurnContext {
    return { turnId: responseId, sessionId: this.#sessionId, startTime: this.#clock.now() }
  }

  #run (task: (hooks: HookRegistry) => Promise<void>): void {
    const hooks = this.#hooks
    if (hooks === undefined) return
    task(hooks).catch((err: unknown) => {
      // Only the guardrail hooks (onSTTEnd, onLLMEnd) rethrow: here they guard nothing, so it is reported.
      this.#log.warn({ err }, 'a relay-mode hook threw')
      if (err instanceof Error) void hooks.run('onError', err, { code: 'INTERNAL_ERROR', component: 'hook', sessionId: this.#sessionId, timestamp: this.#clock.now() })
    })
  }
}
