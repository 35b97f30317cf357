import type * as BedrockSDKModule from '@aws-sdk/client-bedrock-runtime'
import { lazyModule } from '../lazy-module.js'

/** The `@aws-sdk/client-bedrock-runtime` module. */
export type BedrockSDK = typeof BedrockSDKModule

const sdk = lazyModule<BedrockSDK>(async () => await import('@aws-sdk/client-bedrock-runtime'))

/** The Bedrock runtime SDK (AWS), imported on first use (when a Bedrock provider is chosen or first used). */
export const loadBedrockSDK = sdk.load

/** The SDK once `loadBedrockSDK` resolved, else undefined (an error cannot come from the SDK before then). */
export const loadedBedrockSDK = sdk.loaded
