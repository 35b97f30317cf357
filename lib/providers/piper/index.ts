export { PIPER } from './piper-request.js'
export { PIPER_DEFAULTS, piperOptionsFromEnv, resolvePiperOptions, type PiperApi, type PiperTTSOptions, type ResolvedPiperOptions } from './piper-options.js'
export { PiperTTS, splitSentences } from './piper-tts.js'
