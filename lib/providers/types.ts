/**
 * Provider contracts. Structurally compatible with the published `@llmrtc/llmrtc-core` shapes
 * (`name`, `init?`, `complete`, `stream?`, `transcribe`, `transcribeStream?`, `speak`, `speakStream?`,
 * `pcmSampleRate?`), so an existing llmrtc provider object can be passed in unchanged. llmrtc adds an
 * optional `signal` on every call (and `close()`): providers that honour it stop their network work the
 * moment a turn is cancelled.
 */

export type Role = 'system' | 'user' | 'assistant' | 'tool'

export interface VisionAttachment {
  /** A data URI or an http(s) URL. */
  data: string
  mimeType?: string
  alt?: string
}

export interface ToolCallRequest {
  callId: string
  name: string
  /** Parsed arguments (an object), or the raw string when the model produced invalid JSON. */
  arguments: Record<string, unknown>
}

export interface ChatMessage {
  role: Role
  content: string
  attachments?: VisionAttachment[]
  /** On `tool` messages: the call this answers. */
  toolCallId?: string
  toolName?: string
  /** On `assistant` messages: the tools the model called. */
  toolCalls?: ToolCallRequest[]
}

export interface ToolDefinition {
  name: string
  description: string
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function', name: string }

export interface SessionConfig {
  systemPrompt?: string
  historyLimit?: number
  temperature?: number
  topP?: number
  maxTokens?: number
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence'

export interface LLMRequest {
  messages: ChatMessage[]
  config?: SessionConfig
  stream?: boolean
  tools?: ToolDefinition[]
  toolChoice?: ToolChoice
  /** Aborts the request (barge-in, session close, deadline). */
  signal?: AbortSignal
}

export interface LLMChunk {
  content: string
  done: boolean
  raw?: unknown
  toolCalls?: ToolCallRequest[]
  stopReason?: StopReason
}

export interface LLMResult {
  fullText: string
  raw?: unknown
  toolCalls?: ToolCallRequest[]
  stopReason?: StopReason
}

export interface LLMProvider {
  name: string
  init?: () => Promise<void> | void
  close?: () => Promise<void> | void
  complete: (request: LLMRequest) => Promise<LLMResult>
  stream?: (request: LLMRequest) => AsyncIterable<LLMChunk>
}

export interface STTConfig {
  language?: string
  interimResults?: boolean
  model?: string
  /** Sample rate of streamed PCM input, in Hz (16000 unless the provider says otherwise). */
  sampleRateHz?: number
  signal?: AbortSignal
}

/**
 * A word of an STT result with its timing, in ms from the start of the audio the provider was given: the
 * WAV of `transcribe`, or the first byte of `transcribeStream`'s input (the whole stream, across results).
 */
export interface STTWord {
  /** The word as the provider spells it (with punctuation when the provider adds it). */
  word: string
  startMs: number
  endMs: number
  /** 0 to 1, when the provider gives it. */
  confidence?: number
}

export interface STTResult {
  text: string
  isFinal: boolean
  confidence?: number
  /** The words of `text` with their timings, when the provider gives them (absent otherwise). */
  words?: STTWord[]
  raw?: unknown
}

export interface STTProvider {
  name: string
  init?: () => Promise<void> | void
  close?: () => Promise<void> | void
  /** Transcribes one whole utterance (a WAV file, or what the provider accepts). */
  transcribe: (audio: Buffer, config?: STTConfig) => Promise<STTResult>
  /** Transcribes streamed PCM s16le mono; yields interim and final results. */
  transcribeStream?: (audio: AsyncIterable<Buffer>, config?: STTConfig) => AsyncIterable<STTResult>
  /** Sample rate the streaming input must have, in Hz (default 16000). */
  streamingInputSampleRate?: number
}

export type AudioFormat = 'mp3' | 'ogg' | 'wav' | 'pcm'

export interface TTSConfig {
  voice?: string
  format?: AudioFormat
  model?: string
  speed?: number
  instructions?: string
  signal?: AbortSignal
  /**
   * Groups consecutive `speakStream` calls into one utterance (llmrtc passes the turn id): providers
   * with input streaming (Cartesia contexts) continue one generation across them, so prosody flows from
   * sentence to sentence. Calls with the same id run one after another, never at once. Without it,
   * every call is an utterance of its own. Providers without input streaming ignore it.
   */
  contextId?: string
  /**
   * With `contextId`: whether more text may follow in the same context (default true). Pass false with
   * the last text of the utterance (an empty text works once the end is known) so the provider closes
   * the context at once; a context left open is closed after a short idle time.
   */
  continuation?: boolean
}

export interface TTSResult {
  audio: Buffer
  format: AudioFormat | undefined
  /** For `pcm`: the sample rate in Hz. */
  sampleRate?: number
  raw?: unknown
}

/** Word timing from TTS providers that give it, relative to the start of the sentence's audio. */
export interface WordTimestamp {
  word: string
  startMs: number
  endMs: number
}

/** What a streaming TTS may yield besides plain PCM buffers. */
export type TTSStreamEvent =
  | { type: 'audio', audio: Buffer }
  | { type: 'words', words: WordTimestamp[] }

export interface TTSProvider {
  name: string
  init?: () => Promise<void> | void
  close?: () => Promise<void> | void
  /** Sample rate of `speakStream`'s PCM output, in Hz. */
  pcmSampleRate?: number
  speak: (text: string, config?: TTSConfig) => Promise<TTSResult>
  /** Streams PCM s16le mono at `pcmSampleRate`. */
  speakStream?: (text: string, config?: TTSConfig) => AsyncIterable<Buffer | TTSStreamEvent>
}

export interface Providers {
  llm: LLMProvider
  stt: STTProvider
  tts: TTSProvider
}
