import type { StageChange, StageHookContext } from '../playbooks/types.js'
import type { ProtocolErrorCode } from '../protocol/error-codes.js'
import type { FailoverEvent } from '../providers/failover.js'
import type { LLMChunk, LLMRequest, LLMResult, STTResult } from '../providers/types.js'
import type { AnsweringMachineResult } from '../telephony/carrier-control.js'
import type { DtmfEvent } from '../telephony/dtmf.js'
import type { SessionTranscript } from '../recording/transcript-types.js'

/** Identifies one conversation turn; passed to every turn hook. */
export interface TurnContext {
  turnId: string
  sessionId: string
  /** Epoch milliseconds when the turn started. */
  startTime: number
}

/** Start, end and duration of an operation, all in milliseconds (epoch for the first two). */
export interface TimingInfo {
  startTime: number
  endTime: number
  durationMs: number
}

/** What an `onError` hook learns about where an error happened. */
export interface ErrorContext {
  code: ProtocolErrorCode
  component: 'stt' | 'llm' | 'tts' | 'vad' | 'webrtc' | 'server' | 'signaling' | 'session' | 'tool' | 'playbook' | 'hook' | 'realtime' | 'recording'
  sessionId?: string
  turnId?: string
  /** Epoch milliseconds. */
  timestamp: number
  details?: Record<string, unknown>
}

/** One synthesized audio chunk as turn hooks see it. */
export interface TTSChunkInfo {
  /** PCM s16le mono. */
  audio: Buffer
  sampleRate: number
  /** The sentence this audio speaks, when known. */
  sentence?: string
}

/** A tool call the LLM asked for. */
export interface ToolCallInfo {
  callId: string
  name: string
  arguments: unknown
}

export interface ToolResultInfo {
  callId: string
  name: string
  result?: unknown
  error?: string
}

type MaybePromise = void | Promise<void>

/**
 * Every llmrtc hook and its signature. The list is closed: `addHook` rejects any other name.
 * Hooks run in registration order and are awaited; an error thrown by a hook is logged and reported to
 * `onError`, except in the guardrail hooks (`onSTTEnd`, `onLLMEnd`), where throwing blocks the turn.
 */
export interface LLMRTCHooks {
  onConnection: (sessionId: string, connectionId: string) => MaybePromise
  onDisconnect: (sessionId: string, timing: TimingInfo) => MaybePromise
  onSpeechStart: (sessionId: string, timestamp: number) => MaybePromise
  onSpeechEnd: (sessionId: string, timestamp: number, audioDurationMs: number) => MaybePromise
  onError: (error: Error, context: ErrorContext) => MaybePromise

  onTurnStart: (ctx: TurnContext, audio: Buffer) => MaybePromise
  onTurnEnd: (ctx: TurnContext, timing: TimingInfo) => MaybePromise
  onSTTStart: (ctx: TurnContext, audio: Buffer) => MaybePromise
  onSTTEnd: (ctx: TurnContext, result: STTResult, timing: TimingInfo) => MaybePromise
  onSTTError: (ctx: TurnContext, error: Error) => MaybePromise
  onLLMStart: (ctx: TurnContext, request: LLMRequest) => MaybePromise
  onLLMChunk: (ctx: TurnContext, chunk: LLMChunk, chunkIndex: number) => MaybePromise
  onLLMEnd: (ctx: TurnContext, result: LLMResult, timing: TimingInfo) => MaybePromise
  onLLMError: (ctx: TurnContext, error: Error) => MaybePromise
  onTTSStart: (ctx: TurnContext, text: string) => MaybePromise
  onTTSChunk: (ctx: TurnContext, chunk: TTSChunkInfo, chunkIndex: number) => MaybePromise
  onTTSEnd: (ctx: TurnContext, timing: TimingInfo) => MaybePromise
  onTTSError: (ctx: TurnContext, error: Error) => MaybePromise
  onToolStart: (ctx: TurnContext, call: ToolCallInfo) => MaybePromise
  onToolEnd: (ctx: TurnContext, result: ToolResultInfo, timing: TimingInfo) => MaybePromise
  onToolError: (ctx: TurnContext, call: ToolCallInfo, error: Error) => MaybePromise
  /** A playbook stage was entered (the initial stage, or the target of a transition; not on a restore). */
  onStageEnter: (sessionId: string, stageId: string, ctx: StageHookContext) => MaybePromise
  /** A playbook stage is being left, after its onExit. */
  onStageExit: (sessionId: string, stageId: string, ctx: StageHookContext) => MaybePromise
  /** A playbook transition was applied, after onStageExit and onStageEnter. */
  onTransition: (sessionId: string, change: StageChange) => MaybePromise
  /** A playbook reached a terminal stage (one no transition leaves). */
  onPlaybookComplete: (sessionId: string, playbookId: string, finalStageId: string) => MaybePromise
  /** The caller pressed a key on a phone call (DTMF: 0-9, *, #, A-D), in the order pressed. */
  onDtmf: (sessionId: string, event: DtmfEvent) => MaybePromise
  /**
   * The carrier's answering-machine detection judged who answered an outbound call placed with
   * `machineDetection: true` (`fastify.llmrtc.telephony.call`): a person, a machine (after its greeting), a fax.
   */
  onAnsweringMachine: (sessionId: string, result: AnsweringMachineResult) => MaybePromise
  /** A provider failed before any output and the next one in the role's list takes over. */
  onProviderFailover: (event: FailoverEvent) => MaybePromise
  /**
   * A session ended, with its transcript (turns, tool calls, stage changes, latencies; see
   * docs/recording.md). Runs only with the recording plugin, for each session it followed (not vetoed).
   */
  onSessionEnd: (sessionId: string, transcript: SessionTranscript) => MaybePromise
}

export type LLMRTCHookName = keyof LLMRTCHooks

/** The closed list of hook names, in documentation order. */
export const HOOK_NAMES: readonly LLMRTCHookName[] = [
  'onConnection', 'onDisconnect', 'onSpeechStart', 'onSpeechEnd', 'onError',
  'onTurnStart', 'onTurnEnd',
  'onSTTStart', 'onSTTEnd', 'onSTTError',
  'onLLMStart', 'onLLMChunk', 'onLLMEnd', 'onLLMError',
  'onTTSStart', 'onTTSChunk', 'onTTSEnd', 'onTTSError',
  'onToolStart', 'onToolEnd', 'onToolError',
  'onStageEnter', 'onStageExit', 'onTransition', 'onPlaybookComplete',
  'onDtmf',
  'onAnsweringMachine',
  'onProviderFailover',
  'onSessionEnd'
]

/** Hooks whose errors propagate to the caller: throwing blocks the turn (content guardrails). */
export const GUARDRAIL_HOOKS: ReadonlySet<LLMRTCHookName> = new Set(['onSTTEnd', 'onLLMEnd'])

/** Hooks given as one object (library mode's `hooks` option). */
export type LLMRTCHookObject = { [K in LLMRTCHookName]?: LLMRTCHooks[K] }
