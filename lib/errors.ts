import createError from '@fastify/error'
import type { ProtocolErrorCode } from './protocol/error-codes.js'

/**
 * The one registry of llmrtc errors. Codes are stable (`LLMRTC_ERR_<AREA>_<WHAT>`), documented in
 * docs/errors.md, and kept in sync with it by test/lib/errors.test.ts.
 *
 * Each error that can reach a client also names the protocol code it is reported with
 * (see `protocolCodeOf`).
 */

// Options: bad configuration is a programming error, so these are TypeErrors.
export const LLMRTC_ERR_OPTIONS_INVALID = createError('LLMRTC_ERR_OPTIONS_INVALID', 'Invalid llmrtc option "%s": expected %s, instead got %s', 500, TypeError)
export const LLMRTC_ERR_OPTIONS_MISSING_SECRET = createError('LLMRTC_ERR_OPTIONS_MISSING_SECRET', 'Missing %s: set the option "%s" or the environment variable %s', 500, TypeError)
export const LLMRTC_ERR_OPTIONS_UNKNOWN = createError('LLMRTC_ERR_OPTIONS_UNKNOWN', 'Unknown llmrtc option "%s": %s', 500, TypeError)
export const LLMRTC_ERR_OPTIONS_INVALID_ENV = createError('LLMRTC_ERR_OPTIONS_INVALID_ENV', 'Invalid environment variable %s: expected %s, instead got %s', 500, TypeError)
export const LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER = createError('LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER', 'Unknown %s provider "%s": expected one of %s', 500, TypeError)

// Hooks
export const LLMRTC_ERR_HOOK_UNKNOWN = createError('LLMRTC_ERR_HOOK_UNKNOWN', 'Unknown llmrtc hook "%s": expected one of %s', 500, TypeError)
export const LLMRTC_ERR_HOOK_NOT_A_FUNCTION = createError('LLMRTC_ERR_HOOK_NOT_A_FUNCTION', 'The llmrtc hook "%s" handler must be a function, instead got %s', 500, TypeError)
export const LLMRTC_ERR_HOOK_BLOCKED = createError('LLMRTC_ERR_HOOK_BLOCKED', 'The %s hook blocked the turn: %s', 500)

// Protocol
export const LLMRTC_ERR_PROTOCOL_INVALID_JSON = createError('LLMRTC_ERR_PROTOCOL_INVALID_JSON', 'Message is not valid JSON', 400)
export const LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE = createError('LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE', 'Invalid "%s" message: %s', 400)
export const LLMRTC_ERR_PROTOCOL_MISSING_TYPE = createError('LLMRTC_ERR_PROTOCOL_MISSING_TYPE', 'Message must be a JSON object with a string "type"', 400)
export const LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE = createError('LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE', 'Message of %s bytes exceeds the limit of %s bytes', 413)
export const LLMRTC_ERR_PROTOCOL_BINARY_FRAME = createError('LLMRTC_ERR_PROTOCOL_BINARY_FRAME', 'Binary frames are not part of the protocol: send JSON text frames', 400)

// Sessions
export const LLMRTC_ERR_SESSION_LIMIT = createError('LLMRTC_ERR_SESSION_LIMIT', 'The server holds its maximum of %s sessions', 503)
export const LLMRTC_ERR_SESSION_CLIENT_LIMIT = createError('LLMRTC_ERR_SESSION_CLIENT_LIMIT', 'This client already holds its maximum of %s sessions', 429)
export const LLMRTC_ERR_SESSION_NOT_FOUND = createError('LLMRTC_ERR_SESSION_NOT_FOUND', 'No session with that id to resume; continuing with a new session', 404)
export const LLMRTC_ERR_SESSION_EXPIRED = createError('LLMRTC_ERR_SESSION_EXPIRED', 'The session expired; continuing with a new session', 410)
export const LLMRTC_ERR_SESSION_CLOSED = createError('LLMRTC_ERR_SESSION_CLOSED', 'The session manager is closed', 503)
export const LLMRTC_ERR_SESSION_STORE = createError('LLMRTC_ERR_SESSION_STORE', 'Session store failed: %s', 503)

