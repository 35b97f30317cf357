export { AnthropicStreamError } from './anthropic-errors.js'
export { AnthropicLLM, ANTHROPIC_DEFAULT_MODEL, type AnthropicLLMOptions } from './anthropic-llm.js'
export { ANTHROPIC_DEFAULT_BASE_URL, createAnthropicClient, type AnthropicClientOptions } from './client.js'
export { ANTHROPIC_NO_SAMPLING_MODELS } from './messages-request.js'
