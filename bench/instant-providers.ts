/**
 * Providers that answer at once, for benchmarks of what the server itself adds: an STT that returns a
 * fixed text, an LLM that streams one short sentence, a TTS that yields its PCM in one piece. The TTS
 * speaks at 24 kHz (like most cloud TTS), so the output's 24 k → 48 k conversion is in the path, and its
 * tone starts at full amplitude, so the first frame that carries it is clearly non-silent.
 */
import type { LLMChunk, LLMProvider, LLMRequest, LLMResult, STTProvider, STTResult, TTSProvider, TTSResult } from '../lib/providers/types.js'

export const INSTANT_TRANSCRIPT = 'What time is it?'
export const INSTANT_ANSWER = 'It is ten past three.'
export const INSTANT_TTS_RATE_HZ = 24_000

export interface InstantProviderOptions {
  /** Length of the spoken answer, in ms (default 400). */
  answerMs?: number
  /** Peak of the answer's tone (default 8000). */
  amplitude?: number
}

export function instantProviders (options: InstantProviderOptions = {}): { stt: STTProvider, llm: LLMProvider, tts: TTSProvider } {
  const answerMs = options.answerMs ?? 400
  const amplitude = options.amplitude ?? 8000
  const samples = new Int16Array(Math.round(INSTANT_TTS_RATE_HZ * answerMs / 1000))
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * Math.sin(2 * Math.PI * 440 * i / INSTANT_TTS_RATE_HZ))
  const pcm = Buffer.from(samples.buffer)

  const stt: STTProvider = {
    name: 'bench-instant-stt',
    async transcribe (): Promise<STTResult> {
      return { text: INSTANT_TRANSCRIPT, isFinal: true }
    }
  }
  const llm: LLMProvider = {
    name: 'bench-instant-llm',
    async complete (): Promise<LLMResult> {
      return { fullText: INSTANT_ANSWER }
    },
    async * stream (_request: LLMRequest): AsyncIterable<LLMChunk> {
      yield { content: INSTANT_ANSWER, done: false }
      yield { content: '', done: true }
    }
  }
  const tts: TTSProvider = {
    name: 'bench-instant-tts',
    pcmSampleRate: INSTANT_TTS_RATE_HZ,
    async speak (): Promise<TTSResult> {
      return { audio: pcm, format: 'pcm', sampleRate: INSTANT_TTS_RATE_HZ }
    },
    async * speakStream (): AsyncIterable<Buffer> {
      yield pcm
    }
  }
  return { stt, llm, tts }
}

/** Sorted copy; p-th percentile by nearest rank. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[rank] as number
}

export function summary (values: readonly number[]): { n: number, p50: number, p95: number, max: number, min: number, mean: number } {
  return {
    n: values.length,
    min: values.length === 0 ? NaN : Math.min(...values),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length === 0 ? NaN : Math.max(...values),
    mean: values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
  }
}
