import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import type { AnthropicLLMOptions } from '../../lib/providers/anthropic/index.js'
import type { BedrockCredentials, BedrockLLMOptions } from '../../lib/providers/bedrock/index.js'
import type { CartesiaTTSOptions } from '../../lib/providers/cartesia/index.js'
import type { DeepgramOptions } from '../../lib/providers/deepgram/index.js'
import type { ElevenLabsSTTOptions, ElevenLabsTTSOptions } from '../../lib/providers/elevenlabs/index.js'
import type { GeminiLLMOptions } from '../../lib/providers/gemini/index.js'
import type { EspeakTTSOptions, PocketsphinxSTTOptions } from '../../lib/providers/local/index.js'
import type { OpenAIClientOptions } from '../../lib/providers/openai/index.js'
import type { PiperTTSOptions } from '../../lib/providers/piper/index.js'
import type { ElevenLabsConnectionOptions, LLMRTCProviderElevenLabsOptions } from './elevenlabs/index.js'
import type { LLMRTCLocalOptions } from './local/index.js'
import type { LLMRTCProviderOpenAIOptions } from './openai/index.js'

/*
 * The option keys of each provider plugin, as Records over their interfaces: a key added to an interface
 * must be added here (tsc fails until it is).
 */

type Keys<T> = Record<keyof Required<T>, true>

const CLIENT: Keys<OpenAIClientOptions> = { apiKey: true, baseURL: true, maxRetries: true, timeoutMs: true, client: true }
const OPENAI: Keys<LLMRTCProviderOpenAIOptions> = { ...CLIENT, llm: true, stt: true, tts: true }
const OPENAI_ROLES: { [R in 'llm' | 'stt' | 'tts']: Keys<NonNullable<LLMRTCProviderOpenAIOptions[R]>> } = {
  llm: { model: true, maxTokensField: true },
  stt: { model: true, language: true, prompt: true, wordTimestamps: true },
  tts: { model: true, voice: true, instructions: true, speed: true }
}
const DEEPGRAM: Keys<DeepgramOptions> = {
  apiKey: true,
  baseUrl: true,
  model: true,
  language: true,
  ttsModel: true,
  ttsSampleRateHz: true,
  smartFormat: true,
  keepAliveIntervalMs: true,
  connectTimeoutMs: true,
  finalizeTimeoutMs: true,
  requestTimeoutMs: true,
  maxRetries: true,
  retryBaseDelayMs: true
}
const CARTESIA: Keys<CartesiaTTSOptions> = {
  apiKey: true,
  baseURL: true,
  model: true,
  voiceId: true,
  language: true,
  sampleRateHz: true,
  contextIdleMs: true,
  connectTimeoutMs: true,
  retries: true,
  retryDelayMs: true
}
const GEMINI: Keys<GeminiLLMOptions> = { apiKey: true, baseUrl: true, model: true, maxRetries: true, retryBaseDelayMs: true, timeoutMs: true, client: true }
const PIPER: Keys<PiperTTSOptions> = {
  url: true,
  api: true,
  voice: true,
  speaker: true,
  speakerId: true,
  lengthScale: true,
  noiseScale: true,
  noiseWScale: true,
  sampleRateHz: true,
  requestTimeoutMs: true,
  maxRetries: true,
  retryBaseDelayMs: true
}
const ANTHROPIC: Keys<AnthropicLLMOptions> = {
  apiKey: true,
  baseURL: true,
  model: true,
  maxTokens: true,
  promptCaching: true,
  noSamplingModels: true,
  maxRetries: true,
  retryDelayMs: true,
  timeoutMs: true,
  client: true
}
const BEDROCK: Keys<BedrockLLMOptions> = {
  model: true,
  region: true,
  credentials: true,
  profile: true,
  endpoint: true,
  retries: true,
  retryBaseDelayMs: true,
  timeoutMs: true,
  client: true
}
const BEDROCK_CREDENTIALS: Keys<BedrockCredentials> = { accessKeyId: true, secretAccessKey: true, sessionToken: true }
const ELEVENLABS: Keys<LLMRTCProviderElevenLabsOptions> = { apiKey: true, baseURL: true, tts: true, stt: true }
const ELEVENLABS_TTS: Keys<Omit<ElevenLabsTTSOptions, keyof ElevenLabsConnectionOptions>> = {
  model: true,
  voiceId: true,
  language: true,
  sampleRateHz: true,
  voiceSettings: true,
  contextIdleMs: true,
  maxContextsPerSocket: true,
  connectTimeoutMs: true,
  requestTimeoutMs: true,
  sentenceQuietMs: true,
  retries: true,
  retryDelayMs: true
}
const ELEVENLABS_STT: Keys<Omit<ElevenLabsSTTOptions, keyof ElevenLabsConnectionOptions>> = {
  model: true,
  realtimeModel: true,
  language: true,
  connectTimeoutMs: true,
  commitTimeoutMs: true,
  requestTimeoutMs: true,
  maxRetries: true,
  retryBaseDelayMs: true
}
const LOCAL: Keys<LLMRTCLocalOptions> = { env: true, espeak: true, pocketsphinx: true }
const ESPEAK: Keys<EspeakTTSOptions> = { binary: true, voice: true, rateWpm: true, pitch: true }
const POCKETSPHINX: Keys<PocketsphinxSTTOptions> = { binary: true, phrases: true, grammar: true, grammarFile: true, describeNoMatch: true, dictionary: true }

const TOP = { openai: OPENAI, deepgram: DEEPGRAM, cartesia: CARTESIA, local: LOCAL, gemini: GEMINI, piper: PIPER, anthropic: ANTHROPIC, bedrock: BEDROCK, elevenlabs: ELEVENLABS }
const NESTED: Record<keyof typeof TOP, Record<string, Record<string, true>>> = {
  openai: OPENAI_ROLES,
  deepgram: {},
  cartesia: {},
  local: { espeak: ESPEAK, pocketsphinx: POCKETSPHINX },
  gemini: {},
  piper: {},
  anthropic: {},
  bedrock: { credentials: BEDROCK_CREDENTIALS },
  elevenlabs: { tts: ELEVENLABS_TTS, stt: ELEVENLABS_STT }
}

/** The provider plugins whose options the umbrella passes through, by the umbrella's key. */
export type ProviderOptionsKey = keyof typeof TOP

/**
 * Refuses unknown keys in a provider plugin's options and their nested objects, named with `path`
 * (`openai.` through the umbrella). Throws LLMRTC_ERR_OPTIONS_UNKNOWN.
 */
export function refuseUnknownProviderKeys (provider: ProviderOptionsKey, opts: unknown, path = ''): void {
  // Through the umbrella, the local plugin's environment is the umbrella's own `env`.
  const known = Object.keys(TOP[provider]).filter(key => path === '' || provider !== 'local' || key !== 'env')
  // Registered on its own, a plugin also gets the options Fastify's `register` takes for itself.
  refuseUnknownKeys(opts, path === '' ? [...known, ...FASTIFY_REGISTER_OPTION_KEYS] : known, path)
  if (opts === null || typeof opts !== 'object') return
  for (const [key, keys] of Object.entries(NESTED[provider])) {
    refuseUnknownKeys((opts as Record<string, unknown>)[key], Object.keys(keys), `${path}${key}.`)
  }
}
