import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime'
import type { ToolDefinition } from '../providers/types.js'
import type { RealtimeTranscription, RealtimeTurnDetection } from './types.js'

/** OpenAI Realtime's PCM rate, in and out (the only rate `audio/pcm` takes). */
export const OPENAI_REALTIME_RATE_HZ = 24_000
export const DEFAULT_OPENAI_REALTIME_MODEL = 'gpt-realtime'
export const DEFAULT_OPENAI_REALTIME_VOICE = 'marin'
export const DEFAULT_OPENAI_TRANSCRIPTION_MODEL = 'gpt-4o-mini-transcribe'

/** What the `session.update` of a relay session says. */
export interface OpenAISessionSettings {
  model: string
  instructions?: string
  voice: string
  tools: ToolDefinition[]
  transcription: RealtimeTranscription | false
  turnDetection: RealtimeTurnDetection
  maxOutputTokens?: number
}

/**
 * The GA `session.update` payload: 24 kHz PCM both ways, audio out only (its transcript still comes),
 * the provider's turn detection creating responses and interrupting them on speech (what OpenAI
 * recommends for voice agents), and the tools as function tools.
 */
export function openAISessionUpdate (settings: OpenAISessionSettings): RealtimeSessionCreateRequest {
  const pcm = { type: 'audio/pcm' as const, rate: OPENAI_REALTIME_RATE_HZ as 24000 }
  return {
    type: 'realtime',
    model: settings.model,
    output_modalities: ['audio'],
    ...(settings.instructions !== undefined ? { instructions: settings.instructions } : {}),
    audio: {
      input: {
        format: pcm,
        turn_detection: turnDetectionOf(settings.turnDetection),
        ...(settings.transcription !== false
          ? {
              transcription: {
                model: settings.transcription.model ?? DEFAULT_OPENAI_TRANSCRIPTION_MODEL,
                ...(settings.transcription.language !== undefined ? { language: settings.transcription.language } : {}),
                ...(settings.transcription.prompt !== undefined ? { prompt: settings.transcription.prompt } : {})
              }
            }
          : {})
      },
      output: { format: pcm, voice: settings.voice }
    },
    ...(settings.tools.length > 0 ? openAITools(settings.tools) : {}),
    ...(settings.maxOutputTokens !== undefined ? { max_output_tokens: settings.maxOutputTokens } : {})
  }
}

/** The session's function tools (an empty list clears them, for a playbook stage without tools). */
export function openAITools (tools: ToolDefinition[]): Pick<RealtimeSessionCreateRequest, 'tools' | 'tool_choice'> {
  return {
    tools: tools.map(tool => ({ type: 'function' as const, name: tool.name, description: tool.description, parameters: tool.parameters })),
    tool_choice: 'auto'
  }
}

function turnDetectionOf (detection: RealtimeTurnDetection): NonNullable<NonNullable<RealtimeSessionCreateRequest['audio']>['input']>['turn_detection'] {
  // Our VAD commits the turns (realtime-relay.ts): the server's detection is off.
  if (detection.type === 'llmrtc') return null
  if (detection.type === 'semantic_vad') {
    return { type: 'semantic_vad', create_response: true, interrupt_response: true, ...(detection.eagerness !== undefined ? { eagerness: detection.eagerness } : {}) }
  }
  return {
    type: 'server_vad',
    create_response: true,
    interrupt_response: true,
    ...(detection.threshold !== undefined ? { threshold: detection.threshold } : {}),
    ...(detection.prefixPaddingMs !== undefined ? { prefix_padding_ms: detection.prefixPaddingMs } : {}),
    ...(detection.silenceDurationMs !== undefined ? { silence_duration_ms: detection.silenceDurationMs } : {}),
    ...(detection.idleTimeoutMs !== undefined ? { idle_timeout_ms: detection.idleTimeoutMs } : {})
  }
}
