import { describeValue, invalidOption } from './invalid-option.js'
import { invalidEnv } from './env-errors.js'
import { refuseUnknownOptionKeys } from './option-keys.js'
import type { Clock } from '../clock.js'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../errors.js'
import type { LLMRTCHookObject } from '../hooks/hook-types.js'
import type { IceServer } from '../protocol/server-messages.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../providers/types.js'
import type { SessionStore } from '../sessions/session-store.js'
import { resolveRedisOptions, type LLMRTCRedisOptions, type ResolvedRedisOptions } from '../sessions/redis-options.js'
import type { Redis } from 'ioredis'
import type { Session } from '../sessions/session.js'
import { DEFAULT_TURN_OPTIONS, type TurnOptions } from '../pipeline/turn-types.js'
import { resolveSpeechTextFilterOptions, type SpeechTextFilterOptions } from '../pipeline/speech-text-filter.js'
import type { SpeechSegmenterOptions } from '../vad/segmenter-options.js'
import { resolveBackgroundAudio, type BackgroundAudioOptions, type ResolvedBackgroundAudio } from '../audio/background-options.js'
import { resolveNoiseSuppression, type NoiseSuppressionOptions, type ResolvedNoiseSuppression } from '../audio/noise-suppression-options.js'
import type { LLMRTCEnv } from './env-schema.js'
import { resolveSecurityOptions, type LLMRTCSecurityOptions, type ResolvedSecurityOptions } from './security-options.js'
import { validatePlaybook } from '../playbooks/validate-playbook.js'
import type { IntentDetector, Playbook } from '../playbooks/types.js'
import { ToolRegistry } from '../tools/tool-registry.js'
import type { Tool } from '../tools/types.js'
import { resolveMcpServers, type McpServersOptions, type ResolvedMcpServer } from '../tools/mcp/mcp-options.js'
import type { AgentForSession } from '../agent/agent-choice.js'
import { resolveTurnTaking, type TurnTakingOptions } from '../turn-taking/resolve-turn-taking.js'
import type { TurnTakingSettings } from '../turn-taking/turn-taking-settings.js'

