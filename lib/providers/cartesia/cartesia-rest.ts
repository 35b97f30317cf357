import type Cartesia from '@cartesia/cartesia-js'
import type { TTSGenerateParams } from '@cartesia/cartesia-js/resources/tts'
import { once } from '../lazy-module.js'
import type { GenerationFields } from './cartesia-protocol.js'
import { loadCartesiaSDK } from './sdk.js'

/**
 * Whole-utterance synthesis over Cartesia's REST `/tts/bytes`, through the official SDK (its REST
 * client works from the ESM build; only its WebSocket needs `ws`, which that build cannot load on
 * Node 20). Retries (408, 429, 5xx, connection errors) are the SDK's; errors are its APIError
 * subclasses, with `status`. The SDK loads on the first request (or the provider's `init()`).
 */
export class CartesiaREST {
  readonly #client: () => Promise<Cartesia>

  constructor (options: { apiKey: string, baseURL: string, maxRetries: number }) {
    const settings = { apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: options.maxRetries }
    this.#client = once(async () => {
      const { default: Cartesia } = await loadCartesiaSDK()
      return new Cartesia(settings)
    })
  }

  /** Raw PCM s16le (or MP3 when `mp3` is set) for `transcript`. */
  async bytes (fields: GenerationFields, transcript: string, mp3: boolean, signal: AbortSignal | undefined): Promise<Buffer> {
    const sampleRate = fields.output_format.sample_rate
    const body: TTSGenerateParams = {
      model_id: fields.model_id,
      transcript,
      voice: fields.voice,
      output_format: mp3 ? { container: 'mp3', bit_rate: 128000, sample_rate: sampleRate } : fields.output_format,
      language: fields.language as TTSGenerateParams['language']
    }
    if (fields.generation_config !== undefined) body.generation_config = fields.generation_config
    const client = await this.#client()
    const response = await client.tts.generate(body, signal !== undefined ? { signal } : undefined)
    return Buffer.from(await response.arrayBuffer())
  }
}
