import { openGeminiLive } from './gemini-live-session.js'
import { openOpenAIRealtime } from './openai-realtime-session.js'
import type { OpenRealtimeSession, RealtimeOptions, RealtimeTranscription, RealtimeTurnDetection } from './types.js'

/** A relay provider's own settings (the resolved `realtime` option), beside what each session is opened with. */
export interface RealtimeProviderSettings {
  provider: RealtimeOptions['provider']
  model: string
  voice: string
  transcription: RealtimeTranscription | false
  turnDetection: RealtimeTurnDetection
  maxOutputTokens?: number
  apiKey: string
  baseURL?: string
  connectTimeoutMs: number
}

/**
 * The opener of the configured provider's sessions (at connect, and to renew one that expires): OpenAI
 * Realtime (lib/realtime/openai-realtime-session.ts) or Gemini Live (lib/realtime/gemini-live-session.ts),
 * with the provider's settings and the setup's instructions, tools, history, resumption handle and signal.
 */
export function realtimeOpener (settings: RealtimeProviderSettings): OpenRealtimeSession {
  return async (setup) => {
    const common = {
      apiKey: settings.apiKey,
      ...(settings.baseURL !== undefined ? { baseURL: settings.baseURL } : {}),
      model: settings.model,
      voice: settings.voice,
      ...(setup.instructions !== undefined ? { instructions: setup.instructions } : {}),
      tools: setup.tools,
      ...(setup.history !== undefined ? { history: setup.history } : {}),
      transcription: settings.transcription,
      turnDetection: settings.turnDetection,
      ...(settings.maxOutputTokens !== undefined ? { maxOutputTokens: settings.maxOutputTokens } : {}),
      connectTimeoutMs: settings.connectTimeoutMs,
      signal: setup.signal,
      log: setup.log
    }
    if (settings.provider === 'gemini') {
      return await openGeminiLive({ ...common, ...(setup.resumeHandle !== undefined ? { resumeHandle: setup.resumeHandle } : {}) })
    }
    return await openOpenAIRealtime(common)
  }
}
