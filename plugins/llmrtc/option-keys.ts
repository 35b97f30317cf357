import { LLMRTC_OPTION_KEYS } from '../../lib/config/option-keys.js'
import type { LLMRTCOptions } from '../../lib/config/options.js'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { METRICS_OPTION_KEYS } from '../metrics/index.js'
import { refuseUnknownProviderKeys } from '../providers/option-keys.js'
import type { LLMRTCVadOptions } from '../vad/index.js'
import { WEBRTC_OPTION_KEYS } from '../webrtc/index.js'
import type { LLMRTCPluginOptions } from './index.js'

/*
 * The umbrella's own option keys, beside those of LLMRTCOptions (lib/config/option-keys.ts). Each list is a
 * Record over its interface's keys: a key added to LLMRTCPluginOptions must be added here (tsc fails until
 * it is), and so must a key of a nested options object.
 */

const UMBRELLA_KEYS: Record<Exclude<keyof LLMRTCPluginOptions, keyof LLMRTCOptions>, true> = {
  webrtc: true,
  realtime: true,
  vad: true,
  demoPage: true,
  metrics: true,
  tracing: true,
  openai: true,
  deepgram: true,
  cartesia: true,
  local: true,
  gemini: true,
  piper: true,
  anthropic: true,
  bedrock: true,
  elevenlabs: true,
  telephony: true,
  device: true,
  recording: true
}

const VAD_KEYS: Record<keyof LLMRTCVadOptions, true> = {
  modelPath: true,
  activationThreshold: true,
  deactivationThreshold: true,
  minSpeechMs: true,
  endOfSpeechSilenceMs: true,
  preSpeechPadMs: true,
  maxSpeechMs: true
}

/** Nested option objects of the umbrella, by their key. */
const NESTED: Record<string, Record<string, true>> = { webrtc: WEBRTC_OPTION_KEYS, vad: VAD_KEYS, metrics: METRICS_OPTION_KEYS }

/** Every key the umbrella plugin takes at its top level, Fastify's own `register` options included. */
export const LLMRTC_PLUGIN_OPTION_KEYS: readonly string[] = [...LLMRTC_OPTION_KEYS, ...Object.keys(UMBRELLA_KEYS), ...FASTIFY_REGISTER_OPTION_KEYS]

/**
 * Refuses unknown keys of the umbrella's options: the top level and the umbrella's nested objects
 * (LLMRTCOptions' own nested objects are checked by the config plugin). Throws LLMRTC_ERR_OPTIONS_UNKNOWN.
 */
export function refuseUnknownPluginKeys (opts: object): void {
  refuseUnknownKeys(opts, LLMRTC_PLUGIN_OPTION_KEYS)
  const given = opts as Record<string, unknown>
  for (const [key, known] of Object.entries(NESTED)) refuseUnknownKeys(given[key], Object.keys(known), `${key}.`)
  for (const provider of ['openai', 'deepgram', 'cartesia', 'local', 'gemini', 'piper', 'anthropic', 'bedrock', 'elevenlabs'] as const) refuseUnknownProviderKeys(provider, given[provider], `${provider}.`)
}
