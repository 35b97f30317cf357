import type * as GeminiSDKModule from '@google/genai'
import { lazyModule } from '../lazy-module.js'

/** The `@google/genai` module. */
export type GeminiSDK = typeof GeminiSDKModule

const sdk = lazyModule<GeminiSDK>(async () => await import('@google/genai'))

/** The Google Gen AI SDK, imported on first use (when a Gemini provider is chosen or first used). */
export const loadGeminiSDK = sdk.load

/** The SDK once `loadGeminiSDK` resolved, else undefined (an error cannot come from the SDK before then). */
export const loadedGeminiSDK = sdk.loaded