/** Options of the `llmrtc` plugin (and of `LLMRTCServer`). Many also have an environment variable (named on each). */
export interface LLMRTCOptions extends LLMRTCSecurityOptions, TurnTakingOptions {
  /**
   * Providers per role; a missing role is chosen from the environment (see docs/providers.md). A list
   * (`llm: [primary, fallback]`) fails over to the next provider when one fails before any output.
   */
  providers?: { llm?: LLMProvider | LLMProvider[], stt?: STTProvider | STTProvider[], tts?: TTSProvider | TTSProvider[] }
  /** Pinned first message of every conversation. Env SYSTEM_PROMPT. */
  systemPrompt?: string
  /** Non-system messages kept per conversation (default 20). Env HISTORY_LIMIT. */
  historyLimit?: number
  /** Speak sentence by sentence while the LLM streams (default true). Env STREAMING_TTS. */
  streamingTTS?: boolean
  /** Use the STT provider's streaming mode when it has one (default true). Env STREAMING_STT. */
  streamingSTT?: boolean
  /** ICE servers sent to clients in `ready` (default none). Env ICE_SERVERS. */
  iceServers?: IceServer[]
  /** coturn REST API shared secret: each `ready` then carries fresh TURN credentials for `turnUrls`. Env TURN_SECRET. */
  turnSecret?: string
  /** TURN URLs (turn: or turns:) the generated credentials are for. Env TURN_URLS (comma-separated). */
  turnUrls?: string[]
  /** Lifetime of generated TURN credentials in seconds (default 86400: TURN refreshes re-check it, so it must outlast a call). Env TURN_TTL_SECONDS. */
  turnTtlSeconds?: number
  /** Path of the signaling WebSocket (default '/'). Env SIGNALING_PATH. */
  path?: string
  /** Path of the health route (default '/health'), behind the plugin's `prefix`; false serves no health route. */
  healthPath?: string | false
  /** A session idle this long expires, in ms (default 30 min). Env SESSION_TTL_MS. */
  sessionTtlMs?: number
  /** A disconnected session is kept this long for `reconnect`, in ms (default 120 s). Env RECONNECT_GRACE_MS. */
  reconnectGraceMs?: number
  /** Most sessions held at once (default 100: a 2-core process serves ~25-35 talking sessions, docs/security.md). Env MAX_SESSIONS. */
  maxSessions?: number
  /** Where session records are kept (default in memory). */
  sessionStore?: SessionStore
  /**
   * Keep session records in Redis, shared by every server (docs/deployment.md): `{ url, keyPrefix }`
   * (llmrtc connects at start and closes at the end), or an ioredis client you own. Env REDIS_URL, REDIS_KEY_PREFIX.
   */
  redis?: LLMRTCRedisOptions | Redis
  /** A connection that sends nothing (not even `ping`) this long is closed, in ms (default 45 s). Env HEARTBEAT_TIMEOUT_MS. */
  heartbeatTimeoutMs?: number
  /** Largest accepted WebSocket message in bytes (default 4 MiB). Env MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number
  /** Hooks to register, as one object. */
  hooks?: LLMRTCHookObject
  /** Deadline of one STT call, in ms (default 15 000). */
  sttTimeoutMs?: number
  /** Deadline of one LLM call, from request to its last chunk, in ms (default 60 000). */
  llmTimeoutMs?: number
  /** Deadline of synthesizing one sentence, in ms (default 20 000). */
  ttsTimeoutMs?: number
  /** Turn-taking of one session (interruption, turnDetection, preemptive, userIdle, language), over the server's. */
  turnTakingForSession?: (session: Session) => TurnTakingOptions | undefined
  /**
   * What the assistant says when a session's media is up, before the user speaks: a text to say as it
   * is, or `{ instructions }` for the LLM to answer on its own (default none).
   */
  greeting?: string | { instructions: string }
  /** What the LLM's text becomes before TTS: markdown, emoji and code not read aloud, URLs and numbers read sensibly (default all on; false: spoken as written). docs/text-filters.md. */
  speechFilters?: SpeechTextFilterOptions | false
  /** Speech segmentation for one session, over the server's `vad` options (e.g. a longer pause for dictation). */
  vadForSession?: (session: Session) => SpeechSegmenterOptions | undefined
  /**
   * Sounds mixed under the speech of WebRTC tracks, phone calls and devices: a thinking sound while a
   * tool runs or the answer is late, an ambient loop under the call (default none; docs/background-audio.md).
   */
  backgroundAudio?: BackgroundAudioOptions | false
  /**
   * RNNoise on the microphone before the VAD: what the VAD and the STT get is the denoised audio
   * (default false; docs/noise-suppression.md). `true`, or `{ upsample }`. Env NOISE_SUPPRESSION.
   */
  noiseSuppression?: boolean | NoiseSuppressionOptions
  /**
   * Chooses each session's agent (system prompt, tools, providers, playbook) from who connected and how
   * (principal, query string), when the client connects. May be async; what it leaves out is the server's.
   * A throw closes that connection with 1011. See docs/agents.md.
   */
  agentForSession?: AgentForSession
  /**
   * Environment to read llmrtc's variables from, e.g. `process.env` (default: none for the plugin, so a host
   * app's own JWT_SECRET or REDIS_URL is never picked up; `LLMRTCServer`, the CLI and `fastify start` pass
   * process.env). Only the variables llmrtc uses are read and validated. False reads none.
   */
  env?: Record<string, string | undefined> | false
  /** Time source (tests inject a fake clock). */
  clock?: Clock
  /** Tools the LLM may call in every turn (and every playbook stage): see docs/playbooks.md. */
  tools?: Tool[]
  /** A multi-stage conversation (stages, their prompts and tools, transitions). Env PLAYBOOK (a module path). */
  playbook?: Playbook
  /** Names the intent of the user's words, for playbook `intent` conditions. */
  intentDetector?: IntentDetector
  /** Most LLM rounds that may call tools in one turn, before the spoken answer (default 5). Env MAX_TOOL_ROUNDS. */
  maxToolRounds?: number
  /** How long the tool phase of one turn may last, in ms (default 30 000). */
  toolPhaseTimeoutMs?: number
  /** Deadline of one tool call, for tools without their own, in ms (default 10 000). Env TOOL_TIMEOUT_MS. */
  toolTimeoutMs?: number
  /** Most tool handlers one LLM response runs at once (default 4). */
  maxConcurrentTools?: number
  /**
   * MCP servers whose tools the LLM may call in every turn, by name: `{ name: { command, args, env, cwd } }`
   * (stdio, run as a child process) or `{ name: { url, headers } }` (streamable HTTP). Tools are named
   * `<name>_<tool>` by default. See docs/mcp.md.
   */
  mcpServers?: McpServersOptions
  /** How long a drain (SIGTERM, `stop()`) waits for turns in progress before closing, in ms (default 30 000). Env DRAIN_TIMEOUT_MS. */
  drainTimeoutMs?: number
}