// Transport
export const LLMRTC_ERR_WEBRTC_UNAVAILABLE = createError('LLMRTC_ERR_WEBRTC_UNAVAILABLE', 'WebRTC is not available on this server: %s', 501)
export const LLMRTC_ERR_CONNECTION_FAILED = createError('LLMRTC_ERR_CONNECTION_FAILED', 'WebRTC connection failed: %s', 502)
export const LLMRTC_ERR_CALL_CONTROL = createError('LLMRTC_ERR_CALL_CONTROL', 'Call control through %s failed: %s', 502)

// Audio
export const LLMRTC_ERR_AUDIO_INVALID_FORMAT = createError('LLMRTC_ERR_AUDIO_INVALID_FORMAT', 'Unsupported audio: %s', 400)
export const LLMRTC_ERR_AUDIO_PROCESSING = createError('LLMRTC_ERR_AUDIO_PROCESSING', 'Audio processing failed: %s', 500)
export const LLMRTC_ERR_VAD = createError('LLMRTC_ERR_VAD', 'Voice activity detection failed: %s', 500)

// Providers
export const LLMRTC_ERR_STT = createError('LLMRTC_ERR_STT', 'Speech-to-text provider "%s" failed: %s', 502)
export const LLMRTC_ERR_STT_TIMEOUT = createError('LLMRTC_ERR_STT_TIMEOUT', 'Speech-to-text provider "%s" did not answer within %s ms', 504)
export const LLMRTC_ERR_LLM = createError('LLMRTC_ERR_LLM', 'LLM provider "%s" failed: %s', 502)
export const LLMRTC_ERR_LLM_TIMEOUT = createError('LLMRTC_ERR_LLM_TIMEOUT', 'LLM provider "%s" did not answer within %s ms', 504)
export const LLMRTC_ERR_TTS = createError('LLMRTC_ERR_TTS', 'Text-to-speech provider "%s" failed: %s', 502)
export const LLMRTC_ERR_TTS_TIMEOUT = createError('LLMRTC_ERR_TTS_TIMEOUT', 'Text-to-speech provider "%s" did not answer within %s ms', 504)
export const LLMRTC_ERR_PROVIDER_INIT = createError('LLMRTC_ERR_PROVIDER_INIT', 'Provider "%s" failed to initialise: %s', 500)
export const LLMRTC_ERR_PROVIDER_NOT_READY = createError('LLMRTC_ERR_PROVIDER_NOT_READY', 'The %s provider is chosen when the app is ready: await fastify.ready() first', 500)

// Tools
export const LLMRTC_ERR_TOOL_DEFINITION = createError('LLMRTC_ERR_TOOL_DEFINITION', 'Invalid tool "%s": %s', 500, TypeError)
export const LLMRTC_ERR_TOOL_UNKNOWN = createError('LLMRTC_ERR_TOOL_UNKNOWN', 'Unknown tool "%s"', 404)
export const LLMRTC_ERR_TOOL_INVALID_ARGUMENTS = createError('LLMRTC_ERR_TOOL_INVALID_ARGUMENTS', 'Invalid arguments for tool "%s": %s', 400)
export const LLMRTC_ERR_TOOL_TIMEOUT = createError('LLMRTC_ERR_TOOL_TIMEOUT', 'Tool "%s" did not finish within %s ms', 504)
export const LLMRTC_ERR_TOOL_FAILED = createError('LLMRTC_ERR_TOOL_FAILED', 'Tool "%s" failed: %s', 500)
export const LLMRTC_ERR_MCP_UNAVAILABLE = createError('LLMRTC_ERR_MCP_UNAVAILABLE', 'MCP server "%s" is unavailable: %s', 503)
export const LLMRTC_ERR_MCP_TOOL_ERROR = createError('LLMRTC_ERR_MCP_TOOL_ERROR', 'MCP server "%s" reported an error: %s', 502)

// Playbooks
export const LLMRTC_ERR_PLAYBOOK_INVALID = createError('LLMRTC_ERR_PLAYBOOK_INVALID', 'Invalid playbook "%s": %s', 500, TypeError)
export const LLMRTC_ERR_PLAYBOOK_LOAD = createError('LLMRTC_ERR_PLAYBOOK_LOAD', 'Cannot load the playbook module %s: %s', 500, TypeError)
export const LLMRTC_ERR_PLAYBOOK = createError('LLMRTC_ERR_PLAYBOOK', 'Playbook "%s" failed: %s', 500)

// Agents
export const LLMRTC_ERR_AGENT_SELECTION = createError('LLMRTC_ERR_AGENT_SELECTION', 'The agent of this session could not be chosen: %s', 500)

