import type { BackgroundMixer } from '../audio/background-mixer.js'
import type { Clock } from '../clock.js'
import { resolveSpeechTextFilterOptions, type ResolvedSpeechTextFilterOptions } from './speech-text-filter.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { TurnContext } from '../hooks/hook-types.js'
import type { Logger } from '../logger.js'
import type { StageChange } from '../playbooks/types.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import type { ChatMessage, LLMChunk, LLMRequest, Providers, STTResult, ToolCallRequest, TTSStreamEvent } from '../providers/types.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import type { AudioOutput } from '../transport/media-transport.js'

/** Per-turn settings (server defaults, overridable per session). */
export interface TurnOptions {
  /** Speak sentence by sentence while the LLM streams (default true). */
  streamingTTS: boolean
  /** Deadline of one STT call, in ms (default 15 000). */
  sttTimeoutMs: number
  /** Deadline of one LLM call, from request to its last chunk, in ms (default 60 000). */
  llmTimeoutMs: number
  /** Deadline of synthesizing one sentence, in ms (default 20 000). */
  ttsTimeoutMs: number
  /** Shortest sentence sent to TTS on its own, in characters (default 12). */
  sentenceMinChars: number
  /** What the LLM's text becomes before TTS (default: every filter on; false: spoken as written). */
  speechFilters: ResolvedSpeechTextFilterOptions | false
}

export const DEFAULT_TURN_OPTIONS: TurnOptions = {
  streamingTTS: true,
  sttTimeoutMs: 15_000,
  llmTimeoutMs: 60_000,
  ttsTimeoutMs: 20_000,
  sentenceMinChars: 12,
  speechFilters: resolveSpeechTextFilterOptions(undefined)
}

/** What a turn needs from its session and server. */
export interface TurnEnvironment {
  sessionId: string
  providers: Providers
  hooks: HookRegistry
  history: ConversationHistory
  send: (message: ServerMessage) => void
  /** Where speech goes: the WebRTC track, or `tts-chunk` messages. */
  output: AudioOutput
  /** True when `output` is the WebSocket fallback (no track): non-streamed TTS is then sent as one `tts` message. */
  outputIsWebSocket: boolean
  clock: Clock
  log: Logger
  options: TurnOptions
  /** Tools and playbook of the session: present, the answer runs the two-phase tool loop (turn-agent.ts). */
  agent?: TurnAgent
  /** The session's background sounds, mixed into `output`: the turn wants the thinking sound while it waits. */
  background?: BackgroundMixer
  /** The turn's user message is in the history and the LLM is about to be asked (the session is saved then). */
  onQuestion?: (turnId: string) => void
}

/** What one LLM round of a tool-using turn sends besides the conversation. */
export interface AgentRound {
  systemPrompt: string
  tools: NonNullable<LLMRequest['tools']>
  toolChoice?: LLMRequest['toolChoice']
  config?: LLMRequest['config']
}

/**
 * A session's tools and playbook as a turn sees them. The turn streams each LLM round into speech; the
 * agent says what each round offers, runs the tool calls, and moves between playbook stages.
 */
export interface TurnAgent {
  /** Starts the playbook on first use (its onEnter hooks); idempotent. */
  begin: () => Promise<void>
  /** The next round's system prompt and tools; `withTools: false` is phase 2 (the spoken answer). */
  round: (withTools: boolean) => AgentRound
  /**
   * Runs one round's tool calls (tool-call-start/end to the client, tool hooks), records the calls and
   * their results in the history as whole pairs (nothing from a cancelled generation), and returns the
   * stage change they trigger, if any. Never throws for a tool's failure: that is the tool's result.
   */
  runToolCalls: (calls: ToolCallRequest[], turn: { ctx: TurnContext, signal: AbortSignal, roundText: string }) => Promise<StageChange | undefined>
  /** Applies a stage change (stage-change to the client). Returns false when a playbook callback failed (reported). */
  applyChange: (change: StageChange, turn: { ctx: TurnContext, keep?: ChatMessage }) => Promise<boolean>
  /** After an answered turn: counts it and applies the transitions it triggers (keyword, intent, max_turns, custom). */
  afterAnswer: (turn: { ctx: TurnContext, userText: string, assistantText: string, keep: ChatMessage }) => Promise<void>
  /** Whether a transition in the current stage ends the tool phase (default true). */
  readonly twoPhase: boolean
  /** Most LLM rounds that may call tools in one turn. */
  readonly maxToolRounds: number
  /** How long the tool phase of one turn may last, in ms. */
  readonly toolPhaseTimeoutMs: number
}

/** An LLM answer started before the turn (preemptive generation), for the turn's first LLM call. */
export interface PrefetchedAnswer {
  /** The request it was started with (what `onLLMStart` sees). */
  request: LLMRequest
  /** The answer: chunks generated so far, then the live ones; `signal` (the turn's) aborts it. */
  stream: (signal: AbortSignal) => AsyncIterable<LLMChunk>
  /** The first sentence, already being synthesized: used when the turn's first sentence is `text`. */
  speech?: { text: string, stream: (signal: AbortSignal) => AsyncIterable<Buffer | TTSStreamEvent> }
}

/** The user's side of a turn: the utterance and how to get its transcript. */
export interface TurnInput {
  /** The utterance as a WAV file (for hooks and buffered STT). */
  audio: Buffer
  /** The final transcript (streaming STT already running, or a buffered call made now). */
  transcribe: (signal: AbortSignal) => Promise<STTResult>
  /** Images sent with the utterance. */
  attachments: Array<{ data: string, mimeType?: string, alt?: string }>
  /** Epoch ms when the user stopped speaking (the VAD's decision), for latency figures. */
  speechEndedAt: number
  /** The turn's id (default: a random UUID). A used speculative answer passes its own. */
  turnId?: string
  /**
   * Preemptive generation: called once the turn knows the user's words (and put them in the history);
   * returns the answer already started for exactly these words, or undefined to ask the LLM now.
   */
  prefetch?: (transcript: string) => PrefetchedAnswer | undefined
  /**
   * No user words: the assistant speaks first. `say` speaks this text as it is; `reply` asks the LLM
   * for an answer with these instructions added to the system prompt. `transcribe` is not called.
   */
  assistantFirst?: { say: string } | { reply: string }
  /**
   * A user message already last in the history, to be answered as it is (a server stopped before
   * answering it): sent as the `transcript`, not added again; `transcribe` is not called.
   */
  unanswered?: ChatMessage
}

/** Latency figures of one turn, in ms after the end of speech (absent: never reached). */
export interface TurnTimings {
  transcriptMs?: number
  firstTokenMs?: number
  firstAudioMs?: number
  /** First audio handed to the output (the track's next 10 ms frame carries it). */
  firstAudioOutMs?: number
  totalMs?: number
}

export type TurnOutcome = 'completed' | 'empty' | 'cancelled' | 'failed' | 'blocked'

export interface TurnResult {
  outcome: TurnOutcome
  ctx: TurnContext
  timings: TurnTimings
  /** What the assistant said (or, when cancelled, what the user heard of it). */
  assistantText: string
}
