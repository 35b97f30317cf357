import type { Clock } from '../clock.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { TurnContext } from '../hooks/hook-types.js'
import type { Logger } from '../logger.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import type { Providers, STTResult } from '../providers/types.js'
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
}

export const DEFAULT_TURN_OPTIONS: TurnOptions = {
  streamingTTS: true,
  sttTimeoutMs: 15_000,
  llmTimeoutMs: 60_000,
  ttsTimeoutMs: 20_000,
  sentenceMinChars: 12
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
