import type { Logger } from '../logger.js'
import type { ChatMessage, ToolDefinition } from '../providers/types.js'
import type { Tool } from '../tools/types.js'

/** What happens when a relay session runs over its budget. */
export type BudgetAction = 'warn' | 'end-session'

/** Spend limits of one relay session. */
export interface RealtimeBudget {
  /** Longest session, in ms, from the moment the provider session opened (default: none). */
  maxSessionMs?: number
  /** Most tokens (input + output, every kind) the session may use (default: none). */
  maxTokens?: number
  /** `'end-session'` (default): `BUDGET_EXCEEDED` and the session ends; `'warn'`: logged once, it goes on. */
  onExceeded?: BudgetAction
}

/**
 * Who decides when the user's turn starts and ends: the provider's own turn detection (OpenAI `server_vad` /
 * `semantic_vad`), or llmrtc's Silero VAD (`llmrtc`: the provider's is off, the relay commits each utterance
 * and asks for the answer, and barges in on speech; segmentation options are the `vad` option's).
 */
export type RealtimeTurnDetection =
  | { type: 'server_vad', threshold?: number, prefixPaddingMs?: number, silenceDurationMs?: number, idleTimeoutMs?: number }
  | { type: 'semantic_vad', eagerness?: 'low' | 'medium' | 'high' | 'auto' }
  | { type: 'llmrtc' }

/** Transcription of the user's speech (sent as `transcript`). */
export interface RealtimeTranscription {
  /** Default `gpt-4o-mini-transcribe`. */
  model?: string
  /** ISO-639-1 code, e.g. `en`. */
  language?: string
  prompt?: string
}

/** The `realtime` option: speech-to-speech relay to a realtime model. */
export interface RealtimeOptions {
  /** `'openai'`: the OpenAI Realtime API; `'gemini'`: the Gemini Live API. */
  provider: 'openai' | 'gemini'
  /** Default `gpt-realtime` (OpenAI), `gemini-2.5-flash-native-audio-preview-12-2025` (Gemini). */
  model?: string
  /** The session's instructions (default: the server's `systemPrompt`). */
  instructions?: string
  /** Default `marin` (OpenAI), `Puck` (Gemini). */
  voice?: string
  /** Tools the model may call (default: the server's `tools`). */
  tools?: Tool[]
  /** Default `{ model: 'gpt-4o-mini-transcribe' }`; `false`: no user transcripts. */
  transcription?: RealtimeTranscription | false
  /** Default `{ type: 'server_vad' }`. `false` is not supported in relay mode (nothing would commit turns). */
  turnDetection?: RealtimeTurnDetection
  /** Most output tokens per response (default: the provider's, `inf`). */
  maxOutputTokens?: number
  budget?: RealtimeBudget
  /** Default: OPENAI_API_KEY (OpenAI), GEMINI_API_KEY else GOOGLE_API_KEY (Gemini). */
  apiKey?: string
  /**
   * OpenAI: default OPENAI_BASE_URL, else `https://api.openai.com/v1` (the SDK always connects with `wss:`).
   * Gemini: default GEMINI_BASE_URL, else `https://generativelanguage.googleapis.com` (no version; `http:` dials `ws:`).
   */
  baseURL?: string
  /** How long opening the provider session may take, in ms (default 10 000). */
  connectTimeoutMs?: number
  /**
   * When the relay cannot open or fails: `'pipeline'` (default) goes on with the STT → LLM → TTS pipeline
   * (`ready{mode:'pipeline'}`, or `mode-changed` later); `'none'` sends `REALTIME_ERROR` and closes.
   */
  fallback?: 'pipeline' | 'none'
}

/** Token usage of one response, as the `usage` message carries it. */
export interface RealtimeUsage {
  inputTokens: number
  outputTokens: number
  audioInputTokens?: number
  audioOutputTokens?: number
  cachedTokens?: number
}

