import type { LLMChunk, LLMProvider, LLMRequest, STTConfig, STTProvider, STTResult, TTSConfig, TTSProvider, TTSStreamEvent } from './types.js'

/** A switch from one provider to the next in a role's list. */
export interface FailoverEvent {
  role: 'llm' | 'stt' | 'tts'
  from: string
  to: string
  error: Error
}

type OnFailover = (event: FailoverEvent) => void

/**
 * Tries each provider in order: a failure before any output (the providers retry retryable failures
 * themselves) moves to the next, reported through `onFailover`. Once output was emitted, a failure is
 * final. An aborted call never fails over.
 */
async function * firstThatWorks<T> (names: string[], attempts: Array<() => AsyncIterable<T>>, role: FailoverEvent['role'], signal: AbortSignal | undefined, onFailover: OnFailover): AsyncIterable<T> {
  for (let i = 0; i < attempts.length; i++) {
    let emitted = false
    try {
      for await (const item of (attempts[i] as () => AsyncIterable<T>)()) {
        emitted = true
        yield item
      }
      return
    } catch (error) {
      const next = names[i + 1]
      if (emitted || next === undefined || signal?.aborted === true) throw error
      onFailover({ role, from: names[i] as string, to: next, error: error instanceof Error ? error : new Error(String(error)) })
    }
  }
}

async function * once<T> (promise: () => Promise<T>): AsyncIterable<T> {
  yield await promise()
}

async function single<T> (iterable: AsyncIterable<T>): Promise<T> {
  for await (const item of iterable) return item
  throw new TypeError('provider returned nothing')
}

export function failoverLLM (providers: LLMProvider[], onFailover: OnFailover): LLMProvider {
  const names = providers.map(p => p.name)
  return {
    name: names.join('>'),
    init: async () => { for (const p of providers) await p.init?.() },
    close: async () => { for (const p of providers) await p.close?.() },
    complete: async (request: LLMRequest) => await single(firstThatWorks(names, providers.map(p => () => once(async () => await p.complete(request))), 'llm', request.signal, onFailover)),
    stream: (request: LLMRequest): AsyncIterable<LLMChunk> => firstThatWorks(names, providers.map(p => () => p.stream?.(request) ?? once(async () => {
      const result = await p.complete(request)
      return { content: result.fullText, done: false, ...(result.toolCalls !== undefined ? { toolCalls: result.toolCalls } : {}) }
    })), 'llm', request.signal, onFailover)
  }
}

export function failoverSTT (providers: STTProvider[], onFailover: OnFailover): STTProvider {
  const names = providers.map(p => p.name)
  const primary = providers[0] as STTProvider
  const failover: STTProvider = {
    name: names.join('>'),
    init: async () => { for (const p of providers) await p.init?.() },
    close: async () => { for (const p of providers) await p.close?.() },
    transcribe: async (audio: Buffer, config?: STTConfig) => await single(firstThatWorks(names, providers.map(p => () => once(async () => await p.transcribe(audio, config))), 'stt', config?.signal, onFailover))
  }
  // Live audio cannot be replayed to another provider: streaming uses the primary only.
  const stream = primary.transcribeStream
  if (stream !== undefined) {
    failover.transcribeStream = (audio: AsyncIterable<Buffer>, config?: STTConfig): AsyncIterable<STTResult> => stream.call(primary, audio, config)
    if (primary.streamingInputSampleRate !== undefined) failover.streamingInputSampleRate = primary.streamingInputSampleRate
  }
  return failover
}

export function failoverTTS (providers: TTSProvider[], onFailover: OnFailover): TTSProvider {
  const names = providers.map(p => p.name)
  // Streams from every provider must share one rate: the pipeline reads `pcmSampleRate` once per call.
  const failover: TTSProvider = {
    name: names.join('>'),
    init: async () => { for (const p of providers) await p.init?.() },
    close: async () => { for (const p of providers) await p.close?.() },
    speak: async (text: string, config?: TTSConfig) => await single(firstThatWorks(names, providers.map(p => () => once(async () => await p.speak(text, config))), 'tts', config?.signal, onFailover))
  }
  const rates = new Set(providers.map(p => p.pcmSampleRate))
  if (providers.every(p => p.speakStream !== undefined) && rates.size === 1) {
    const rate = providers[0]?.pcmSampleRate
    if (rate !== undefined) failover.pcmSampleRate = rate
    failover.speakStream = (text: string, config?: TTSConfig): AsyncIterable<Buffer | TTSStreamEvent> =>
      firstThatWorks(names, providers.map(p => () => (p.speakStream as NonNullable<TTSProvider['speakStream']>).call(p, text, config)), 'tts', config?.signal, onFailover)
  }
  return failover
}
