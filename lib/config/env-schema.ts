/**
 * Environment variables llmrtc reads, as the JSON schema @fastify/env validates and coerces them with.
 * docs/configuration.md documents each one; test/lib/config.test.ts keeps the two in sync.
 */
export const envSchema = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, description: 'Port the standalone server listens on (default 8787).' },
    HOST: { type: 'string', description: 'Address the standalone server binds (default 127.0.0.1).' },
    WORKERS: { type: 'string', description: 'Processes of the standalone server sharing its port: a number, or auto (one per core; default 1).' },
    LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'pino log level of the standalone server (default info).' },
    SYSTEM_PROMPT: { type: 'string', description: 'System prompt pinned at the start of every conversation.' },
    HISTORY_LIMIT: { type: 'integer', minimum: 0, description: 'Non-system messages kept per conversation (default 20).' },
    STREAMING_TTS: { type: 'boolean', description: 'Speak sentence by sentence while the LLM streams (default true).' },
    STREAMING_STT: { type: 'boolean', description: 'Use the STT provider\'s streaming mode when it has one (default true).' },
    ICE_SERVERS: { type: 'string', description: 'ICE servers sent to clients: a JSON array of RTCIceServer, or comma-separated URLs.' },
    TURN_SECRET: { type: 'string', description: 'coturn REST API shared secret (static-auth-secret): each ready carries fresh TURN credentials (secret: never logged).' },
    TURN_URLS: { type: 'string', description: 'TURN URLs for the generated credentials, comma-separated (turn: or turns:).' },
    TURN_TTL_SECONDS: { type: 'integer', minimum: 60, description: 'Lifetime of generated TURN credentials in seconds (default 86400).' },
    SIGNALING_PATH: { type: 'string', description: 'Path of the signaling WebSocket (default /).' },
    METRICS: { type: 'boolean', description: 'Serve Prometheus metrics (default true; the metrics option wins).' },
    METRICS_PATH: { type: 'string', description: 'Path of the Prometheus metrics route (default /metrics).' },
    SESSION_TTL_MS: { type: 'integer', minimum: 1, description: 'A session idle for this long expires (default 1800000, 30 min).' },
    RECONNECT_GRACE_MS: { type: 'integer', minimum: 0, description: 'A disconnected session is kept this long for reconnect (default 120000).' },
    MAX_SESSIONS: { type: 'integer', minimum: 1, description: 'Most sessions held at once (default 100).' },
    MAX_SESSIONS_PER_CLIENT: { type: 'integer', minimum: 0, description: 'Sessions one client holds at once: per principal when authenticated, else per IP (default 10; 0: no limit).' },
    MAX_MESSAGES_PER_SECOND: { type: 'integer', minimum: 0, description: 'Client messages accepted per second on one connection (default 50; 0: no limit).' },
    MESSAGE_BURST: { type: 'integer', minimum: 1, description: 'Client messages accepted in a row before MAX_MESSAGES_PER_SECOND applies (default 100).' },
    MAX_AUDIO_BYTES: { type: 'integer', minimum: 1024, description: 'Largest base64 data of an audio message in bytes (default 3145728, 3 MiB).' },
    MAX_AUDIO_MS: { type: 'integer', minimum: 1000, description: 'Longest utterance in an audio message, in ms (default 60000).' },
    RATE_LIMIT_MAX: { type: 'integer', minimum: 0, description: 'HTTP requests per minute per IP on llmrtc\'s routes and WebSocket upgrades (default 100; 0: no limit).' },
    ALLOWED_ORIGINS: { type: 'string', description: 'Origins allowed to open the WebSocket, comma-separated, or * (default *); also enables CORS for them.' },
    JWT_SECRET: { type: 'string', description: 'Turns on bearer JWT authentication of the WebSocket: the HMAC secret or PEM public key (secret: never logged).' },
    JWT_ISSUER: { type: 'string', description: 'Accepted JWT issuers (iss), comma-separated (default any).' },
    JWT_AUDIENCE: { type: 'string', description: 'Accepted JWT audiences (aud), comma-separated (default any).' },
    TRUST_PROXY: { type: 'string', description: 'Standalone server: trust X-Forwarded-For from these proxies: true (any), or comma-separated addresses/CIDRs (default false).' },
    REDIS_URL: { type: 'string', description: 'Keep session records in this Redis (redis:// or rediss://), shared by every server, so a client can resume on any of them (secret: never logged).' },
    REDIS_KEY_PREFIX: { type: 'string', description: 'Namespace of llmrtc\'s Redis keys; records live at <prefix>session:<id> (default llmrtc:).' },
    HEARTBEAT_TIMEOUT_MS: { type: 'integer', minimum: 1, description: 'A connection silent for this long is closed (default 45000).' },
    MAX_MESSAGE_BYTES: { type: 'integer', minimum: 1024, description: 'Largest accepted WebSocket message (default 4194304, 4 MiB).' },
    DRAIN_TIMEOUT_MS: { type: 'integer', minimum: 0, description: 'How long a drain (SIGTERM) waits for turns in progress before closing (default 30000).' },
    INTERRUPTION_MODE: { type: 'string', enum: ['pause', 'confirm', 'off'], description: 'What speech over the answer does: pause it at once and cancel on words (pause, default), cancel on words only (confirm), nothing (off).' },
    TURN_DETECTION: { type: 'boolean', description: 'Adaptive end of turn: wait less after a finished sentence, longer after an unfinished one (default true).' },
    PREEMPTIVE: { type: 'boolean', description: 'Start the LLM\'s answer while the user pauses (default true).' },
    NOISE_SUPPRESSION: { type: 'boolean', description: 'RNNoise on the microphone before the VAD: the VAD and the STT get denoised audio (default false; the noiseSuppression option wins).' },
    GREETING: { type: 'string', description: 'What the assistant says when a session\'s media is up (default none).' },
    USER_IDLE_MS: { type: 'integer', minimum: 1000, description: 'Silence before the assistant asks "Are you still there?"; after two prompts the session ends (default off).' },
    PLAYBOOK: { type: 'string', description: 'Path of a JavaScript module exporting a playbook (default export or `playbook`), loaded at start (docs/playbooks.md).' },
    MAX_TOOL_ROUNDS: { type: 'integer', minimum: 1, description: 'Most LLM rounds that may call tools in one turn before the spoken answer (default 5).' },
    TOOL_TIMEOUT_MS: { type: 'integer', minimum: 1, description: 'Deadline of one tool call, for tools without their own (default 10000).' },
    LLM_PROVIDER: { type: 'string', description: 'LLM provider by name (default: chosen from the keys present, else the built-in assistant).' },
    STT_PROVIDER: { type: 'string', description: 'STT provider by name (default: chosen from the keys present, else the built-in one).' },
    TTS_PROVIDER: { type: 'string', description: 'TTS provider by name (default: chosen from the keys present, else the built-in one).' },
    LOCAL_ONLY: { type: 'boolean', description: 'Only providers that run on this machine: espeak-ng, pocketsphinx, OpenAI-compatible servers at a local OPENAI_BASE_URL, else the built-in ones; never a cloud key (default false).' },
    ESPEAK_VOICE: { type: 'string', description: 'espeak-ng voice of the espeak TTS (default en-us; espeak-ng --voices lists them).' },
    ESPEAK_RATE: { type: 'integer', minimum: 80, maximum: 450, description: 'espeak-ng speaking rate in words per minute (default 175).' },
    POCKETSPHINX_GRAMMAR: { type: 'string', description: 'What pocketsphinx listens for: assistant (the built-in assistant\'s phrases, default), open (open vocabulary, inaccurate) or the path of a JSGF .gram file.' },
    POCKETSPHINX_PHRASES: { type: 'string', description: 'Phrases pocketsphinx listens for, separated by | (overrides POCKETSPHINX_GRAMMAR).' },
    OPENAI_API_KEY: { type: 'string', description: 'OpenAI key (secret: never logged).' },
    DEEPGRAM_API_KEY: { type: 'string', description: 'Deepgram key (secret: never logged).' },
    CARTESIA_API_KEY: { type: 'string', description: 'Cartesia key (secret: never logged).' },
    OPENAI_BASE_URL: { type: 'string', description: 'Base URL of an OpenAI-compatible API (Ollama, LM Studio, vLLM, llama.cpp, OpenRouter, Groq; default https://api.openai.com/v1).' },
    OPENAI_MODEL: { type: 'string', description: 'OpenAI chat model for the LLM (default gpt-4o-mini).' },
    OPENAI_STT_MODEL: { type: 'string', description: 'OpenAI transcription model: whisper-1, gpt-4o-transcribe or gpt-4o-mini-transcribe (default gpt-4o-mini-transcribe); also the model of the openai-realtime STT (STT_PROVIDER=openai-realtime).' },
    OPENAI_TTS_MODEL: { type: 'string', description: 'OpenAI speech model: tts-1, tts-1-hd or gpt-4o-mini-tts (default gpt-4o-mini-tts).' },
    OPENAI_TTS_VOICE: { type: 'string', description: 'OpenAI voice (default alloy).' },
    OPENAI_TTS_INSTRUCTIONS: { type: 'string', description: 'How gpt-4o-mini-tts should speak (tone, pace).' },
    DEEPGRAM_BASE_URL: { type: 'string', description: 'Base URL of the Deepgram API (default https://api.deepgram.com; the live WebSocket uses the same host).' },
    DEEPGRAM_MODEL: { type: 'string', description: 'Deepgram STT model (default nova-3).' },
    DEEPGRAM_LANGUAGE: { type: 'string', description: 'Deepgram STT language (default en).' },
    DEEPGRAM_TTS_MODEL: { type: 'string', description: 'Deepgram Aura voice model for TTS (default aura-2-thalia-en).' },
    CARTESIA_BASE_URL: { type: 'string', description: 'Base URL of the Cartesia API (default https://api.cartesia.ai; the TTS WebSocket uses the same host).' },
    CARTESIA_MODEL: { type: 'string', description: 'Cartesia TTS model (default sonic-2).' },
    CARTESIA_VOICE_ID: { type: 'string', description: 'Cartesia voice id.' },
    CARTESIA_LANGUAGE: { type: 'string', description: 'Cartesia language (default en).' },
    ELEVENLABS_API_KEY: { type: 'string', description: 'ElevenLabs key, for Scribe STT and ElevenLabs TTS (secret: never logged).' },
    TWILIO_AUTH_TOKEN: { type: 'string', description: 'Twilio auth token: turns phone calls on, and checks the voice webhook\'s X-Twilio-Signature (secret: never logged).' },
    TWILIO_ACCOUNT_SID: { type: 'string', description: 'Twilio account SID: when set, webhooks of other accounts are refused.' },
    TELNYX_PUBLIC_KEY: { type: 'string', description: 'Telnyx webhook public key (base64 ed25519, Mission Control): turns Telnyx phone calls on, and checks the TeXML webhook\'s telnyx-signature-ed25519.' },
    TELNYX_API_KEY: { type: 'string', description: 'Telnyx API key: with TELNYX_ACCOUNT_SID, call control of Telnyx calls (end_call, transfer_call, outbound calls) through the TeXML REST API (secret: never logged).' },
    TELNYX_ACCOUNT_SID: { type: 'string', description: 'Telnyx account id (the AccountSid of TeXML webhooks): TeXML REST calls are named under it; needed for Telnyx call control.' },
    TELNYX_APPLICATION_ID: { type: 'string', description: 'Telnyx TeXML application id: outbound Telnyx calls are placed through it.' },
    PLIVO_AUTH_TOKEN: { type: 'string', description: 'Plivo auth token: turns Plivo phone calls on, and checks the answer webhook\'s X-Plivo-Signature-V3 (secret: never logged).' },
    PLIVO_AUTH_ID: { type: 'string', description: 'Plivo auth id: with PLIVO_AUTH_TOKEN, call control of Plivo calls (end_call, transfer_call, outbound calls) through the Voice REST API.' },
    TELEPHONY_PUBLIC_URL: { type: 'string', description: 'Public origin the carrier reaches this server at (https://...; behind a proxy or tunnel, its address): signed webhook URLs and the media WebSocket URL are built from it.' },
    ELEVENLABS_BASE_URL: { type: 'string', description: 'Base URL of the ElevenLabs API (default https://api.elevenlabs.io; the WebSockets use the same host).' },
    ELEVENLABS_STT_MODEL: { type: 'string', description: 'ElevenLabs Scribe batch model (default scribe_v1; streaming uses scribe_v2_realtime).' },
    ELEVENLABS_LANGUAGE: { type: 'string', description: 'ElevenLabs language code, ISO-639-1 or -3 (default: detected by Scribe / chosen by the TTS model).' },
    ELEVENLABS_MODEL: { type: 'string', description: 'ElevenLabs TTS model (default eleven_flash_v2_5).' },
    ELEVENLABS_VOICE_ID: { type: 'string', description: 'ElevenLabs TTS voice id (default EXAVITQu4vr4xnSDxMaL, a premade voice).' },
    PIPER_URL: { type: 'string', description: 'URL of a Piper HTTP server (python3 -m piper.http_server, e.g. http://127.0.0.1:5000); setting it selects Piper for TTS.' },
    PIPER_VOICE: { type: 'string', description: 'Piper voice name, e.g. en_US-lessac-medium (default: the server\'s -m voice).' },
    GEMINI_API_KEY: { type: 'string', description: 'Google Gemini API key (secret: never logged).' },
    GOOGLE_API_KEY: { type: 'string', description: 'Alias of GEMINI_API_KEY, read when GEMINI_API_KEY is unset (secret: never logged).' },
    GEMINI_BASE_URL: { type: 'string', description: 'Base URL of the Gemini API, without the version (default https://generativelanguage.googleapis.com).' },
    GEMINI_MODEL: { type: 'string', description: 'Gemini model for the LLM (default gemini-2.5-flash).' },
    ANTHROPIC_API_KEY: { type: 'string', description: 'Anthropic key for the Claude LLM (secret: never logged).' },
    ANTHROPIC_BASE_URL: { type: 'string', description: 'Base URL of the Anthropic API, without /v1 (default https://api.anthropic.com).' },
    ANTHROPIC_MODEL: { type: 'string', description: 'Claude model for the LLM (default claude-sonnet-4-5).' },
    BEDROCK_MODEL: { type: 'string', description: 'Amazon Bedrock model id, inference profile id (us.anthropic.claude-...) or ARN for the LLM; setting it selects Bedrock.' },
    BEDROCK_REGION: { type: 'string', description: 'AWS region of the Bedrock runtime (default AWS_REGION, then the AWS profile\'s region).' },
    AWS_REGION: { type: 'string', description: 'AWS region, for Bedrock when BEDROCK_REGION is unset.' },
    AWS_PROFILE: { type: 'string', description: 'Named profile of the AWS shared config files, for Bedrock\'s credentials and region.' },
    AWS_ACCESS_KEY_ID: { type: 'string', description: 'AWS access key id for Bedrock (default: the AWS default credential chain).' },
    AWS_SECRET_ACCESS_KEY: { type: 'string', description: 'AWS secret access key for Bedrock (secret: never logged).' },
    AWS_SESSION_TOKEN: { type: 'string', description: 'AWS session token of temporary credentials for Bedrock (secret: never logged).' },
    REALTIME_PROVIDER: { type: 'string', enum: ['openai', 'gemini'], description: 'Speech-to-speech relay mode with this realtime model provider (openai: the OpenAI Realtime API, with OPENAI_API_KEY; gemini: the Gemini Live API, with GEMINI_API_KEY or GOOGLE_API_KEY); unset: the pipeline.' },
    REALTIME_MODEL: { type: 'string', description: 'Realtime model of the relay (default gpt-realtime; Gemini: gemini-2.5-flash-native-audio-preview-12-2025).' },
    REALTIME_VOICE: { type: 'string', description: 'Voice of the realtime model (default marin; Gemini: Puck).' },
    REALTIME_INSTRUCTIONS: { type: 'string', description: 'Instructions of the realtime model (default SYSTEM_PROMPT).' },
    REALTIME_MAX_SESSION_MS: { type: 'integer', minimum: 1000, description: 'Longest relay session in ms; then BUDGET_EXCEEDED (default: no limit).' },
    REALTIME_MAX_TOKENS: { type: 'integer', minimum: 1, description: 'Most tokens one relay session may use; then BUDGET_EXCEEDED (default: no limit).' },
    REALTIME_BUDGET_ACTION: { type: 'string', enum: ['warn', 'end-session'], description: 'What a relay session over its budget does: end-session (default) or warn.' },
    REALTIME_TURN_DETECTION: { type: 'string', enum: ['server_vad', 'semantic_vad', 'llmrtc'], description: 'Who takes the turns in relay mode: the provider\'s server_vad (default) or semantic_vad (OpenAI), or llmrtc (our Silero VAD; the provider\'s is off).' }
  }
} as const

