import * as dc from 'node:diagnostics_channel'
import type { ErrorContext } from '../hooks/hook-types.js'
import type { StageChange } from '../playbooks/types.js'
import type { TurnOutcome, TurnResult, TurnTimings } from '../pipeline/turn-types.js'
import type { ProtocolErrorCode } from '../protocol/error-codes.js'
import type { Providers } from '../providers/types.js'
import type { ToolCallOutcome } from '../tools/types.js'

/**
 * llmrtc's observability events, published on `node:diagnostics_channel`. They are a public API: a
 * custom exporter subscribes by name (`diagnostics_channel.subscribe('llmrtc:turn:end', fn)`). Every
 * publisher checks `hasSubscribers` first, so with nobody listening an event costs one property read and
 * builds nothing. Payloads carry ids, names, codes and timings, never transcripts, prompts or tool
 * arguments. Channels are process-wide: with two llmrtc apps in one process, a subscriber sees both
 * (filter on `sessionId`, see docs/observability.md).
 */
export const LLMRTC_CHANNELS = {
  turnEnd: 'llmrtc:turn:end',
  bargeIn: 'llmrtc:barge-in',
  error: 'llmrtc:error',
  vadBatch: 'llmrtc:vad:batch',
  toolEnd: 'llmrtc:tool:end',
  stageChange: 'llmrtc:stage:change',
  speculation: 'llmrtc:speculation',
  realtimeUsage: 'llmrtc:realtime:usage',
  callStart: 'llmrtc:call:start',
  callEnd: 'llmrtc:call:end'
} as const

/** A turn ended, whatever its outcome. Times are epoch ms of the pipeline's clock. */
export interface TurnEndEvent {
  sessionId: string
  turnId: string
  outcome: TurnOutcome
  /** When the user stopped speaking (the VAD's decision), or when the `audio` message was handled. */
  speechEndedAt: number
  /** When the turn started running (later than `speechEndedAt` when it waited for the previous turn). */
  startedAt: number
  endedAt: number
  /** ms after `speechEndedAt`; a figure is absent when the turn never got there. */
  timings: Readonly<TurnTimings>
  /** Provider names per role. */
  providers: { stt: string, llm: string, tts: string }
}

/** Speech (or a new `audio` message) interrupted a running turn. */
export interface BargeInEvent {
  sessionId: string
  /** The interrupted turn. */
  turnId: string
  /** Epoch ms (the pipeline's clock). */
  at: number
  /** The assistant was speaking (true) or still thinking (false). */
  speaking: boolean
}

/** An error llmrtc reported to the `onError` hooks (the same `code` and `component`). */
export interface ErrorReportedEvent {
  code: ProtocolErrorCode
  component: ErrorContext['component']
  sessionId?: string
  turnId?: string
}

/**
 * One inference run of the shared Silero model: `windows` windows (of any session, of any llmrtc app in
 * the process) scored together.
 */
export interface VadBatchEvent {
  durationMs: number
  windows: number
}

export type ToolCallResult = 'success' | 'error' | 'timeout' | 'cancelled'

/** A tool call has its outcome. */
export interface ToolEndEvent {
  sessionId: string
  turnId: string
  callId: string
  /** The name the model called (possibly a tool that does not exist: see `errorCode`). */
  name: string
  outcome: ToolCallResult
  /** `LLMRTC_ERR_TOOL_*` when it failed. */
  errorCode?: string
  durationMs: number
  stageId?: string
}

/** A playbook moved a session to another stage. */
export interface StageChangeEvent {
  sessionId: string
  playbookId?: string
  from: string
  to: string
  transitionId: string
}

/**
 * Preemptive generation: an LLM answer was started during a pause of the user (`started`), then played
 * as the turn's answer (`used`) or thrown away because the user went on, or the words changed (`wasted`).
 */
export interface SpeculationEvent {
  sessionId: string
  outcome: 'started' | 'used' | 'wasted'
}

/** Relay mode: the tokens one realtime model response used. */
export interface RealtimeUsageEvent {
  sessionId: string
  model: string
  inputTokens: number
  outputTokens: number
  audioInputTokens?: number
  audioOutputTokens?: number
  cachedTokens?: number
}

/** A phone call was answered (its webhook): it is a session of this carrier from now on. */
export interface CallStartEvent {
  sessionId: string
  carrier: string
}

/**
 * How a call ended: `completed` (the carrier's stop, a normal close, a hang-up), `dropped` (its media
 * socket dropped and did not come back within the reconnect grace), `no-stream` (its stream never
 * started), `ended` (the server ended it: its session ended, or the server closed).
 */
export type CallOutcome = 'completed' | 'dropped' | 'no-stream' | 'ended'

/** A phone call ended. */
export interface CallEndEvent {
  sessionId: string
  carrier: string
  outcome: CallOutcome
}

/** Channel name → payload. */
export interface LLMRTCChannelEvents {
  'llmrtc:turn:end': TurnEndEvent
  'llmrtc:barge-in': BargeInEvent
  'llmrtc:error': ErrorReportedEvent
  'llmrtc:vad:batch': VadBatchEvent
  'llmrtc:tool:end': ToolEndEvent
  'llmrtc:stage:change': StageChangeEvent
  'llmrtc:speculation': SpeculationEvent
  'llmrtc:realtime:usage': RealtimeUsageEvent
  'llmrtc:call:start': CallStartEvent
  'llmrtc:call:end': CallEndEvent
}

export type LLMRTCChannelName = keyof LLMRTCChannelEvents

