import type { LLMRTCEnv } from '../../lib/config/env-schema.js'
import { invalidOption } from '../../lib/config/invalid-option.js'
import { refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { LLMRTC_ERR_OPTIONS_MISSING_SECRET, LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER } from '../../lib/errors.js'
import { DEFAULT_GEMINI_LIVE_MODEL, DEFAULT_GEMINI_LIVE_VOICE } from '../../lib/realtime/gemini-live-config.js'
import { DEFAULT_OPENAI_REALTIME_MODEL, DEFAULT_OPENAI_REALTIME_VOICE } from '../../lib/realtime/openai-session-config.js'
import type { RealtimeBudget, RealtimeOptions, RealtimeTranscription, RealtimeTurnDetection } from '../../lib/realtime/types.js'
import type { Tool } from '../../lib/tools/types.js'

/** Options of `llmrtc-realtime` (the umbrella's `realtime` option); each wins over its REALTIME_* variable. */
export type LLMRTCRealtimeOptions = Partial<RealtimeOptions>

/** The relay's settings, resolved from the options over the environment. */
export interface ResolvedRealtimeOptions {
  provider: RealtimeOptions['provider']
  model: string
  voice: string
  instructions?: string
  tools?: Tool[]
  transcription: RealtimeTranscription | false
  turnDetection: RealtimeTurnDetection
  maxOutputTokens?: number
  budget: RealtimeBudget
  apiKey: string
  baseURL?: string
  connectTimeoutMs: number
  fallback: 'pipeline' | 'none'
}

const REALTIME_KEYS: Record<keyof RealtimeOptions, true> = {
  provider: true,
  model: true,
  instructions: true,
  voice: true,
  tools: true,
  transcription: true,
  turnDetection: true,
  maxOutputTokens: true,
  budget: true,
  apiKey: true,
  baseURL: true,
  connectTimeoutMs: true,
  fallback: true
}
const BUDGET_KEYS: Record<keyof RealtimeBudget, true> = { maxSessionMs: true, maxTokens: true, onExceeded: true }

/** Every key of the `realtime` option (the umbrella checks them too). */
export const REALTIME_OPTION_KEYS: readonly string[] = Object.keys(REALTIME_KEYS)

/**
 * The relay's settings, or undefined when relay mode is off (no `provider` option and no REALTIME_PROVIDER).
 * Throws LLMRTC_ERR_OPTIONS_* for unknown keys, bad values, an unknown provider or a missing key.
 */
export function resolveRealtimeOptions (opts: LLMRTCRealtimeOptions, env: LLMRTCEnv): ResolvedRealtimeOptions | undefined {
  refuseUnknownKeys(opts, REALTIME_OPTION_KEYS, 'realtime.')
  refuseUnknownKeys(opts.budget, Object.keys(BUDGET_KEYS), 'realtime.budget.')
  const provider = opts.provider ?? env.REALTIME_PROVIDER
  if (provider === undefined) return undefined
  if (provider !== 'openai' && provider !== 'gemini') throw new LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER('realtime', String(provider), '"openai", "gemini"')
  const gemini = provider === 'gemini'
  const apiKey = opts.apiKey ?? (gemini ? nonEmpty(env.GEMINI_API_KEY) ?? env.GOOGLE_API_KEY : env.OPENAI_API_KEY)
  if (apiKey === undefined || apiKey === '') {
    if (gemini) throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('the Gemini key of the realtime relay', 'realtime.apiKey', 'GEMINI_API_KEY (or GOOGLE_API_KEY)')
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('the OpenAI key of the realtime relay', 'realtime.apiKey', 'OPENAI_API_KEY')
  }
  const budget: RealtimeBudget = {
    ...optionalInteger('realtime.budget.maxSessionMs', opts.budget?.maxSessionMs ?? env.REALTIME_MAX_SESSION_MS, 1, 'maxSessionMs'),
    ...optionalInteger('realtime.budget.maxTokens', opts.budget?.maxTokens ?? env.REALTIME_MAX_TOKENS, 1, 'maxTokens'),
    onExceeded: opts.budget?.onExceeded ?? env.REALTIME_BUDGET_ACTION ?? 'end-session'
  }
  if (budget.onExceeded !== 'warn' && budget.onExceeded !== 'end-session') invalidOption('realtime.budget.onExceeded', '"warn" or "end-session"', budget.onExceeded)
  if (opts.tools !== undefined && !Array.isArray(opts.tools)) invalidOption('realtime.tools', 'an array of tools', opts.tools)
  const turnDetection = opts.turnDetection ?? { type: env.REALTIME_TURN_DETECTION ?? 'server_vad' }
  if (turnDetection?.type !== 'server_vad' && turnDetection?.type !== 'semantic_vad' && turnDetection?.type !== 'llmrtc') invalidOption('realtime.turnDetection', '{ type: "server_vad" }, { type: "semantic_vad" } or { type: "llmrtc" }', turnDetection)
  const fallback = opts.fallback ?? 'pipeline'
  if (fallback !== 'pipeline' && fallback !== 'none') invalidOption('realtime.fallback', '"pipeline" or "none"', fallback)
  const instructions = opts.instructions ?? env.REALTIME_INSTRUCTIONS
  const baseURL = opts.baseURL ?? (gemini ? env.GEMINI_BASE_URL : env.OPENAI_BASE_URL)
  return {
    provider,
    model: opts.model ?? env.REALTIME_MODEL ?? (gemini ? DEFAULT_GEMINI_LIVE_MODEL : DEFAULT_OPENAI_REALTIME_MODEL),
    voice: opts.voice ?? env.REALTIME_VOICE ?? (gemini ? DEFAULT_GEMINI_LIVE_VOICE : DEFAULT_OPENAI_REALTIME_VOICE),
    ...(instructions !== undefined ? { instructions } : {}),
    ...(opts.tools !== undefined ? { tools: opts.tools } : {}),
    transcription: opts.transcription ?? {},
    turnDetection,
    ...optionalInteger('realtime.maxOutputTokens', opts.maxOutputTokens, 1, 'maxOutputTokens'),
    budget,
    apiKey,
    ...(baseURL !== undefined ? { baseURL } : {}),
    connectTimeoutMs: optionalInteger('realtime.connectTimeoutMs', opts.connectTimeoutMs, 100, 'connectTimeoutMs').connectTimeoutMs ?? 10_000,
    fallback
  }
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}

function optionalInteger<K extends string> (name: string, value: unknown, minimum: number, key: K): Partial<Record<K, number>> {
  if (value === undefined) return {}
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) invalidOption(name, `an integer ≥ ${minimum}`, value)
  return { [key]: value } as Partial<Record<K, number>>
}
