export { OpenAIRealtimeSTT } from './openai-realtime-stt.js'
export { OPENAI_REALTIME_STT_DEFAULTS, OPENAI_REALTIME_TRANSCRIPTION_MODELS, resolveOpenAIRealtimeSTTOptions, type OpenAIRealtimeSTTOptions, type ResolvedOpenAIRealtimeSTTOptions } from './options.js'
