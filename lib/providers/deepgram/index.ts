export { DeepgramSTT } from './deepgram-stt.js'
export { DeepgramTTS } from './deepgram-tts.js'
export { DEEPGRAM_DEFAULTS, deepgramOptionsFromEnv, resolveDeepgramOptions, type DeepgramOptions, type ResolvedDeepgramOptions } from './options.js'
