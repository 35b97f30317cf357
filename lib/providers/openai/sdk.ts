import type * as OpenAISDKModule from 'openai'
import { lazyModule } from '../lazy-module.js'

/** The `openai` module. */
export type OpenAISDK = typeof OpenAISDKModule

const sdk = lazyModule<OpenAISDK>(async () => await import('openai'))

/** The OpenAI SDK, imported on first use (when an OpenAI provider is chosen or first used). */
export const loadOpenAISDK = sdk.load

/** The SDK once `loadOpenAISDK` resolved, else undefined (an error cannot come from the SDK before then). */
export const loadedOpenAISDK = sdk.loaded
