import type { RealtimeEvent, RealtimeUsage } from './types.js'

/** The fields of OpenAI Realtime server events that the relay reads (GA names, and the beta ones). */
interface OpenAIServerEvent {
  type: string
  item_id?: string
  response_id?: string
  content_index?: number
  delta?: string
  transcript?: string
  call_id?: string
  name?: string
  arguments?: string
  response?: { id?: string, status?: string, usage?: OpenAIUsage | null }
  error?: { message?: string, code?: string | null, type?: string }
}

interface OpenAIUsage {
  input_tokens?: number
  output_tokens?: number
  input_token_details?: { audio_tokens?: number, cached_tokens?: number }
  output_token_details?: { audio_tokens?: number }
}

/**
 * Maps one OpenAI Realtime server event to the relay's event, or undefined for events the relay does not
 * need (session.*, rate_limits.updated, content parts, ...). Accepts the GA names
 * (`response.output_audio.delta`, `response.output_audio_transcript.*`) and the beta ones
 * (`response.audio.delta`, `response.audio_transcript.*`).
 */
export function mapOpenAIEvent (raw: unknown): RealtimeEvent | undefined {
  const event = raw as OpenAIServerEvent
  switch (event.type) {
    case 'input_audio_buffer.speech_started':
      return { type: 'speech-started', ...(event.item_id !== undefined ? { itemId: event.item_id } : {}) }
    case 'input_audio_buffer.speech_stopped':
      return { type: 'speech-stopped' }
    case 'conversation.item.input_audio_transcription.delta':
      return { type: 'user-transcript', text: event.delta ?? '', isFinal: false }
    case 'conversation.item.input_audio_transcription.completed':
      return { type: 'user-transcript', text: event.transcript ?? '', isFinal: true }
    case 'response.created':
      return { type: 'response-started', responseId: event.response?.id ?? '' }
    case 'response.output_audio.delta':
    case 'response.audio.delta': {
      const bytes = Buffer.from(event.delta ?? '', 'base64')
      // A copy at an even, aligned offset: Buffer.from may hand out a pooled slice at an odd offset.
      const pcm = new Int16Array(bytes.length >> 1)
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2)
      return { type: 'audio', responseId: event.response_id ?? '', itemId: event.item_id ?? '', contentIndex: event.content_index ?? 0, pcm }
    }
    case 'response.output_audio_transcript.delta':
    case 'response.audio_transcript.delta':
      return { type: 'assistant-transcript', responseId: event.response_id ?? '', text: event.delta ?? '', isFinal: false }
    case 'response.output_audio_transcript.done':
    case 'response.audio_transcript.done':
      return { type: 'assistant-transcript', responseId: event.response_id ?? '', text: event.transcript ?? '', isFinal: true }
    case 'response.function_call_arguments.done':
      return { type: 'tool-call', responseId: event.response_id ?? '', callId: event.call_id ?? '', name: event.name ?? '', arguments: event.arguments ?? '' }
    case 'response.done': {
      const usage = usageOf(event.response?.usage)
      return { type: 'response-done', responseId: event.response?.id ?? '', status: event.response?.status ?? 'completed', ...(usage !== undefined ? { usage } : {}) }
    }
    case 'error':
      return { type: 'provider-error', message: event.error?.message ?? 'unknown error', ...(typeof event.error?.code === 'string' ? { code: event.error.code } : {}) }
    default:
      return undefined
  }
}

function usageOf (usage: OpenAIUsage | null | undefined): RealtimeUsage | undefined {
  if (usage === undefined || usage === null) return undefined
  const input = usage.input_token_details
  const output = usage.output_token_details
  return {
    inputTokens: usage.input_tokens ?? 0,
    outputTokens: usage.output_tokens ?? 0,
    ...(input?.audio_tokens !== undefined ? { audioInputTokens: input.audio_tokens } : {}),
    ...(output?.audio_tokens !== undefined ? { audioOutputTokens: output.audio_tokens } : {}),
    ...(input?.cached_tokens !== undefined ? { cachedTokens: input.cached_tokens } : {})
  }
}