// Authentication and limits
export const LLMRTC_ERR_AUTH_UNAUTHORIZED = createError('LLMRTC_ERR_AUTH_UNAUTHORIZED', 'Unauthorized: %s', 401)
export const LLMRTC_ERR_AUTH_ORIGIN = createError('LLMRTC_ERR_AUTH_ORIGIN', 'Origin %s is not allowed', 403)
export const LLMRTC_ERR_RATE_LIMITED = createError('LLMRTC_ERR_RATE_LIMITED', 'Too many %s: the limit is %s', 429)

// Server
export const LLMRTC_ERR_SERVER_DRAINING = createError('LLMRTC_ERR_SERVER_DRAINING', 'The server is draining: connect to another server', 503)
export const LLMRTC_ERR_SERVER_NOT_STARTED = createError('LLMRTC_ERR_SERVER_NOT_STARTED', 'The server is not started', 500)
export const LLMRTC_ERR_INTERNAL = createError('LLMRTC_ERR_INTERNAL', 'Internal error: %s', 500)
export const LLMRTC_ERR_CLUSTER_WORKER_START = createError('LLMRTC_ERR_CLUSTER_WORKER_START', 'A worker failed to start: %s', 500)
export const LLMRTC_ERR_CLUSTER_IPC = createError('LLMRTC_ERR_CLUSTER_IPC', 'Cluster IPC failed: %s', 503)

// Speech-to-speech relay (lib/realtime)
export const LLMRTC_ERR_REALTIME = createError('LLMRTC_ERR_REALTIME', 'Realtime provider "%s" failed: %s', 502)
export const LLMRTC_ERR_REALTIME_BUDGET = createError('LLMRTC_ERR_REALTIME_BUDGET', 'The realtime session exceeded its %s budget of %s', 429)
export const LLMRTC_ERR_REALTIME_AUDIO_MESSAGE = createError('LLMRTC_ERR_REALTIME_AUDIO_MESSAGE', 'Invalid "audio" message: this session is in realtime (speech-to-speech) mode, where the microphone is heard over WebRTC only; send "text" or speak', 400)

// Recordings and transcripts (plugins/recording)
export const LLMRTC_ERR_RECORDING_SINK = createError('LLMRTC_ERR_RECORDING_SINK', 'Recording failed: %s', 500)

// Testing kit (@llmrtc/llmrtc-backend/testing)
export const LLMRTC_ERR_TESTING_TIMEOUT = createError('LLMRTC_ERR_TESTING_TIMEOUT', 'Timed out after %s ms waiting for %s', 500)

// Offline evals (lib/evals, `llmrtc-backend eval`)
export const LLMRTC_ERR_EVAL_SCENARIO = createError('LLMRTC_ERR_EVAL_SCENARIO', 'Invalid scenario %s: %s', 500, TypeError)

