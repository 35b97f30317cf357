import { decodeWav, isWav, wavDurationMs } from '../../audio/wav.js'
import type { STTConfig, STTProvider, STTResult } from '../types.js'

/**
 * The honest default when no speech recognizer is configured: it does not invent words, it reports how
 * much speech it heard ("I heard 1.4 seconds of speech, but no speech recognizer is configured.").
 */
export class PlaceholderSTT implements STTProvider {
  readonly name = 'builtin-placeholder-stt'
  readonly streamingInputSampleRate = 16000

  async transcribe (audio: Buffer, config?: STTConfig): Promise<STTResult> {
    config?.signal?.throwIfAborted()
    const durationMs = isWav(audio) ? wavDurationMs(decodeWav(audio)) : 0
    return { text: describe(durationMs), isFinal: true }
  }

  async * transcribeStream (audio: AsyncIterable<Buffer>, config?: STTConfig): AsyncIterable<STTResult> {
    const rate = config?.sampleRateHz ?? this.streamingInputSampleRate
    let bytes = 0
    for await (const chunk of audio) {
      if (config?.signal?.aborted === true) return
      bytes += chunk.length
    }
    yield { text: describe((bytes / 2 / rate) * 1000), isFinal: true }
  }
}

function describe (durationMs: number): string {
  if (durationMs <= 0) return ''
  const seconds = (durationMs / 1000).toFixed(1)
  return `I heard ${seconds} seconds of speech, but no speech recognizer is configured.`
}
