export { BedrockLLM, type BedrockLLMOptions } from './bedrock-llm.js'
export { createBedrockClient, type BedrockClientOptions, type BedrockCredentials } from './client.js'
export { BedrockError, BEDROCK } from './bedrock-errors.js'
export { converseInput, toBedrockMessages } from './converse-request.js'