// Held here for the life of the process: publishers read `hasSubscribers` on these objects.
const turnEnd = dc.channel(LLMRTC_CHANNELS.turnEnd)
const bargeIn = dc.channel(LLMRTC_CHANNELS.bargeIn)
const error = dc.channel(LLMRTC_CHANNELS.error)
const vadBatch = dc.channel(LLMRTC_CHANNELS.vadBatch)
const toolEnd = dc.channel(LLMRTC_CHANNELS.toolEnd)
const stageChange = dc.channel(LLMRTC_CHANNELS.stageChange)
const speculation = dc.channel(LLMRTC_CHANNELS.speculation)
const realtimeUsage = dc.channel(LLMRTC_CHANNELS.realtimeUsage)
const callStart = dc.channel(LLMRTC_CHANNELS.callStart)
const callEnd = dc.channel(LLMRTC_CHANNELS.callEnd)

/** Called by the telephony plugin when it answers a call. */
export function publishCallStart (sessionId: string, carrier: string): void {
  if (!callStart.hasSubscribers) return
  callStart.publish({ sessionId, carrier } satisfies CallStartEvent)
}

/** Called by the telephony plugin once a call ended. */
export function publishCallEnd (sessionId: string, carrier: string, outcome: CallOutcome): void {
  if (!callEnd.hasSubscribers) return
  callEnd.publish({ sessionId, carrier, outcome } satisfies CallEndEvent)
}

/** Called by the realtime relay for each model response's usage. */
export function publishRealtimeUsage (sessionId: string, model: string, usage: Omit<RealtimeUsageEvent, 'sessionId' | 'model'>): void {
  if (!realtimeUsage.hasSubscribers) return
  realtimeUsage.publish({ sessionId, model, ...usage } satisfies RealtimeUsageEvent)
}

/** Called by the voice pipeline for each step of a preemptive generation. */
export function publishSpeculation (sessionId: string, outcome: SpeculationEvent['outcome']): void {
  if (!speculation.hasSubscribers) return
  speculation.publish({ sessionId, outcome } satisfies SpeculationEvent)
}

/**
 * Subscribes to one channel with a typed listener; returns the unsubscribe function. A listener must not
 * throw: diagnostics_channel rethrows it as an uncaught exception.
 */
export function subscribeChannel<N extends LLMRTCChannelName> (name: N, listener: (event: LLMRTCChannelEvents[N]) => void): () => void {
  const onMessage = listener as (message: unknown) => void
  dc.subscribe(name, onMessage)
  return () => { dc.unsubscribe(name, onMessage) }
}

/** Called by the voice pipeline once a turn has settled. */
export function publishTurnEnd (result: TurnResult, speechEndedAt: number, providers: Providers): void {
  if (!turnEnd.hasSubscribers) return
  const event: TurnEndEvent = {
    sessionId: result.ctx.sessionId,
    turnId: result.ctx.turnId,
    outcome: result.outcome,
    speechEndedAt,
    startedAt: result.ctx.startTime,
    endedAt: speechEndedAt + (result.timings.totalMs ?? 0),
    timings: result.timings,
    providers: { stt: providers.stt.name, llm: providers.llm.name, tts: providers.tts.name }
  }
  turnEnd.publish(event)
}

/** Called by the voice pipeline when it cancels a running turn for new speech. */
export function publishBargeIn (sessionId: string, turnId: string, at: number, speaking: boolean): void {
  if (!bargeIn.hasSubscribers) return
  bargeIn.publish({ sessionId, turnId, at, speaking } satisfies BargeInEvent)
}

/** Called where errors are reported to the `onError` hooks. */
export function publishError (context: ErrorContext): void {
  if (!error.hasSubscribers) return
  const event: ErrorReportedEvent = { code: context.code, component: context.component }
  if (context.sessionId !== undefined) event.sessionId = context.sessionId
  if (context.turnId !== undefined) event.turnId = context.turnId
  error.publish(event)
}

/** Called by the shared VAD model after each inference run (per batch, never per window or frame). */
export function publishVadBatch (durationMs: number, windows: number): void {
  if (!vadBatch.hasSubscribers) return
  vadBatch.publish({ durationMs, windows } satisfies VadBatchEvent)
}

/** For the tool loop: one call's outcome, as the executor returned it (no arguments, no result). */
export function publishToolEnd (turn: { sessionId: string, turnId: string, stageId?: string }, outcome: Pick<ToolCallOutcome, 'callId' | 'name' | 'durationMs' | 'cancelled' | 'error' | 'errorCode'>): void {
  if (!toolEnd.hasSubscribers) return
  const event: ToolEndEvent = {
    sessionId: turn.sessionId,
    turnId: turn.turnId,
    callId: outcome.callId,
    name: outcome.name,
    outcome: toolCallResult(outcome),
    durationMs: outcome.durationMs
  }
  if (outcome.errorCode !== undefined) event.errorCode = outcome.errorCode
  if (turn.stageId !== undefined) event.stageId = turn.stageId
  toolEnd.publish(event)
}

/** For the playbook engine: a stage change that was applied (its `reason` is not published: it may quote the LLM). */
export function publishStageChange (sessionId: string, change: Pick<StageChange, 'from' | 'to' | 'transitionId'>, playbookId?: string): void {
  if (!stageChange.hasSubscribers) return
  const event: StageChangeEvent = { sessionId, from: change.from, to: change.to, transitionId: change.transitionId }
  if (playbookId !== undefined) event.playbookId = playbookId
  stageChange.publish(event)
}

function toolCallResult (outcome: Pick<ToolCallOutcome, 'cancelled' | 'error' | 'errorCode'>): ToolCallResult {
  if (outcome.cancelled) return 'cancelled'
  if (outcome.errorCode === 'LLMRTC_ERR_TOOL_TIMEOUT') return 'timeout'
  return outcome.error !== undefined || outcome.errorCode !== undefined ? 'error' : 'success'
}
