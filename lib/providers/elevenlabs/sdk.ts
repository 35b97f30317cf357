import type * as ElevenLabsSDKModule from '@elevenlabs/elevenlabs-js'
import type { ElevenLabsClient } from '@elevenlabs/elevenlabs-js'

/** The `@elevenlabs/elevenlabs-js` module. */
export type ElevenLabsSDK = typeof ElevenLabsSDKModule

let loaded: ElevenLabsSDK | undefined
let loading: Promise<ElevenLabsSDK> | undefined

/**
 * The ElevenLabs SDK, imported on first use. Importing it takes about 2 s of CPU (a large generated
 * client), which every app start and every process that registers llmrtc would otherwise pay, whether it
 * uses ElevenLabs or not.
 */
export async function loadElevenLabsSDK (): Promise<ElevenLabsSDK> {
  loading ??= import('@elevenlabs/elevenlabs-js').then((sdk) => { loaded = sdk; return sdk })
  return await loading
}

/** The SDK once `loadElevenLabsSDK` resolved, else undefined (an error cannot come from the SDK before then). */
export function loadedElevenLabsSDK (): ElevenLabsSDK | undefined {
  return loaded
}

/** One client per provider, created on first use: the SDK's retries are off (their backoff ignores abort signals). */
export function lazyElevenLabsClient (apiKey: string, baseURL: string): () => Promise<ElevenLabsClient> {
  let client: Promise<ElevenLabsClient> | undefined
  return async () => {
    client ??= loadElevenLabsSDK().then(sdk => new sdk.ElevenLabsClient({ apiKey, baseUrl: baseURL.replace(/\/+$/, ''), maxRetries: 0 }))
    return await client
  }
}
