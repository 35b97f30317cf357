export { SKIP_THOUGHT_SIGNATURE } from './contents-request.js'
export { GeminiError, type GeminiFailureKind } from './gemini-error.js'
export { GeminiLLM } from './gemini-llm.js'
export { createGeminiClient, geminiOptionsFromEnv, resolveGeminiOptions, GEMINI_DEFAULTS, type GeminiLLMOptions } from './options.js'