export type EnvName = keyof typeof envSchema.properties

/** The environment after @fastify/env has validated and coerced it. */
export interface LLMRTCEnv {
  PORT?: number
  HOST?: string
  WORKERS?: string
  LOG_LEVEL?: string
  SYSTEM_PROMPT?: string
  HISTORY_LIMIT?: number
  STREAMING_TTS?: boolean
  STREAMING_STT?: boolean
  ICE_SERVERS?: string
  TURN_SECRET?: string
  TURN_URLS?: string
  TURN_TTL_SECONDS?: number
  SIGNALING_PATH?: string
  METRICS?: boolean
  METRICS_PATH?: string
  SESSION_TTL_MS?: number
  RECONNECT_GRACE_MS?: number
  MAX_SESSIONS?: number
  MAX_SESSIONS_PER_CLIENT?: number
  MAX_MESSAGES_PER_SECOND?: number
  MESSAGE_BURST?: number
  MAX_AUDIO_BYTES?: number
  MAX_AUDIO_MS?: number
  RATE_LIMIT_MAX?: number
  ALLOWED_ORIGINS?: string
  JWT_SECRET?: string
  JWT_ISSUER?: string
  JWT_AUDIENCE?: string
  TRUST_PROXY?: string
  REDIS_URL?: string
  REDIS_KEY_PREFIX?: string
  HEARTBEAT_TIMEOUT_MS?: number
  MAX_MESSAGE_BYTES?: number
  DRAIN_TIMEOUT_MS?: number
  INTERRUPTION_MODE?: 'pause' | 'confirm' | 'off'
  TURN_DETECTION?: boolean
  PREEMPTIVE?: boolean
  NOISE_SUPPRESSION?: boolean
  GREETING?: string
  USER_IDLE_MS?: number
  PLAYBOOK?: string
  MAX_TOOL_ROUNDS?: number
  TOOL_TIMEOUT_MS?: number
  LLM_PROVIDER?: string
  STT_PROVIDER?: string
  TTS_PROVIDER?: string
  LOCAL_ONLY?: boolean
  ESPEAK_VOICE?: string
  ESPEAK_RATE?: number
  POCKETSPHINX_GRAMMAR?: string
  POCKETSPHINX_PHRASES?: string
  OPENAI_API_KEY?: string
  DEEPGRAM_API_KEY?: string
  CARTESIA_API_KEY?: string
  OPENAI_BASE_URL?: string
  OPENAI_MODEL?: string
  OPENAI_STT_MODEL?: string
  OPENAI_TTS_MODEL?: string
  OPENAI_TTS_VOICE?: string
  OPENAI_TTS_INSTRUCTIONS?: string
  DEEPGRAM_BASE_URL?: string
  DEEPGRAM_MODEL?: string
  DEEPGRAM_LANGUAGE?: string
  DEEPGRAM_TTS_MODEL?: string
  CARTESIA_BASE_URL?: string
  CARTESIA_MODEL?: string
  CARTESIA_VOICE_ID?: string
  CARTESIA_LANGUAGE?: string
  ELEVENLABS_API_KEY?: string
  TWILIO_AUTH_TOKEN?: string
  TWILIO_ACCOUNT_SID?: string
  TELNYX_PUBLIC_KEY?: string
  TELNYX_API_KEY?: string
  TELNYX_ACCOUNT_SID?: string
  TELNYX_APPLICATION_ID?: string
  PLIVO_AUTH_TOKEN?: string
  PLIVO_AUTH_ID?: string
  TELEPHONY_PUBLIC_URL?: string
  ELEVENLABS_BASE_URL?: string
  ELEVENLABS_STT_MODEL?: string
  ELEVENLABS_LANGUAGE?: string
  ELEVENLABS_MODEL?: string
  ELEVENLABS_VOICE_ID?: string
  PIPER_URL?: string
  PIPER_VOICE?: string
  GEMINI_API_KEY?: string
  GOOGLE_API_KEY?: string
  GEMINI_BASE_URL?: string
  GEMINI_MODEL?: string
  ANTHROPIC_API_KEY?: string
  ANTHROPIC_BASE_URL?: string
  ANTHROPIC_MODEL?: string
  BEDROCK_MODEL?: string
  BEDROCK_REGION?: string
  AWS_REGION?: string
  AWS_PROFILE?: string
  AWS_ACCESS_KEY_ID?: string
  AWS_SECRET_ACCESS_KEY?: string
  AWS_SESSION_TOKEN?: string
  REALTIME_PROVIDER?: 'openai' | 'gemini'
  REALTIME_MODEL?: string
  REALTIME_VOICE?: string
  REALTIME_INSTRUCTIONS?: string
  REALTIME_MAX_SESSION_MS?: number
  REALTIME_MAX_TOKENS?: number
  REALTIME_BUDGET_ACTION?: 'warn' | 'end-session'
  REALTIME_TURN_DETECTION?: 'server_vad' | 'semantic_vad' | 'llmrtc'
}