/** A provider's events, in llmrtc's words (string-literal discriminated union). */
export type RealtimeEvent =
  | { type: 'speech-started', itemId?: string }
  /** `durationMs`: the utterance's length, when the detector knows it. */
  | { type: 'speech-stopped', durationMs?: number }
  | { type: 'user-transcript', text: string, isFinal: boolean }
  | { type: 'response-started', responseId: string }
  /** PCM s16le mono at the provider's output rate. */
  | { type: 'audio', responseId: string, itemId: string, contentIndex: number, pcm: Int16Array }
  | { type: 'assistant-transcript', responseId: string, text: string, isFinal: boolean }
  | { type: 'tool-call', responseId: string, callId: string, name: string, arguments: string }
  | { type: 'response-done', responseId: string, status: string, usage?: RealtimeUsage }
  /** An error the provider reported on a live session (the session goes on). */
  | { type: 'provider-error', message: string, code?: string }
  /** The provider session ended on its own (cut, expired); `error` says why. */
  | { type: 'closed', error: Error }
  /** The provider will end this session soon (Gemini `goAway`, OpenAI's session cap): the relay renews it. */
  | { type: 'expiring', timeLeftMs?: number }
  /** A handle that resumes this session's state in a new connection (Gemini `sessionResumptionUpdate`). */
  | { type: 'resume-handle', handle: string }

/** One open provider session (the OpenAI Realtime WebSocket). */
export interface RealtimeProviderSession {
  /** Rate of the PCM `appendAudio` takes and `audio` events carry, in Hz. */
  readonly inputRateHz: number
  readonly outputRateHz: number
  onEvent: (listener: (event: RealtimeEvent) => void) => void
  /** Appends microphone PCM s16le mono at `inputRateHz`. */
  appendAudio: (pcm: Int16Array) => void
  /** Cuts the model's item to what the user heard, so its memory matches. */
  truncate: (itemId: string, contentIndex: number, audioEndMs: number) => void
  /** Returns a tool's output (JSON text) for `callId`. */
  sendToolOutput: (callId: string, output: string) => void
  /** Asks for a response (after tool outputs, or for typed text). */
  createResponse: () => void
  /** Adds a typed user message. */
  sendText: (text: string) => void
  /** Replaces the live session's instructions and tools (a playbook stage change). */
  update: (change: RealtimeSessionChange) => void
  /**
   * Our turn detection (`turnDetection: { type: 'llmrtc' }`) saw the user's utterance end: the audio appended
   * since the last commit is the user's message, and the model answers it. OpenAI: `input_audio_buffer.commit`
   * then `response.create`; Gemini Live (automatic activity detection off): `activityEnd`, after the
   * `activityStart` sent with the utterance's first appended audio. Only called in that mode, and only after
   * audio was appended.
   */
  commitInput: () => void
  /**
   * Our turn detection heard the user speak while a response is in progress: stop generating it (barge-in).
   * OpenAI: `response.cancel`; Gemini Live: nothing more is needed (the next `activityStart` interrupts).
   */
  cancelResponse: () => void
  /** Closes the session (idempotent). */
  close: () => void
}

/** What a playbook stage change gives a live session. */
export interface RealtimeSessionChange {
  instructions?: string
  tools: ToolDefinition[]
}

/** What a provider session is opened (or renewed) with, beside the provider's own settings. */
export interface RealtimeSessionSetup extends RealtimeSessionChange {
  /** The conversation so far (final text of both sides), given to a renewed session so it remembers. */
  history?: ChatMessage[]
  /** A provider's handle to resume an earlier session's state (Gemini session resumption); tried before `history`. */
  resumeHandle?: string
  signal: AbortSignal
  log: Logger
}

/** Opens one provider session: at connect, and again to renew one that expires. */
export type OpenRealtimeSession = (setup: RealtimeSessionSetup) => Promise<RealtimeProviderSession>
