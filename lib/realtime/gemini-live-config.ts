import type { Content, FunctionDeclaration, LiveConnectConfig, Modality, RealtimeInputConfig } from '@google/genai'
import type { ChatMessage, ToolDefinition } from '../providers/types.js'
import type { RealtimeTranscription, RealtimeTurnDetection } from './types.js'

/** Gemini Live's PCM rates: 16 kHz in (`audio/pcm;rate=16000`), 24 kHz out. */
export const GEMINI_LIVE_INPUT_RATE_HZ = 16_000
export const GEMINI_LIVE_OUTPUT_RATE_HZ = 24_000
export const GEMINI_LIVE_INPUT_MIME = `audio/pcm;rate=${GEMINI_LIVE_INPUT_RATE_HZ}`
/** The Live API's current native-audio model on the Gemini Developer API. */
export const DEFAULT_GEMINI_LIVE_MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025'
export const DEFAULT_GEMINI_LIVE_VOICE = 'Puck'

/** What the `setup` message of a relay session says. */
export interface GeminiLiveSettings {
  model: string
  instructions?: string
  voice: string
  tools: ToolDefinition[]
  /** Any object: both sides are transcribed (Gemini Live takes no transcription model); `false`: the user's speech is not. */
  transcription: RealtimeTranscription | false
  turnDetection: RealtimeTurnDetection
  maxOutputTokens?: number
}

/**
 * The `LiveConnectConfig` of a relay session: audio out in the voice, the instructions, the tools as function
 * declarations, transcription of the model's speech (and of the user's unless `transcription: false`), the
 * provider's activity detection (or none, when our VAD marks the turns), session resumption (with the
 * handle of the session it resumes), and a sliding context window so a long session does not hit the cap.
 */
export function geminiLiveConfig (settings: GeminiLiveSettings, resumeHandle?: string): LiveConnectConfig {
  return {
    // Modality.AUDIO's value (the SDK is only loaded when a session opens).
    responseModalities: ['AUDIO' as Modality],
    speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: settings.voice } } },
    ...(settings.instructions !== undefined ? { systemInstruction: { parts: [{ text: settings.instructions }] } } : {}),
    ...(settings.tools.length > 0 ? { tools: [{ functionDeclarations: geminiFunctionDeclarations(settings.tools) }] } : {}),
    ...(settings.transcription !== false ? { inputAudioTranscription: {} } : {}),
    outputAudioTranscription: {},
    realtimeInputConfig: realtimeInputConfigOf(settings.turnDetection),
    sessionResumption: resumeHandle !== undefined ? { handle: resumeHandle } : {},
    contextWindowCompression: { slidingWindow: {} },
    ...(settings.maxOutputTokens !== undefined ? { maxOutputTokens: settings.maxOutputTokens } : {})
  }
}

/**
 * The tools as function declarations with `parameters` (the JSON Schema, which the SDK turns into Gemini's
 * schema subset): the Live API ignores `parametersJsonSchema` (the model then calls with empty arguments).
 */
export function geminiFunctionDeclarations (tools: ToolDefinition[]): FunctionDeclaration[] {
  return tools.map(tool => {
    // A copy: the SDK rewrites the schema in place. Without `$schema`, which would route it to parametersJsonSchema.
    const { $schema: _ignored, ...parameters } = structuredClone(tool.parameters)
    return { name: tool.name, description: tool.description, parameters }
  })
}

/** A renewed session's memory: the final text of both sides, as `clientContent` turns. */
export function geminiHistoryTurns (history: ChatMessage[]): Content[] {
  const turns: Content[] = []
  for (const message of history) {
    if ((message.role !== 'user' && message.role !== 'assistant') || message.content.trim() === '') continue
    turns.push({ role: message.role === 'user' ? 'user' : 'model', parts: [{ text: message.content }] })
  }
  return turns
}

function realtimeInputConfigOf (detection: RealtimeTurnDetection): RealtimeInputConfig {
  // Our VAD marks each utterance with activityStart / activityEnd.
  if (detection.type === 'llmrtc') return { automaticActivityDetection: { disabled: true } }
  if (detection.type === 'semantic_vad') return { automaticActivityDetection: { disabled: false } }
  return {
    automaticActivityDetection: {
      disabled: false,
      ...(detection.prefixPaddingMs !== undefined ? { prefixPaddingMs: detection.prefixPaddingMs } : {}),
      ...(detection.silenceDurationMs !== undefined ? { silenceDurationMs: detection.silenceDurationMs } : {})
    }
  }
}