/** Every error constructor of the registry, by code. */
export const errorRegistry = {
  LLMRTC_ERR_OPTIONS_INVALID,
  LLMRTC_ERR_OPTIONS_MISSING_SECRET,
  LLMRTC_ERR_OPTIONS_UNKNOWN,
  LLMRTC_ERR_OPTIONS_INVALID_ENV,
  LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER,
  LLMRTC_ERR_HOOK_UNKNOWN,
  LLMRTC_ERR_HOOK_NOT_A_FUNCTION,
  LLMRTC_ERR_HOOK_BLOCKED,
  LLMRTC_ERR_PROTOCOL_INVALID_JSON,
  LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE,
  LLMRTC_ERR_PROTOCOL_MISSING_TYPE,
  LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE,
  LLMRTC_ERR_PROTOCOL_BINARY_FRAME,
  LLMRTC_ERR_SESSION_LIMIT,
  LLMRTC_ERR_SESSION_CLIENT_LIMIT,
  LLMRTC_ERR_SESSION_NOT_FOUND,
  LLMRTC_ERR_SESSION_EXPIRED,
  LLMRTC_ERR_SESSION_CLOSED,
  LLMRTC_ERR_SESSION_STORE,
  LLMRTC_ERR_WEBRTC_UNAVAILABLE,
  LLMRTC_ERR_CONNECTION_FAILED,
  LLMRTC_ERR_CALL_CONTROL,
  LLMRTC_ERR_AUDIO_INVALID_FORMAT,
  LLMRTC_ERR_AUDIO_PROCESSING,
  LLMRTC_ERR_VAD,
  LLMRTC_ERR_STT,
  LLMRTC_ERR_STT_TIMEOUT,
  LLMRTC_ERR_LLM,
  LLMRTC_ERR_LLM_TIMEOUT,
  LLMRTC_ERR_TTS,
  LLMRTC_ERR_TTS_TIMEOUT,
  LLMRTC_ERR_PROVIDER_INIT,
  LLMRTC_ERR_PROVIDER_NOT_READY,
  LLMRTC_ERR_TOOL_DEFINITION,
  LLMRTC_ERR_TOOL_UNKNOWN,
  LLMRTC_ERR_TOOL_INVALID_ARGUMENTS,
  LLMRTC_ERR_TOOL_TIMEOUT,
  LLMRTC_ERR_TOOL_FAILED,
  LLMRTC_ERR_MCP_UNAVAILABLE,
  LLMRTC_ERR_MCP_TOOL_ERROR,
  LLMRTC_ERR_PLAYBOOK_INVALID,
  LLMRTC_ERR_PLAYBOOK_LOAD,
  LLMRTC_ERR_PLAYBOOK,
  LLMRTC_ERR_AGENT_SELECTION,
  LLMRTC_ERR_AUTH_UNAUTHORIZED,
  LLMRTC_ERR_AUTH_ORIGIN,
  LLMRTC_ERR_RATE_LIMITED,
  LLMRTC_ERR_SERVER_DRAINING,
  LLMRTC_ERR_SERVER_NOT_STARTED,
  LLMRTC_ERR_INTERNAL,
  LLMRTC_ERR_CLUSTER_WORKER_START,
  LLMRTC_ERR_CLUSTER_IPC,
  LLMRTC_ERR_REALTIME,
  LLMRTC_ERR_REALTIME_BUDGET,
  LLMRTC_ERR_REALTIME_AUDIO_MESSAGE,
  LLMRTC_ERR_RECORDING_SINK,
  LLMRTC_ERR_TESTING_TIMEOUT,
  LLMRTC_ERR_EVAL_SCENARIO
} as const

export type LLMRTCErrorCode = keyof typeof errorRegistry

