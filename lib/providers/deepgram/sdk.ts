import type * as DeepgramSDKModule from '@deepgram/sdk'
import { lazyModule } from '../lazy-module.js'

/** The `@deepgram/sdk` module. */
export type DeepgramSDK = typeof DeepgramSDKModule

const sdk = lazyModule<DeepgramSDK>(async () => await import('@deepgram/sdk'))

/** The Deepgram SDK, imported on first use (when a Deepgram provider is chosen or first used). */
export const loadDeepgramSDK = sdk.load

/** The SDK once `loadDeepgramSDK` resolved, else undefined (an error cannot come from the SDK before then). */
export const loadedDeepgramSDK = sdk.loaded
