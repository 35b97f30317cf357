import type * as CartesiaSDKModule from '@cartesia/cartesia-js'
import { lazyModule } from '../lazy-module.js'

/** The `@cartesia/cartesia-js` module. */
export type CartesiaSDK = typeof CartesiaSDKModule

const sdk = lazyModule<CartesiaSDK>(async () => await import('@cartesia/cartesia-js'))

/** The Cartesia SDK (REST synthesis only; the WebSocket is llmrtc's own), imported on first use (when a Cartesia provider is chosen or first used). */
export const loadCartesiaSDK = sdk.load

/** The SDK once `loadCartesiaSDK` resolved, else undefined (an error cannot come from the SDK before then). */
export const loadedCartesiaSDK = sdk.loaded
