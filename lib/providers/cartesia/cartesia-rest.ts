import Cartesia from '@cartesia/cartesia-js'
import type { TTSGenerateParams } from '@cartesia/cartesia-js/resources/tts'
import type { GenerationFields } from './cartesia-protocol.js'

/**
 * Whole-utterance synthesis over Cartesia's REST `/tts/bytes`, through the official SDK (its REST
 * client works from the ESM build; only its WebSocket needs `ws`, which that build cannot load on
 * Node 20). Retries (408, 429, 5xx, connection errors) are the SDK's; errors are its APIError
 * subclasses, with `status`.
 */
export class CartesiaREST {
  readonly #client: Cartesia

  constructor (options: { apiKey: string, baseURL: string, maxRetries: number }) {
    this.#client = new Cartesia({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: options.maxRetries })
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
    const response = await this.#client.tts.generate(body, signal !== undefined ? { signal } : undefined)
    return Buffer.from(await response.arrayBuffer())
  }
}
