/**
 * Error codes carried by the protocol's `error{code, message}` message.
 * The first block is the published protocol v1; UNAUTHORIZED, SESSION_LIMIT and MESSAGE_TOO_LARGE are llmrtc
 * additions; REALTIME_ERROR and BUDGET_EXCEEDED are client 1.2's (relay mode).
 */
export const PROTOCOL_ERROR_CODES = [
  'WEBRTC_UNAVAILABLE',
  'CONNECTION_FAILED',
  'SESSION_NOT_FOUND',
  'SESSION_EXPIRED',
  'STT_ERROR',
  'STT_TIMEOUT',
  'LLM_ERROR',
  'LLM_TIMEOUT',
  'TTS_ERROR',
  'TTS_TIMEOUT',
  'AUDIO_PROCESSING_ERROR',
  'VAD_ERROR',
  'INVALID_MESSAGE',
  'INVALID_AUDIO_FORMAT',
  'TOOL_ERROR',
  'PLAYBOOK_ERROR',
  'INTERNAL_ERROR',
  'RATE_LIMITED',
  'UNAUTHORIZED',
  'SESSION_LIMIT',
  'MESSAGE_TOO_LARGE',
  'REALTIME_ERROR',
  'BUDGET_EXCEEDED'
] as const

export type ProtocolErrorCode = typeof PROTOCOL_ERROR_CODES[number]

export function isProtocolErrorCode (value: unknown): value is ProtocolErrorCode {
  return typeof value === 'string' && (PROTOCOL_ERROR_CODES as readonly string[]).includes(value)
}