/**
 * Variables only the standalone server reads (`LLMRTCServer`, the CLI): the plugin neither reads nor
 * validates them, so a host app's own `LOG_LEVEL=WARN` or `PORT=http` never fails llmrtc's `ready()`.
 */
export const STANDALONE_ENV_NAMES = ['PORT', 'HOST', 'WORKERS', 'LOG_LEVEL', 'TRUST_PROXY'] as const satisfies readonly EnvName[]

/** The variables the plugin reads, when it is given an environment (`env: process.env`). */
export const PLUGIN_ENV_NAMES = (Object.keys(envSchema.properties) as EnvName[]).filter(name => !(STANDALONE_ENV_NAMES as readonly string[]).includes(name))

/** The JSON schema of the plugin's variables only (for @fastify/env). */
export function pluginEnvSchema (): { type: 'object', properties: Partial<typeof envSchema.properties> } {
  const properties: Partial<Record<EnvName, unknown>> = {}
  for (const name of PLUGIN_ENV_NAMES) properties[name] = structuredClone(envSchema.properties[name])
  return { type: 'object', properties: properties as Partial<typeof envSchema.properties> }
}

/** Keeps only the given variables (default: those the plugin reads), so unrelated (and invalid-looking) variables are ignored. */
export function pickKnownEnv (env: Record<string, string | undefined>, names: readonly EnvName[] = PLUGIN_ENV_NAMES): Record<string, string> {
  const known: Record<string, string> = {}
  for (const name of names) {
    const value = env[name]
    if (value !== undefined && value !== '') known[name] = value
  }
  return known
}
