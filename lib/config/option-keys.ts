import type { Redis } from 'ioredis'
import type { TurnDetectionOptions } from '../turn-detection/types.js'
import type { InterruptionOptions, PreemptiveOptions, UserIdleOptions } from '../turn-taking/options.js'
import type { SpeechTextFilterOptions } from '../pipeline/speech-text-filter.js'
import type { LLMRTCRedisOptions } from '../sessions/redis-options.js'
import type { BackgroundAudioOptions } from '../audio/background-options.js'
import { NOISE_SUPPRESSION_KEYS } from '../audio/noise-suppression-options.js'
import type { LLMRTCOptions } from './options.js'
import type { JwtAuthOptions } from './security-options.js'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from './unknown-options.js'

/*
 * The one list of llmrtc's option keys, at every level: a key not listed is refused with
 * LLMRTC_ERR_OPTIONS_UNKNOWN. Each list is a Record over the keys of its interface, so a key added to an
 * interface must be added here too (tsc fails until it is), and a key listed here must exist there.
 * The umbrella's own keys (webrtc, vad, metrics, ...) are listed in plugins/llmrtc/option-keys.ts.
 */

/** The top level: LLMRTCOptions and the interfaces it extends. */
const OPTION_KEYS: Record<keyof LLMRTCOptions, true> = {
  // LLMRTCSecurityOptions
  authenticate: true,
  jwt: true,
  allowedOrigins: true,
  cors: true,
  maxMessagesPerSecond: true,
  messageBurst: true,
  maxSessionsPerClient: true,
  maxAudioBytes: true,
  maxAudioMs: true,
  rateLimit: true,
  // TurnTakingOptions
  interruption: true,
  turnDetection: true,
  preemptive: true,
  userIdle: true,
  language: true,
  // LLMRTCOptions
  providers: true,
  systemPrompt: true,
  historyLimit: true,
  streamingTTS: true,
  streamingSTT: true,
  iceServers: true,
  turnSecret: true,
  turnUrls: true,
  turnTtlSeconds: true,
  path: true,
  healthPath: true,
  sessionTtlMs: true,
  reconnectGraceMs: true,
  maxSessions: true,
  sessionStore: true,
  redis: true,
  heartbeatTimeoutMs: true,
  maxMessageBytes: true,
  hooks: true,
  sttTimeoutMs: true,
  llmTimeoutMs: true,
  ttsTimeoutMs: true,
  turnTakingForSession: true,
  agentForSession: true,
  greeting: true,
  speechFilters: true,
  vadForSession: true,
  backgroundAudio: true,
  noiseSuppression: true,
  env: true,
  clock: true,
  tools: true,
  playbook: true,
  intentDetector: true,
  maxToolRounds: true,
  toolPhaseTimeoutMs: true,
  toolTimeoutMs: true,
  maxConcurrentTools: true,
  mcpServers: true,
  drainTimeoutMs: true
}

/** The keys of LLMRTCOptions. */
export const LLMRTC_OPTION_KEYS: readonly string[] = Object.keys(OPTION_KEYS)

const JWT_KEYS: Record<keyof JwtAuthOptions, true> = { secret: true, issuer: true, audience: true, algorithms: true, principalClaim: true }
const RATE_LIMIT_KEYS: Record<'max' | 'timeWindow', true> = { max: true, timeWindow: true }
const REDIS_KEYS: Record<keyof LLMRTCRedisOptions, true> = { url: true, keyPrefix: true }
const PROVIDERS_KEYS: Record<keyof NonNullable<LLMRTCOptions['providers']>, true> = { llm: true, stt: true, tts: true }
const GREETING_KEYS: Record<'instructions', true> = { instructions: true }
const BACKGROUND_AUDIO_KEYS: Record<keyof BackgroundAudioOptions, true> = { thinking: true, ambient: true }
const INTERRUPTION_KEYS: Record<keyof InterruptionOptions, true> = { mode: true, minSpeechMs: true, minWords: true, resumeAfterMs: true, onsetThreshold: true, loudnessOnset: true, backchannels: true }
const PREEMPTIVE_KEYS: Record<keyof PreemptiveOptions, true> = { afterMs: true }
const USER_IDLE_KEYS: Record<keyof UserIdleOptions, true> = { afterMs: true, prompts: true, maxPrompts: true, goodbye: true }
const TURN_DETECTION_KEYS: Record<keyof TurnDetectionOptions, true> = { detector: true, minEndpointMs: true, maxEndpointMs: true, dynamic: true, language: true }
const SPEECH_FILTERS_KEYS: Record<keyof SpeechTextFilterOptions, true> = { markdown: true, codeBlocks: true, codeBlockReplacement: true, emoji: true, urls: true, numbers: true, custom: true }

/** Nested option objects, by their key at the top level. */
const NESTED: Record<string, Record<string, true>> = {
  jwt: JWT_KEYS,
  rateLimit: RATE_LIMIT_KEYS,
  providers: PROVIDERS_KEYS,
  greeting: GREETING_KEYS,
  backgroundAudio: BACKGROUND_AUDIO_KEYS,
  interruption: INTERRUPTION_KEYS,
  preemptive: PREEMPTIVE_KEYS,
  userIdle: USER_IDLE_KEYS,
  turnDetection: TURN_DETECTION_KEYS,
  speechFilters: SPEECH_FILTERS_KEYS,
  noiseSuppression: NOISE_SUPPRESSION_KEYS
}

/**
 * Refuses an unknown key of llmrtc's options, at the top level (where Fastify's own `register` options are
 * accepted) and in their nested objects. Throws LLMRTC_ERR_OPTIONS_UNKNOWN.
 */
export function refuseUnknownOptionKeys (options: object): void {
  refuseUnknownKeys(options, [...LLMRTC_OPTION_KEYS, ...FASTIFY_REGISTER_OPTION_KEYS])
  const given = options as Record<string, unknown>
  for (const [key, known] of Object.entries(NESTED)) refuseUnknownKeys(given[key], Object.keys(known), `${key}.`)
  // An ioredis client is a `redis` value too: only an options object is checked.
  if (!isClient(given.redis)) refuseUnknownKeys(given.redis, Object.keys(REDIS_KEYS), 'redis.')
}

function isClient (value: unknown): value is Redis {
  return typeof (value as { status?: unknown } | null | undefined)?.status === 'string'
}
