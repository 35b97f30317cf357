import type { ProtocolErrorCode } from './error-codes.js'

/** Protocol version announced in `ready`. */
export const PROTOCOL_VERSION = 1

/** An ICE server as the browser's RTCPeerConnection takes it. */
export interface IceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

/** How a session talks: the STT → LLM → TTS pipeline, or a speech-to-speech relay to a realtime model. */
export type SessionMode = 'pipeline' | 'realtime'
export interface ReadyMessage {
  type: 'ready'
  id: string
  protocolVersion: typeof PROTOCOL_VERSION
  iceServers?: IceServer[]
  /** Client 1.2: the session's mode (absent from servers without relay mode, which means `'pipeline'`). */
  mode?: SessionMode
}
export interface PongMessage { type: 'pong', timestamp: number }
export interface SignalMessage { type: 'signal', signal: { type: 'answer', sdp: string } }
export interface IceCandidateMessage { type: 'ice', candidate: { candidate?: string, sdpMid?: string | null, sdpMLineIndex?: number | null } | null }
export interface ReconnectAckMessage { type: 'reconnect-ack', success: boolean, sessionId: string, historyRecovered: boolean }
export interface SpeechStartMessage { type: 'speech-start' }
export interface SpeechEndMessage { type: 'speech-end' }
export interface SpeechCancelledMessage { type: 'speech-cancelled' }
export interface TranscriptMessage { type: 'transcript', text: string, isFinal: boolean }
export interface LLMChunkMessage { type: 'llm-chunk', content: string, done: boolean }
export interface LLMMessage { type: 'llm', text: string }
export interface TTSStartMessage { type: 'tts-start' }
export interface TTSChunkMessage { type: 'tts-chunk', format: 'pcm', sampleRate: number, data: string }
export interface TTSMessage { type: 'tts', format: string, data: string }
export interface TTSCompleteMessage { type: 'tts-complete' }
export interface TTSCancelledMessage {
  type: 'tts-cancelled'
  /**
   * llmrtc's own: the words of the turn's speech the user heard before the cut (whole words, as spoken,
   * after the speech filters); the rest of the answer was never heard. Empty when none played.
   */
  heard?: string
}
/** llmrtc's own: the assistant's speech paused because the user may be interrupting. */
export interface TTSPausedMessage { type: 'tts-paused' }
/** llmrtc's own: the sound was not an interruption, the answer plays on from where it paused. */
export interface TTSResumedMessage { type: 'tts-resumed' }
export interface ToolCallStartMessage { type: 'tool-call-start', name: string, callId: string, arguments: unknown }
export interface ToolCallEndMessage { type: 'tool-call-end', callId: string, result?: unknown, error?: string, durationMs: number }
export interface StageChangeMessage { type: 'stage-change', from: string, to: string, reason: string }
export interface ErrorMessage { type: 'error', code: ProtocolErrorCode, message: string }
export interface MetricsMessage { type: 'metrics', turnId: string, timings: Record<string, number> }
/** Relay mode: what the model says, as it says it (`isFinal` false: a delta; true: the whole item's text). */
export interface AssistantTranscriptMessage { type: 'assistant-transcript', text: string, isFinal: boolean }
/** Relay mode: the tokens one model response used. */
export interface UsageMessage {
  type: 'usage'
  inputTokens: number
  outputTokens: number
  audioInputTokens?: number
  audioOutputTokens?: number
  cachedTokens?: number
}
/** The relay failed: the session goes on (and the next session starts) in `mode`. */
export interface ModeChangedMessage { type: 'mode-changed', mode: SessionMode }

/** Ours (plugins/device): the answer to `audio-stream-start`; binary frames of audio follow both ways. */
export interface AudioStreamStartedMessage { type: 'audio-stream-started', codec: string, sampleRate: number, frameMs: number }
/** Ours: follows the stream's audio frame that ends a piece of the answer; answer `played` once it has played. */
export interface AudioMarkMessage { type: 'mark', mark: string }
/** Ours: barge-in on a stream: drop the audio buffered for playback, now. */
export interface AudioClearMessage { type: 'clear' }

/** Signaling messages go on the WebSocket only. */
export type SignalingServerMessage = ReadyMessage | PongMessage | SignalMessage | IceCandidateMessage | ReconnectAckMessage | AudioStreamStartedMessage | AudioMarkMessage | AudioClearMessage

/** Payload events go on the WebSocket and, once open, on the `data` channel. */
export type PayloadServerMessage =
  | SpeechStartMessage
  | SpeechEndMessage
  | SpeechCancelledMessage
  | TranscriptMessage
  | LLMChunkMessage
  | LLMMessage
  | TTSStartMessage
  | TTSChunkMessage
  | TTSMessage
  | TTSCompleteMessage
  | TTSCancelledMessage
  | TTSPausedMessage
  | TTSResumedMessage
  | ToolCallStartMessage
  | ToolCallEndMessage
  | StageChangeMessage
  | ErrorMessage
  | MetricsMessage
  | AssistantTranscriptMessage
  | UsageMessage
  | ModeChangedMessage

export type ServerMessage = SignalingServerMessage | PayloadServerMessage

const signalingTypes = new Set<ServerMessage['type']>(['ready', 'pong', 'signal', 'ice', 'reconnect-ack', 'audio-stream-started', 'mark', 'clear'])

export function isSignalingMessage (message: ServerMessage): message is SignalingServerMessage {
  return signalingTypes.has(message.type)
}