/** Options after defaults and the environment were applied. */
export interface ResolvedLLMRTCOptions extends ResolvedSecurityOptions {
  providers: { llm?: LLMProvider | LLMProvider[], stt?: STTProvider | STTProvider[], tts?: TTSProvider | TTSProvider[] }
  systemPrompt: string
  historyLimit: number
  streamingTTS: boolean
  streamingSTT: boolean
  iceServers: IceServer[]
  /** Secret: never log it. */
  turnSecret: string | undefined
  turnUrls: string[]
  turnTtlSeconds: number
  path: string
  healthPath: string | false
  sessionTtlMs: number
  reconnectGraceMs: number
  maxSessions: number
  sessionStore: SessionStore | undefined
  /** Redis for the session store, when no `sessionStore` is given (the URL is a secret: never log it). */
  redis: ResolvedRedisOptions | undefined
  heartbeatTimeoutMs: number
  maxMessageBytes: number
  hooks: LLMRTCHookObject
  /** Turn settings: streaming TTS, per-call deadlines. */
  turn: TurnOptions
  /** Interruptions, preemptive generation, adaptive end of turn, user idle (docs/turn-taking.md). */
  turnTaking: TurnTakingSettings
  turnTakingForSession: ((session: Session) => TurnTakingOptions | undefined) | undefined
  greeting: string | { instructions: string } | undefined
  vadForSession: ((session: Session) => SpeechSegmenterOptions | undefined) | undefined
  /** The background sounds, decoded by the pipeline plugin at start; undefined: none. */
  backgroundAudio: ResolvedBackgroundAudio | undefined
  /** RNNoise before the VAD, or false. */
  noiseSuppression: ResolvedNoiseSuppression | false
  agentForSession: AgentForSession | undefined
  clock: Clock | undefined
  tools: Tool[]
  /** Validated; from the option, else loaded from env PLAYBOOK when the pipeline registers. */
  playbook: Playbook | undefined
  intentDetector: IntentDetector | undefined
  maxToolRounds: number
  toolPhaseTimeoutMs: number
  toolTimeoutMs: number
  maxConcurrentTools: number
  /** The server-wide MCP servers, checked (headers and env are secrets: never log them). */
  mcpServers: ResolvedMcpServer[]
  drainTimeoutMs: number
  /** The validated environment (secrets included: never log this object). */
  env: LLMRTCEnv
}

export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful voice assistant. Answer in short, natural spoken sentences.'

/** Applies the environment and defaults, and validates. Throws LLMRTC_ERR_OPTIONS_INVALID. */
export function resolveOptions (options: LLMRTCOptions, env: LLMRTCEnv): ResolvedLLMRTCOptions {
  if (options === null || typeof options !== 'object') invalidOption('options', 'an object', options)
  refuseUnknownOptionKeys(options)
  const resolved: ResolvedLLMRTCOptions = {
    ...resolveSecurityOptions(options, env),
    providers: options.providers ?? {},
    systemPrompt: options.systemPrompt ?? env.SYSTEM_PROMPT ?? DEFAULT_SYSTEM_PROMPT,
    historyLimit: options.historyLimit ?? env.HISTORY_LIMIT ?? 20,
    streamingTTS: options.streamingTTS ?? env.STREAMING_TTS ?? true,
    streamingSTT: options.streamingSTT ?? env.STREAMING_STT ?? true,
    iceServers: options.iceServers ?? parseIceServers(env.ICE_SERVERS),
    turnSecret: options.turnSecret ?? env.TURN_SECRET,
    turnUrls: options.turnUrls ?? parseTurnUrls(env.TURN_URLS),
    turnTtlSeconds: options.turnTtlSeconds ?? env.TURN_TTL_SECONDS ?? 86_400,
    path: options.path ?? env.SIGNALING_PATH ?? '/',
    healthPath: options.healthPath ?? '/health',
    sessionTtlMs: options.sessionTtlMs ?? env.SESSION_TTL_MS ?? 30 * 60_000,
    reconnectGraceMs: options.reconnectGraceMs ?? env.RECONNECT_GRACE_MS ?? 120_000,
    maxSessions: options.maxSessions ?? env.MAX_SESSIONS ?? 100,
    sessionStore: options.sessionStore,
    redis: resolveRedisOptions(options.redis, env, options.sessionStore !== undefined),
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? env.HEARTBEAT_TIMEOUT_MS ?? 45_000,
    maxMessageBytes: options.maxMessageBytes ?? env.MAX_MESSAGE_BYTES ?? 4 * 1024 * 1024,
    hooks: options.hooks ?? {},
    turn: {
      ...DEFAULT_TURN_OPTIONS,
      streamingTTS: options.streamingTTS ?? env.STREAMING_TTS ?? true,
      sttTimeoutMs: options.sttTimeoutMs ?? DEFAULT_TURN_OPTIONS.sttTimeoutMs,
      llmTimeoutMs: options.llmTimeoutMs ?? DEFAULT_TURN_OPTIONS.llmTimeoutMs,
      ttsTimeoutMs: options.ttsTimeoutMs ?? DEFAULT_TURN_OPTIONS.ttsTimeoutMs,
      speechFilters: resolveSpeechTextFilterOptions(options.speechFilters)
    },
    turnTaking: resolveTurnTaking(options, undefined, env),
    turnTakingForSession: options.turnTakingForSession,
    greeting: options.greeting ?? (env.GREETING !== undefined && env.GREETING !== '' ? env.GREETING : undefined),
    vadForSession: options.vadForSession,
    backgroundAudio: resolveBackgroundAudio(options.backgroundAudio),
    noiseSuppression: resolveNoiseSuppression(options.noiseSuppression, env.NOISE_SUPPRESSION),
    agentForSession: options.agentForSession,
    clock: options.clock,
    tools: options.tools ?? [],
    playbook: options.playbook === undefined ? undefined : validatePlaybook(options.playbook).playbook,
    intentDetector: options.intentDetector,
    maxToolRounds: options.maxToolRounds ?? env.MAX_TOOL_ROUNDS ?? 5,
    toolPhaseTimeoutMs: options.toolPhaseTimeoutMs ?? 30_000,
    toolTimeoutMs: options.toolTimeoutMs ?? env.TOOL_TIMEOUT_MS ?? 10_000,
    maxConcurrentTools: options.maxConcurrentTools ?? 4,
    mcpServers: resolveMcpServers(options.mcpServers),
    drainTimeoutMs: options.drainTimeoutMs ?? env.DRAIN_TIMEOUT_MS ?? 30_000,
    env
  }
  validate(resolved)
  return resolved
}

