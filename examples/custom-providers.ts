import type {
  LLMChunk, LLMProvider, LLMRequest, LLMResult, STTConfig, STTProvider, STTResult, TTSConfig, TTSProvider, TTSResult
} from '@llmrtc/llmrtc-backend'

/*
 * Three providers for "Acme Speech", an imaginary HTTP service:
 *   POST /transcribe  a WAV body          → { "text": "...", "confidence": 0.9 }
 *   POST /chat        { messages }        → NDJSON lines { "delta": "..." }, then { "done": true }
 *   POST /speak       { text, voice }     → raw PCM s16le mono at 24 kHz, streamed
 */

export interface AcmeOptions {
  /** The service's URL, e.g. https://speech.acme.example */
  baseURL: string
  /** Sent as a bearer token. Never put it in an error message. */
  apiKey: string
}

/**
 * A failed call. `status` is what llmrtc reads to decide whether another try (or the next provider of a
 * list) can help: 408, 429 and 5xx can, anything else fails the same way again.
 */
export class AcmeError extends Error {
  readonly status: number
  constructor (what: string, status: number) {
    super(`Acme ${what} answered ${status}`)
    this.name = 'AcmeError'
    this.status = status
  }
}

async function post (options: AcmeOptions, path: string, body: string | Buffer, signal: AbortSignal | undefined): Promise<Response> {
  // The signal goes to fetch: barge-in, a closed session or llmrtc's deadline stop the request at once.
  const response = await fetch(new URL(path, options.baseURL), {
    method: 'POST',
    headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': typeof body === 'string' ? 'application/json' : 'audio/wav' },
    body,
    ...(signal !== undefined ? { signal } : {})
  })
  if (!response.ok || response.body === null) {
    await response.body?.cancel()
    throw new AcmeError(path, response.status)
  }
  return response
}

export class AcmeSTT implements STTProvider {
  readonly name = 'acme-stt'
  readonly #options: AcmeOptions
  constructor (options: AcmeOptions) { this.#options = options }

  /** `audio` is a WAV file of one utterance (16 kHz mono). */
  async transcribe (audio: Buffer, config?: STTConfig): Promise<STTResult> {
    const response = await post(this.#options, '/transcribe', audio, config?.signal)
    const body = await response.json() as { text?: unknown, confidence?: unknown }
    const result: STTResult = { text: typeof body.text === 'string' ? body.text : '', isFinal: true }
    if (typeof body.confidence === 'number') result.confidence = body.confidence
    return result
  }
}

export class AcmeLLM implements LLMProvider {
  readonly name = 'acme-llm'
  readonly #options: AcmeOptions
  constructor (options: AcmeOptions) { this.#options = options }

  async complete (request: LLMRequest): Promise<LLMResult> {
    request.signal?.throwIfAborted()
    let fullText = ''
    for await (const chunk of this.stream(request)) fullText += chunk.content
    // A stream cut by the signal ends quietly; complete() must reject instead of returning half an answer.
    request.signal?.throwIfAborted()
    return { fullText, stopReason: 'end_turn' }
  }

  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    const messages = request.messages.map(({ role, content }) => ({ role, content }))
    const response = await post(this.#options, '/chat', JSON.stringify({ messages, temperature: request.config?.temperature }), request.signal)
    let buffered = ''
    try {
      for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
        buffered += Buffer.from(bytes).toString('utf8')
        let newline
        while ((newline = buffered.indexOf('\n')) >= 0) {
          // One network read may hold many lines: stop between them too, not only between reads.
          if (request.signal?.aborted === true) return
          const line = buffered.slice(0, newline).trim()
          buffered = buffered.slice(newline + 1)
          if (line === '') continue
          const event = JSON.parse(line) as { delta?: string, done?: boolean }
          if (event.done === true) {
            yield { content: '', done: true, stopReason: 'end_turn' }
            return
          }
          if (typeof event.delta === 'string' && event.delta !== '') yield { content: event.delta, done: false }
        }
      }
    } catch (err) {
      // Cancelled: end quietly. llmrtc never reports an aborted call as an error.
      if (request.signal?.aborted === true) return
      throw err
    }
    if (request.signal?.aborted !== true) throw new AcmeError('/chat (the stream ended early)', 502)
  }
}

export class AcmeTTS implements TTSProvider {
  readonly name = 'acme-tts'
  /** speakStream's PCM rate: llmrtc resamples it for the call. */
  readonly pcmSampleRate = 24_000
  readonly #options: AcmeOptions
  readonly #voice: string
  constructor (options: AcmeOptions & { voice?: string }) {
    this.#options = options
    this.#voice = options.voice ?? 'nova'
  }

  async speak (text: string, config?: TTSConfig): Promise<TTSResult> {
    const parts: Buffer[] = []
    for await (const part of this.speakStream(text, config)) parts.push(part)
    config?.signal?.throwIfAborted()
    return { audio: Buffer.concat(parts), format: 'pcm', sampleRate: this.pcmSampleRate }
  }

  async * speakStream (text: string, config?: TTSConfig): AsyncIterable<Buffer> {
    const body = JSON.stringify({ text, voice: config?.voice ?? this.#voice })
    const response = await post(this.#options, '/speak', body, config?.signal)
    // Network chunks may split a 16-bit sample: hold back an odd byte, so every yield is whole samples.
    let odd: Buffer | undefined
    try {
      for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
        let chunk = Buffer.from(bytes)
        if (odd !== undefined) chunk = Buffer.concat([odd, chunk])
        const whole = chunk.length - (chunk.length % 2)
        odd = whole < chunk.length ? chunk.subarray(whole) : undefined
        if (whole > 0) yield chunk.subarray(0, whole)
      }
    } catch (err) {
      if (config?.signal?.aborted === true) return
      throw err
    }
  }
}
