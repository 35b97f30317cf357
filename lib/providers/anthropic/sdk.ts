import type * as AnthropicSDKModule from '@anthropic-ai/sdk'
import { lazyModule } from '../lazy-module.js'

/** The `@anthropic-ai/sdk` module. */
export type AnthropicSDK = typeof AnthropicSDKModule

const sdk = lazyModule<AnthropicSDK>(async () => await import('@anthropic-ai/sdk'))

/** The Anthropic SDK, imported on first use (when an Anthropic provider is chosen or first used). */
export const loadAnthropicSDK = sdk.load

/** The SDK once `loadAnthropicSDK` resolved, else undefined (an error cannot come from the SDK before then). */
export const loadedAnthropicSDK = sdk.loaded
