/**
 * The transcript of one session (docs/recording.md has its JSON schema). Times are epoch ms of the server's
 * clock (`…At`) and, when the session was recorded, ms from the recording's first sample (`…Ms`), so a
 * player can seek the audio to any turn.
 */
export interface SessionTranscript {
  /** The format's version: 1. */
  version: 1
  sessionId: string
  /** The session's first event (media or turn), epoch ms. */
  startedAt: number
  /** When the session ended, epoch ms. */
  endedAt: number
  /** The recording beside it, when the session's audio was recorded. */
  recording?: TranscriptRecordingInfo
  /** What was said, in order: each user utterance and each assistant answer. */
  turns: TranscriptTurn[]
  /** Tool calls, in the order they ended (after the `redactToolCall` option). */
  toolCalls: TranscriptToolCall[]
  /** Playbook stage changes, in order. */
  stageChanges: TranscriptStageChange[]
}

export interface TranscriptRecordingInfo {
  format: 'wav' | 'ogg'
  sampleRateHz: number
  /** Left: the user's microphone; right: the assistant as played to the user. */
  channels: ['user', 'assistant']
  /** Epoch ms of the recording's first sample. */
  startedAt: number
  /** Milliseconds of audio written. */
  durationMs: number
  /** Milliseconds dropped because the sink could not keep up (0 normally). */
  droppedMs: number
  /** The file, with the `directory` sink. */
  file?: string
  /** True when the sink failed and the recording stopped early. */
  failed?: boolean
}

/** A word with its timing, as an STT provider gives it. */
export interface TranscriptWord {
  word: string
  startMs: number
  endMs: number
  /** 0 to 1, when the provider gives it. */
  confidence?: number
}

interface TurnTimes {
  /** The pipeline's turn id (several entries share it: the user's words and the answer to them). */
  turnId: string
  startedAt: number
  endedAt: number
  /** Relative to the recording's start (absent without a recording). */
  startMs?: number
  endMs?: number
}

/** The user's utterance: from the first speech onset to the end of speech the turn answered. */
export interface TranscriptUserTurn extends TurnTimes {
  speaker: 'user'
  text: string
  /**
   * Word timings from the STT provider, in ms from `startedAt` (add `startMs` for the recording's clock),
   * when it gives them (Deepgram; OpenAI whisper-1 with `wordTimestamps`).
   */
  words?: TranscriptWord[]
}

/** The assistant's answer: from its first audio sent to the user to its last (or to the cut). */
export interface TranscriptAssistantTurn extends TurnTimes {
  speaker: 'assistant'
  /** The answer as it was to be spoken (after the speech filters). */
  text: string
  /** The user cut it off (barge-in). */
  interrupted: boolean
  /** When interrupted: the words the user heard before the cut (the history keeps these). */
  heard?: string
  /** How the turn ended. */
  outcome: 'completed' | 'cancelled' | 'failed' | 'blocked'
  /** The turn's latencies, in ms after the end of the user's speech (a figure is absent when not reached). */
  latency: TranscriptLatency
}

export interface TranscriptLatency {
  transcriptMs?: number
  firstTokenMs?: number
  firstAudioMs?: number
  firstAudioOutMs?: number
  totalMs?: number
}

export type TranscriptTurn = TranscriptUserTurn | TranscriptAssistantTurn

export interface TranscriptToolCall {
  turnId: string
  callId: string
  name: string
  arguments: unknown
  result?: unknown
  error?: string
  startedAt: number
  endedAt: number
  durationMs: number
}

export interface TranscriptStageChange {
  /** The turn that moved (absent for a timer or a key press between turns). */
  turnId?: string
  from: string
  to: string
  reason: string
  transitionId: string
  at: number
  atMs?: number
}