/** The protocol code each library error is reported with on the socket. */
const protocolCodes: Record<LLMRTCErrorCode, ProtocolErrorCode> = {
  LLMRTC_ERR_OPTIONS_INVALID: 'INTERNAL_ERROR',
  LLMRTC_ERR_OPTIONS_MISSING_SECRET: 'INTERNAL_ERROR',
  LLMRTC_ERR_OPTIONS_UNKNOWN: 'INTERNAL_ERROR',
  LLMRTC_ERR_OPTIONS_INVALID_ENV: 'INTERNAL_ERROR',
  LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER: 'INTERNAL_ERROR',
  LLMRTC_ERR_HOOK_UNKNOWN: 'INTERNAL_ERROR',
  LLMRTC_ERR_HOOK_NOT_A_FUNCTION: 'INTERNAL_ERROR',
  LLMRTC_ERR_HOOK_BLOCKED: 'INTERNAL_ERROR',
  LLMRTC_ERR_PROTOCOL_INVALID_JSON: 'INVALID_MESSAGE',
  LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE: 'INVALID_MESSAGE',
  LLMRTC_ERR_PROTOCOL_MISSING_TYPE: 'INVALID_MESSAGE',
  LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  LLMRTC_ERR_PROTOCOL_BINARY_FRAME: 'INVALID_MESSAGE',
  LLMRTC_ERR_SESSION_LIMIT: 'SESSION_LIMIT',
  LLMRTC_ERR_SESSION_CLIENT_LIMIT: 'SESSION_LIMIT',
  LLMRTC_ERR_SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  LLMRTC_ERR_SESSION_EXPIRED: 'SESSION_EXPIRED',
  LLMRTC_ERR_SESSION_CLOSED: 'INTERNAL_ERROR',
  LLMRTC_ERR_SESSION_STORE: 'INTERNAL_ERROR',
  LLMRTC_ERR_WEBRTC_UNAVAILABLE: 'WEBRTC_UNAVAILABLE',
  LLMRTC_ERR_CONNECTION_FAILED: 'CONNECTION_FAILED',
  LLMRTC_ERR_CALL_CONTROL: 'TOOL_ERROR',
  LLMRTC_ERR_AUDIO_INVALID_FORMAT: 'INVALID_AUDIO_FORMAT',
  LLMRTC_ERR_AUDIO_PROCESSING: 'AUDIO_PROCESSING_ERROR',
  LLMRTC_ERR_VAD: 'VAD_ERROR',
  LLMRTC_ERR_STT: 'STT_ERROR',
  LLMRTC_ERR_STT_TIMEOUT: 'STT_TIMEOUT',
  LLMRTC_ERR_LLM: 'LLM_ERROR',
  LLMRTC_ERR_LLM_TIMEOUT: 'LLM_TIMEOUT',
  LLMRTC_ERR_TTS: 'TTS_ERROR',
  LLMRTC_ERR_TTS_TIMEOUT: 'TTS_TIMEOUT',
  LLMRTC_ERR_PROVIDER_INIT: 'INTERNAL_ERROR',
  LLMRTC_ERR_PROVIDER_NOT_READY: 'INTERNAL_ERROR',
  LLMRTC_ERR_TOOL_DEFINITION: 'INTERNAL_ERROR',
  LLMRTC_ERR_TOOL_UNKNOWN: 'TOOL_ERROR',
  LLMRTC_ERR_TOOL_INVALID_ARGUMENTS: 'TOOL_ERROR',
  LLMRTC_ERR_TOOL_TIMEOUT: 'TOOL_ERROR',
  LLMRTC_ERR_TOOL_FAILED: 'TOOL_ERROR',
  LLMRTC_ERR_MCP_UNAVAILABLE: 'TOOL_ERROR',
  LLMRTC_ERR_MCP_TOOL_ERROR: 'TOOL_ERROR',
  LLMRTC_ERR_PLAYBOOK_INVALID: 'INTERNAL_ERROR',
  LLMRTC_ERR_PLAYBOOK_LOAD: 'INTERNAL_ERROR',
  LLMRTC_ERR_PLAYBOOK: 'PLAYBOOK_ERROR',
  LLMRTC_ERR_AGENT_SELECTION: 'INTERNAL_ERROR',
  LLMRTC_ERR_AUTH_UNAUTHORIZED: 'UNAUTHORIZED',
  LLMRTC_ERR_AUTH_ORIGIN: 'UNAUTHORIZED',
  LLMRTC_ERR_RATE_LIMITED: 'RATE_LIMITED',
  LLMRTC_ERR_SERVER_DRAINING: 'SESSION_LIMIT',
  LLMRTC_ERR_SERVER_NOT_STARTED: 'INTERNAL_ERROR',
  LLMRTC_ERR_INTERNAL: 'INTERNAL_ERROR',
  LLMRTC_ERR_CLUSTER_WORKER_START: 'INTERNAL_ERROR',
  LLMRTC_ERR_CLUSTER_IPC: 'INTERNAL_ERROR',
  LLMRTC_ERR_REALTIME: 'REALTIME_ERROR',
  LLMRTC_ERR_REALTIME_BUDGET: 'BUDGET_EXCEEDED',
  LLMRTC_ERR_REALTIME_AUDIO_MESSAGE: 'INVALID_MESSAGE',
  LLMRTC_ERR_RECORDING_SINK: 'INTERNAL_ERROR',
  LLMRTC_ERR_TESTING_TIMEOUT: 'INTERNAL_ERROR',
  LLMRTC_ERR_EVAL_SCENARIO: 'INTERNAL_ERROR'
}

export function isLLMRTCErrorCode (code: unknown): code is LLMRTCErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorRegistry, code)
}

/** The protocol code to report `error` with; unknown errors are `INTERNAL_ERROR`. */
export function protocolCodeOf (error: unknown): ProtocolErrorCode {
  const code = (error as { code?: unknown } | null)?.code
  return isLLMRTCErrorCode(code) ? protocolCodes[code] : 'INTERNAL_ERROR'
}

/**
 * The `error` message a client is sent for `error`. Messages of llmrtc's own errors are written for
 * clients; anything else (a bug, a library's error) is reported generically so internals never leak.
 */
export function clientErrorOf (error: unknown): { type: 'error', code: ProtocolErrorCode, message: string } {
  const code = (error as { code?: unknown } | null)?.code
  if (isLLMRTCErrorCode(code)) return { type: 'error', code: protocolCodes[code], message: (error as Error).message }
  return { type: 'error', code: 'INTERNAL_ERROR', message: 'Internal server error' }
}
