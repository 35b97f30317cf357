import type { GoogleGenAI } from '@google/genai'
import type { LLMRTCEnv } from '../../config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_MISSING_SECRET } from '../../errors.js'
import { loadGeminiSDK } from './sdk.js'

/** Options of `GeminiLLM`. Only `apiKey` is required. */
export interface GeminiLLMOptions {
  /** Gemini API key, sent as `x-goog-api-key` (secret: never logged). */
  apiKey: string
  /** Base URL of the Gemini API, without the version (default https://generativelanguage.googleapis.com). */
  baseUrl?: string
  /** Model (default gemini-2.5-flash). */
  model?: string
  /** Further attempts after a retryable failure (connection error, timeout, 429, 5xx) before any output (default 2). */
  maxRetries?: number
  /** First retry backoff in ms, doubled each time (default 500). */
  retryBaseDelayMs?: number
  /** Longest wait for an answer to start, per attempt, in ms (default 30000); a started stream is not cut. */
  timeoutMs?: number
  /** A ready SDK client to use instead (proxies, Vertex AI); `apiKey` and `baseUrl` are then ignored. */
  client?: GoogleGenAI
}

export type ResolvedGeminiLLMOptions = Required<Omit<GeminiLLMOptions, 'client'>> & Pick<GeminiLLMOptions, 'client'>

export const GEMINI_DEFAULTS = {
  baseUrl: 'https://generativelanguage.googleapis.com',
  model: 'gemini-2.5-flash',
  maxRetries: 2,
  retryBaseDelayMs: 500,
  timeoutMs: 30_000
} as const

/** Applies defaults and validates. Throws LLMRTC_ERR_OPTIONS_MISSING_SECRET or LLMRTC_ERR_OPTIONS_INVALID. */
export function resolveGeminiOptions (options: GeminiLLMOptions): ResolvedGeminiLLMOptions {
  if (options?.client === undefined && (typeof options?.apiKey !== 'string' || options.apiKey === '')) {
    throw new LLMRTC_ERR_OPTIONS_MISSING_SECRET('Gemini API key', 'apiKey', 'GEMINI_API_KEY (or GOOGLE_API_KEY)')
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<GeminiLLMOptions>
  const o: ResolvedGeminiLLMOptions = { ...GEMINI_DEFAULTS, ...defined, apiKey: options.apiKey ?? '' }
  if (typeof o.baseUrl !== 'string' || !/^https?:\/\/[^/]/.test(o.baseUrl)) invalid('baseUrl', 'an http(s) URL', o.baseUrl)
  if (typeof o.model !== 'string' || o.model === '') invalid('model', 'a non-empty string', o.model)
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1) invalid('timeoutMs', 'a positive integer (ms)', o.timeoutMs)
  for (const name of ['maxRetries', 'retryBaseDelayMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 0) invalid(name, 'an integer >= 0', o[name])
  }
  return o
}

/** Options from the environment: GEMINI_API_KEY (or its alias GOOGLE_API_KEY), GEMINI_BASE_URL, GEMINI_MODEL. */
export function geminiOptionsFromEnv (env: LLMRTCEnv): GeminiLLMOptions {
  return {
    apiKey: env.GEMINI_API_KEY ?? env.GOOGLE_API_KEY ?? '',
    baseUrl: env.GEMINI_BASE_URL,
    model: env.GEMINI_MODEL
  }
}

/**
 * The SDK client for the Gemini API. Everything is explicit, so the SDK's own environment variables
 * (GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GEMINI_BASE_URL, GOOGLE_GENAI_API_VERSION) never redirect it. The
 * SDK does not retry unless asked (no `retryOptions`): llmrtc's retry is the only layer. The SDK is
 * imported on the first call.
 */
export async function createGeminiClient (o: ResolvedGeminiLLMOptions): Promise<GoogleGenAI> {
  if (o.client !== undefined) return o.client
  const { GoogleGenAI } = await loadGeminiSDK()
  return new GoogleGenAI({ apiKey: o.apiKey, vertexai: false, apiVersion: 'v1beta', httpOptions: { baseUrl: o.baseUrl } })
}

function invalid (name: string, expected: string, value: unknown): never {
  throw new LLMRTC_ERR_OPTIONS_INVALID(name, expected, JSON.stringify(value))
}