function validate (o: ResolvedLLMRTCOptions): void {
  if (typeof o.systemPrompt !== 'string') invalidOption('systemPrompt', 'a string', o.systemPrompt)
  integer('historyLimit', o.historyLimit, 0)
  boolean('streamingTTS', o.streamingTTS)
  boolean('streamingSTT', o.streamingSTT)
  if (!Array.isArray(o.iceServers) || !o.iceServers.every(isIceServer)) invalidOption('iceServers', 'an array of { urls, username?, credential? }', o.iceServers)
  validateTurn(o)
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) invalidOption('path', 'a path starting with "/"', o.path)
  if (o.healthPath !== false && (typeof o.healthPath !== 'string' || !o.healthPath.startsWith('/'))) invalidOption('healthPath', 'a path starting with "/" (or false)', o.healthPath)
  integer('sessionTtlMs', o.sessionTtlMs, 1)
  integer('reconnectGraceMs', o.reconnectGraceMs, 0)
  integer('maxSessions', o.maxSessions, 1)
  integer('heartbeatTimeoutMs', o.heartbeatTimeoutMs, 1)
  integer('maxMessageBytes', o.maxMessageBytes, 1024)
  if (typeof o.hooks !== 'object' || o.hooks === null) invalidOption('hooks', 'an object of hook functions', o.hooks)
  integer('sttTimeoutMs', o.turn.sttTimeoutMs, 1)
  integer('llmTimeoutMs', o.turn.llmTimeoutMs, 1)
  integer('ttsTimeoutMs', o.turn.ttsTimeoutMs, 1)
  if (o.vadForSession !== undefined && typeof o.vadForSession !== 'function') invalidOption('vadForSession', 'a function', o.vadForSession)
  if (o.turnTakingForSession !== undefined && typeof o.turnTakingForSession !== 'function') invalidOption('turnTakingForSession', 'a function', o.turnTakingForSession)
  if (o.agentForSession !== undefined && typeof o.agentForSession !== 'function') invalidOption('agentForSession', 'a function', o.agentForSession)
  const greeting: unknown = o.greeting
  if (greeting !== undefined && typeof greeting !== 'string' && (typeof greeting !== 'object' || greeting === null || typeof (greeting as { instructions?: unknown }).instructions !== 'string')) {
    invalidOption('greeting', 'a string, or { instructions: string }', greeting)
  }
  validateTools(o)
  for (const role of ['llm', 'stt', 'tts'] as const) {
    const given = o.providers[role]
    if (given === undefined) continue
    const list: unknown[] = Array.isArray(given) ? given : [given]
    if (list.length === 0) invalidOption(`providers.${role}`, 'a provider or a non-empty list of providers', given)
    const method = role === 'llm' ? 'complete' : role === 'stt' ? 'transcribe' : 'speak'
    for (const provider of list) {
      if (typeof provider !== 'object' || provider === null || typeof (provider as { name?: unknown }).name !== 'string' || typeof (provider as Record<string, unknown>)[method] !== 'function') {
        invalidOption(`providers.${role}`, `an object with a string "name" and a "${method}" method`, provider)
      }
    }
  }
  if (o.sessionStore !== undefined) {
    const store = o.sessionStore as unknown as Record<string, unknown>
    if (!['get', 'set', 'delete', 'close'].every(m => typeof store[m] === 'function')) {
      invalidOption('sessionStore', 'a SessionStore with get, set, delete and close', o.sessionStore)
    }
  }
}

