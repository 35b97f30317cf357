import type { FastifyInstance, FastifyRequest, RegisterOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { LLMRTCOptions } from '../../lib/config/options.js'
import type { AuthenticateResult } from '../../lib/config/security-options.js'
import llmrtcConfig from '../config/index.js'
import llmrtcCors from '../cors/index.js'
import llmrtcDevice, { type LLMRTCDeviceOptions } from '../device/index.js'
import llmrtcDemoPage from '../demo-page/index.js'
import llmrtcDrain from '../drain/index.js'
import llmrtcHealth from '../health/index.js'
import llmrtcHooks from '../hooks/index.js'
import llmrtcMetrics, { metricsEnabled, type LLMRTCMetricsOptions } from '../metrics/index.js'
import llmrtcMetricsRoute from '../metrics/route.js'
import llmrtcMcp from '../mcp/index.js'
import llmrtcPipeline from '../pipeline/index.js'
import llmrtcRealtime, { type LLMRTCRealtimeOptions } from '../realtime/index.js'
import llmrtcRecording, { type LLMRTCRecordingOptions } from '../recording/index.js'
import llmrtcProviders from '../providers/index.js'
import llmrtcProviderAnthropic, { type LLMRTCProviderAnthropicOptions } from '../providers/anthropic/index.js'
import llmrtcProviderBedrock, { type LLMRTCProviderBedrockOptions } from '../providers/bedrock/index.js'
import llmrtcProviderCartesia, { type LLMRTCProviderCartesiaOptions } from '../providers/cartesia/index.js'
import llmrtcProviderDeepgram, { type LLMRTCProviderDeepgramOptions } from '../providers/deepgram/index.js'
import llmrtcProviderElevenLabs, { type LLMRTCProviderElevenLabsOptions } from '../providers/elevenlabs/index.js'
import llmrtcProviderGemini, { type LLMRTCProviderGeminiOptions } from '../providers/gemini/index.js'
import llmrtcProviderLocal, { type LLMRTCLocalOptions } from '../providers/local/index.js'
import llmrtcProviderOpenAI, { type LLMRTCProviderOpenAIOptions } from '../providers/openai/index.js'
import llmrtcProviderPiper, { type LLMRTCProviderPiperOptions } from '../providers/piper/index.js'
import llmrtcRateLimit from '../rate-limit/index.js'
import llmrtcSessions from '../sessions/index.js'
import llmrtcSignaling from '../signaling/index.js'
import llmrtcSignalingRoute, { ensureWebSocket } from '../signaling/route.js'
import llmrtcTelephony, { type LLMRTCTelephonyOptions } from '../telephony/index.js'
import llmrtcTracing from '../tracing/index.js'
import llmrtcVad, { refuseVadOffWithWebRTC, type LLMRTCVadOptions } from '../vad/index.js'
import llmrtcWebRTC, { type LLMRTCWebRTCOptions } from '../webrtc/index.js'
import { refuseUnknownPluginKeys } from './option-keys.js'
import { shareWebSocket } from './shared-websocket.js'

/** Options of the umbrella plugin: llmrtc's options plus those of the media plugins. */
export interface LLMRTCPluginOptions extends LLMRTCOptions {
  /** Authenticates each WebSocket upgrade (see LLMRTCOptions.authenticate), with Fastify's request. */
  authenticate? (request: FastifyRequest): AuthenticateResult | Promise<AuthenticateResult>
  /** Options of the WebRTC transport, or false to run without WebRTC (WebSocket audio only). */
  webrtc?: LLMRTCWebRTCOptions | false
  /**
   * Server-wide speech segmentation (thresholds and durations in ms) and the VAD model file; or false: no
   * VAD and no model load, for apps that take audio only as WebSocket `audio` messages (needs `webrtc: false`).
   */
  vad?: LLMRTCVadOptions | false
  /** Serve the small voice page on `GET <path>` behind `prefix` (default true; false for production APIs). */
  demoPage?: boolean
  /** Prometheus metrics on `GET /metrics` behind `prefix` (default on, or env METRICS); false turns them off. Keep the route private. */
  metrics?: LLMRTCMetricsOptions | false
  /** OpenTelemetry spans per turn through @opentelemetry/api (default true; no-ops until your app registers an SDK). */
  tracing?: boolean
  /** Options of the OpenAI provider plugin (key, base URL, models); each wins over its OPENAI_* variable. */
  openai?: LLMRTCProviderOpenAIOptions
  /** Options of the Deepgram provider plugin (key, models, timeouts); each wins over its DEEPGRAM_* variable. */
  deepgram?: LLMRTCProviderDeepgramOptions
  /** Options of the Cartesia provider plugin (key, model, voice, timeouts); each wins over its CARTESIA_* variable. */
  cartesia?: LLMRTCProviderCartesiaOptions
  /** Options of the Google Gemini LLM plugin (key, base URL, model, retries); each wins over its GEMINI_* variable. */
  gemini?: LLMRTCProviderGeminiOptions
  /** Options of the Piper TTS plugin (server URL, API, voice, speaker, scales); `url` and `voice` win over PIPER_URL and PIPER_VOICE. */
  piper?: LLMRTCProviderPiperOptions
  /** Options of the Anthropic Claude LLM plugin (key, base URL, model, max tokens, prompt caching); each wins over its ANTHROPIC_* variable. */
  anthropic?: LLMRTCProviderAnthropicOptions
  /**
   * Options of the Amazon Bedrock LLM plugin (model or inference profile, region, credentials, endpoint, retries);
   * `model` wins over BEDROCK_MODEL, `region` over BEDROCK_REGION / AWS_REGION, `credentials` over AWS_*.
   */
  bedrock?: LLMRTCProviderBedrockOptions
  /** Options of the ElevenLabs plugin (`apiKey`, `baseURL`, the TTS's `tts: { model, voiceId, language, ... }`, Scribe STT's `stt: { model, realtimeModel, language, ... }`); each wins over its ELEVENLABS_* variable. */
  elevenlabs?: LLMRTCProviderElevenLabsOptions
  /**
   * Speech-to-speech relay mode (docs/realtime.md): `{ provider: 'openai', model, voice, instructions, tools,
   * budget, ... }`; each wins over its REALTIME_* variable. Off unless a provider is given (or REALTIME_PROVIDER).
   */
  realtime?: LLMRTCRealtimeOptions
  /** Options of the local providers (espeak-ng, pocketsphinx); they win over ESPEAK_* and POCKETSPHINX_*. */
  local?: Omit<LLMRTCLocalOptions, 'env'>
  /**
   * Phone calls through Twilio, Telnyx and Plivo (docs/telephony.md): `{ twilio: { authToken, accountSid },
   * telnyx: { publicKey }, plivo: { authToken }, publicUrl, webhookPath, streamPath }`; each wins over
   * TWILIO_*, TELNYX_PUBLIC_KEY, PLIVO_AUTH_TOKEN and TELEPHONY_PUBLIC_URL. Each carrier is on when its
   * secret is given; off when none is.
   */
  telephony?: LLMRTCTelephonyOptions
  /**
   * Devices streaming audio over a WebSocket of their own (docs/protocol.md, "Device audio over WebSocket"):
   * `{ path }` (default '/device'). Off unless given.
   */
  device?: LLMRTCDeviceOptions | false
  /**
   * Records sessions (docs/recording.md): stereo audio to a `directory` or a `sink`, and a JSON transcript per
   * session to `onSessionEnd`; `{ sessions, audio, format, sampleRateHz, shouldRecord, redactToolCall, redact, ... }`.
   * Off unless given.
   */
  recording?: LLMRTCRecordingOptions | false
}

/**
 * The umbrella plugin: `fastify.register(llmrtc, opts)` adds the whole voice server (signaling
 * WebSocket, sessions, providers, hooks, WebRTC, VAD, the turn pipeline and `/health`) to any Fastify
 * app, beside its own routes. Options are validated here, so a bad option fails `ready()`.
 *
 * Like the official plugins, two parts: the decorators and hooks (fastify-plugin, visible to the app), and
 * llmrtc's routes in an encapsulated context that honours Fastify's `prefix` option, so its CORS, rate
 * limit and WebSocket hooks touch only llmrtc's routes.
 */
async function llmrtc (fastify: FastifyInstance, opts: LLMRTCPluginOptions): Promise<void> {
  refuseUnknownPluginKeys(opts)
  refuseVadOffWithWebRTC(opts.vad, opts.webrtc !== false)
  const { realtime, webrtc, vad, demoPage, metrics, tracing, openai, deepgram, cartesia, local, gemini, piper, anthropic, bedrock, elevenlabs, telephony, device, recording, ...options } = opts
  await fastify.register(llmrtcConfig, options)
  await fastify.register(llmrtcHooks)
  await fastify.register(llmrtcProviders)
  // Registration order is the order keys are tried in (docs/providers.md): Cartesia, Deepgram, OpenAI.
  // First: PIPER_URL names a TTS server and serves nothing else, so it wins over cloud keys set for other roles.
  await fastify.register(llmrtcProviderPiper, piper ?? {})
  await fastify.register(llmrtcProviderCartesia, cartesia ?? {})
  // After Cartesia, before Deepgram and OpenAI: an ElevenLabs key is there for its voice.
  await fastify.register(llmrtcProviderElevenLabs, elevenlabs ?? {})
  await fastify.register(llmrtcProviderDeepgram, deepgram ?? {})
  // Before OpenAI: a Gemini key serves only the LLM, so with both keys Gemini answers and OpenAI speaks and listens.
  await fastify.register(llmrtcProviderGemini, gemini ?? {})
  // Also before OpenAI, for the same reason: an Anthropic key serves only the LLM.
  await fastify.register(llmrtcProviderAnthropic, anthropic ?? {})
  // And Bedrock: BEDROCK_MODEL (or its model option) names an LLM only.
  await fastify.register(llmrtcProviderBedrock, bedrock ?? {})
  await fastify.register(llmrtcProviderOpenAI, openai ?? {})
  // Installed local engines (espeak-ng, pocketsphinx) serve when no key does.
  await fastify.register(llmrtcProviderLocal, { ...local, env: options.env ?? false })
  await fastify.register(llmrtcSessions)
  await fastify.register(llmrtcSignaling, { route: false })
  if (webrtc !== false) await fastify.register(llmrtcWebRTC, webrtc ?? {})
  if (vad !== false) await fastify.register(llmrtcVad, vad ?? {})
  await fastify.register(llmrtcPipeline)
  // After the pipeline: MCP servers' tools join its server tools and playbook stages.
  await fastify.register(llmrtcMcp)
  // After the pipeline, before the phone and device transports: it records the media of each.
  if (recording !== undefined && recording !== false) await fastify.register(llmrtcRecording, recording)
  // After the pipeline: the relay takes the media and messages of the sessions it serves.
  await fastify.register(llmrtcRealtime, realtime ?? {})
  await fastify.register(llmrtcDrain)
  const metricsOn = metrics !== false && metricsEnabled(metrics, fastify.llmrtcEnv)
  if (metricsOn) await fastify.register(llmrtcMetrics, { ...metrics, path: false })
  if (tracing !== false) await fastify.register(llmrtcTracing)

  // llmrtc's routes, behind `prefix`.
  const { prefix } = opts as RegisterOptions
  const upgradeListeners = fastify.server.listeners('upgrade')
  let routes!: FastifyInstance
  await fastify.register(async function llmrtcRoutes (child) {
    routes = child
    // @fastify/websocket, CORS and the HTTP rate limit first: their hooks are this context's, so they run
    // on llmrtc's routes only, and a route takes the hooks added before it.
    await ensureWebSocket(child)
    await child.register(llmrtcCors)
    await child.register(llmrtcRateLimit)
    await child.register(llmrtcSignalingRoute)
    await child.register(llmrtcHealth)
    if (metricsOn) await child.register(llmrtcMetricsRoute, { path: metrics?.path })
    if (demoPage !== false) await child.register(llmrtcDemoPage)
    await child.register(llmrtcTelephony, telephony ?? {})
    if (device !== undefined && device !== false) await child.register(llmrtcDevice, device)
  }, { prefix })
  fastify.addHook('onReady', shareWebSocket(fastify, routes, upgradeListeners))
}

export default fp(llmrtc, {
  name: 'llmrtc',
  fastify: '5.x'
})
