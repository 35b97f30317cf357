import { invalidOption } from '../config/invalid-option.js'
import type { AudioDestination, RecordingFormat } from './audio-sink.js'
import type { RedactToolCall } from './transcript-builder.js'
import type { SessionTranscript } from './transcript-types.js'

/** What a sink and the veto are told about the session being recorded. */
export interface RecordingSessionInfo {
  sessionId: string
  /** The authenticated principal, or null. */
  principal: string | null
  format: RecordingFormat
  /** `wav` or `ogg`. */
  extension: string
  /** `audio/wav` or `audio/ogg; codecs=opus`. */
  contentType: string
}

/** Where one session's recording and transcript go (the `sink` option's answer). */
export interface RecordingSink {
  /** The audio, streamed as the call goes: a writable stream (ended with the session) or a chunk callback. */
  audio?: AudioDestination
  /** Called once with the transcript when the session ends. */
  transcript?: (transcript: SessionTranscript) => void | Promise<void>
}

/** Options of the `llmrtc-recording` plugin (the umbrella's `recording` option). */
export interface LLMRTCRecordingOptions {
  /**
   * Which sessions are recorded: `all` (default) or `opt-in` (only those whose `agentForSession` choice
   * says `record: true`). A choice's `record: false` leaves a session out either way.
   */
  sessions?: 'all' | 'opt-in'
  /** Record the audio (default true); false keeps transcripts only. */
  audio?: boolean
  /** Encoding of the audio (default `wav`). */
  format?: RecordingFormat
  /** Sample rate of the recording in Hz (default 16 000). */
  sampleRateHz?: number
  /** Opus bitrate in bits per second (default 32 000; `ogg` only). */
  opusBitrate?: number
  /** Writes `<sessionId>.wav|.ogg` and `<sessionId>.json` into this directory (created if missing). */
  directory?: string
  /** Opens each recorded session's sink (object storage, a database): in place of `directory`. */
  sink?: (session: RecordingSessionInfo) => RecordingSink | Promise<RecordingSink>
  /** The veto: resolve false to record nothing of this session (neither audio nor transcript). */
  shouldRecord?: (session: RecordingSessionInfo) => boolean | Promise<boolean>
  /** Rewrites each tool call (arguments, result, error) before it is kept; null leaves it out. */
  redactToolCall?: RedactToolCall
  /** Rewrites the whole transcript before it goes to `onSessionEnd` and the sink (user text, answers). */
  redact?: (transcript: SessionTranscript) => SessionTranscript | Promise<SessionTranscript>
  /** Most bytes of audio waiting for a slow sink before audio is dropped (default 524 288). */
  maxBufferedBytes?: number
}

export type ResolvedRecordingOptions = Required<Pick<LLMRTCRecordingOptions, 'sessions' | 'audio' | 'format' | 'sampleRateHz' | 'opusBitrate' | 'maxBufferedBytes'>> &
Omit<LLMRTCRecordingOptions, 'sessions' | 'audio' | 'format' | 'sampleRateHz' | 'opusBitrate' | 'maxBufferedBytes'>

const KEYS = new Set(['sessions', 'audio', 'format', 'sampleRateHz', 'opusBitrate', 'directory', 'sink', 'shouldRecord', 'redactToolCall', 'redact', 'maxBufferedBytes'])
const FUNCTIONS = ['sink', 'shouldRecord', 'redactToolCall', 'redact'] as const

/** Checks the plugin's options at register time (LLMRTC_ERR_OPTIONS_INVALID, "expected X, instead got Y"). */
export function resolveRecordingOptions (options: LLMRTCRecordingOptions): ResolvedRecordingOptions {
  const unknown = Object.keys(options).find(key => !KEYS.has(key))
  if (unknown !== undefined) invalidOption('recording', `only the keys ${[...KEYS].join(', ')}`, unknown)
  const sessions = options.sessions ?? 'all'
  if (sessions !== 'all' && sessions !== 'opt-in') invalidOption('recording.sessions', '"all" or "opt-in"', sessions)
  const format = options.format ?? 'wav'
  if (format !== 'wav' && format !== 'ogg') invalidOption('recording.format', '"wav" or "ogg"', format)
  const sampleRateHz = options.sampleRateHz ?? 16_000
  // Opus takes these rates only; WAV any, but a recording of speech gains nothing above 48 kHz.
  if (![8000, 12_000, 16_000, 24_000, 48_000].includes(sampleRateHz)) invalidOption('recording.sampleRateHz', 'one of 8000, 12000, 16000, 24000, 48000', sampleRateHz)
  const opusBitrate = options.opusBitrate ?? 32_000
  if (!Number.isInteger(opusBitrate) || opusBitrate < 6000 || opusBitrate > 510_000) invalidOption('recording.opusBitrate', 'an integer from 6000 to 510000 (bits per second)', opusBitrate)
  const maxBufferedBytes = options.maxBufferedBytes ?? 512 * 1024
  if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < 4096) invalidOption('recording.maxBufferedBytes', 'an integer >= 4096 (bytes)', maxBufferedBytes)
  const audio = options.audio ?? true
  if (typeof audio !== 'boolean') invalidOption('recording.audio', 'a boolean', audio)
  if (options.directory !== undefined && (typeof options.directory !== 'string' || options.directory === '')) invalidOption('recording.directory', 'a non-empty path', options.directory)
  for (const key of FUNCTIONS) {
    if (options[key] !== undefined && typeof options[key] !== 'function') invalidOption(`recording.${key}`, 'a function', options[key])
  }
  if (options.directory !== undefined && options.sink !== undefined) invalidOption('recording.sink', 'either directory or sink, not both', 'both')
  return { ...options, sessions, audio, format, sampleRateHz, opusBitrate, maxBufferedBytes }
}