function validateTools (o: ResolvedLLMRTCOptions): void {
  if (!Array.isArray(o.tools)) invalidOption('tools', 'an array of tools made with defineTool()', o.tools)
  new ToolRegistry(o.tools) // eslint-disable-line no-new -- checks names and schemas
  if (o.intentDetector !== undefined && typeof o.intentDetector !== 'function') invalidOption('intentDetector', 'a function', o.intentDetector)
  integer('maxToolRounds', o.maxToolRounds, 1)
  integer('toolPhaseTimeoutMs', o.toolPhaseTimeoutMs, 1)
  integer('toolTimeoutMs', o.toolTimeoutMs, 1)
  integer('maxConcurrentTools', o.maxConcurrentTools, 1)
  integer('drainTimeoutMs', o.drainTimeoutMs, 0)
}

/** ICE_SERVERS: a JSON array of RTCIceServer, or comma-separated URLs. */
export function parseIceServers (value: string | undefined): IceServer[] {
  if (value === undefined || value.trim() === '') return []
  const text = value.trim()
  if (text.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      // V8's message may quote the text (credentials included): keep only the reason.
      const reason = (error as Error).message.replace(/,\s*(\.\.\.)?".*$/s, '')
      invalidEnv('ICE_SERVERS', 'a JSON array of RTCIceServer or comma-separated URLs', `malformed JSON (${reason})`)
    }
    if (!Array.isArray(parsed) || !parsed.every(isIceServer)) invalidEnv('ICE_SERVERS', 'a JSON array of { urls, username?, credential? }', 'another JSON value')
    return parsed
  }
  const urls = text.split(',').map(u => u.trim()).filter(u => u !== '')
  for (const url of urls) {
    if (!/^(stun|stuns|turn|turns):/.test(url)) invalidEnv('ICE_SERVERS', 'URLs starting with stun:, stuns:, turn: or turns:', describeValue(url))
  }
  return urls.map(urls => ({ urls }))
}

function validateTurn (o: ResolvedLLMRTCOptions): void {
  if (o.turnSecret !== undefined && (typeof o.turnSecret !== 'string' || o.turnSecret === '')) invalidOption('turnSecret', 'a non-empty string', o.turnSecret === '' ? '' : typeof o.turnSecret)
  if (!Array.isArray(o.turnUrls) || !o.turnUrls.every(u => typeof u === 'string' && /^turns?:/.test(u))) invalidOption('turnUrls', 'an array of URLs starting with turn: or turns:', o.turnUrls)
  integer('turnTtlSeconds', o.turnTtlSeconds, 60)
  if (o.turnSecret !== undefined && o.turnUrls.length === 0) invalidOption('turnUrls', 'at least one TURN URL when turnSecret is set (env TURN_URLS)', o.turnUrls)
  if (o.turnSecret === undefined && o.turnUrls.length > 0) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('TURN secret', 'turnSecret', 'TURN_SECRET')
}

/** TURN_URLS: comma-separated turn: or turns: URLs. */
function parseTurnUrls (value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(',').map(u => u.trim()).filter(u => u !== '')
}

function isIceServer (value: unknown): value is IceServer {
  if (value === null || typeof value !== 'object') return false
  const server = value as Record<string, unknown>
  const urlsOk = typeof server.urls === 'string' || (Array.isArray(server.urls) && server.urls.length > 0 && server.urls.every(u => typeof u === 'string'))
  return urlsOk &&
    (server.username === undefined || typeof server.username === 'string') &&
    (server.credential === undefined || typeof server.credential === 'string')
}

function integer (name: string, value: unknown, minimum: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) invalidOption(name, `an integer >= ${minimum}`, value)
}

function boolean (name: string, value: unknown): void {
  if (typeof value !== 'boolean') invalidOption(name, 'a boolean', value)
}
