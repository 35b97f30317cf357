import type {
  ConversationItemInputAudioTranscriptionCompletedEvent,
  ConversationItemInputAudioTranscriptionDeltaEvent,
  ConversationItemInputAudioTranscriptionFailedEvent,
  InputAudioBufferAppendEvent,
  InputAudioBufferCommitEvent,
  InputAudioBufferCommittedEvent,
  RealtimeErrorEvent,
  SessionUpdateEvent
} from 'openai/resources/realtime/realtime'

/** The only PCM rate the realtime API takes: s16le mono at 24 kHz. */
export const REALTIME_SAMPLE_RATE_HZ = 24_000

/**
 * The API refuses to commit less than 100 ms of audio (`input_audio_buffer_commit_empty`): in bytes of
 * 24 kHz s16le, the least worth committing.
 */
export const MIN_COMMIT_BYTES = REALTIME_SAMPLE_RATE_HZ / 10 * 2

export interface TranscriptionSessionSettings {
  model: string
  language: string | undefined
  prompt: string | undefined
}

/**
 * The GA `session.update` of a transcription session: 24 kHz PCM in, the model, and `turn_detection:
 * null`, so the server never commits by itself: llmrtc's VAD ends the utterance and the client commits.
 */
export function sessionUpdate (settings: TranscriptionSessionSettings): SessionUpdateEvent {
  return {
    type: 'session.update',
    session: {
      type: 'transcription',
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: REALTIME_SAMPLE_RATE_HZ },
          transcription: {
            model: settings.model,
            ...(settings.language !== undefined ? { language: settings.language } : {}),
            ...(settings.prompt !== undefined ? { prompt: settings.prompt } : {})
          },
          turn_detection: null
        }
      }
    }
  }
}

/** Appends 24 kHz s16le mono to the input buffer (base64 in JSON: the API takes no binary frames). */
export function appendAudio (pcm: Buffer): InputAudioBufferAppendEvent {
  return { type: 'input_audio_buffer.append', audio: pcm.toString('base64') }
}

export function commitAudio (): InputAudioBufferCommitEvent {
  return { type: 'input_audio_buffer.commit' }
}

/** The server events a transcription reads; everything else (session.*, conversation.item.*) is ignored. */
export type TranscriptionServerEvent =
  | InputAudioBufferCommittedEvent
  | ConversationItemInputAudioTranscriptionDeltaEvent
  | ConversationItemInputAudioTranscriptionCompletedEvent
  | ConversationItemInputAudioTranscriptionFailedEvent
  | RealtimeErrorEvent

const READ = new Set<string>([
  'input_audio_buffer.committed',
  'conversation.item.input_audio_transcription.delta',
  'conversation.item.input_audio_transcription.completed',
  'conversation.item.input_audio_transcription.failed',
  'error'
])

/** Parses one text frame; undefined for events a transcription has no use for. Throws on invalid JSON. */
export function parseServerEvent (text: string): TranscriptionServerEvent | undefined {
  const event = JSON.parse(text) as { type?: unknown } | null
  if (event === null || typeof event !== 'object' || typeof event.type !== 'string' || !READ.has(event.type)) return undefined
  return event as TranscriptionServerEvent
}
