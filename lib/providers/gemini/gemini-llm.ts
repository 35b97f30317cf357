import type { GenerateContentParameters, GoogleGenAI } from '@google/genai'
import { LLMRTC_ERR_LLM } from '../../errors.js'
import { linkSignals } from '../../streams/link-signals.js'
import { once } from '../lazy-module.js'
import { retry, retryBeforeOutput } from '../retry.js'
import type { LLMChunk, LLMProvider, LLMRequest, LLMResult } from '../types.js'
import { AnswerReader } from './answer-reader.js'
import { contentsRequest } from './contents-request.js'
import { GeminiError, toGeminiError } from './gemini-error.js'
import { createGeminiClient, resolveGeminiOptions, type GeminiLLMOptions, type ResolvedGeminiLLMOptions } from './options.js'
import { loadGeminiSDK } from './sdk.js'
import { SignatureMemory } from './signature-memory.js'

/**
 * An LLM over Google's Gemini API with the official SDK: `generateContentStream` (SSE) for `stream()`,
 * `generateContent` for `complete()`. Function calls come whole on the final chunk; failures before any
 * output (429, 5xx, a timeout, a dropped connection) are retried, 401/403 never.
 */
export class GeminiLLM implements LLMProvider {
  readonly name = 'gemini-llm'
  readonly model: string
  /** The client, made on first use (the SDK loads then). */
  readonly #client: () => Promise<GoogleGenAI>
  readonly #options: ResolvedGeminiLLMOptions
  readonly #signatures = new SignatureMemory()

  constructor (options: GeminiLLMOptions) {
    this.#options = resolveGeminiOptions(options)
    const resolved = this.#options
    this.#client = once(async () => await createGeminiClient(resolved))
    this.model = this.#options.model
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadGeminiSDK()
  }

  async complete (request: LLMRequest): Promise<LLMResult> {
    const params = this.#params(request)
    const client = await this.#client()
    return await retry(async () => await this.#attempt(request.signal, async signal => {
      const response = await client.models.generateContent(withSignal(params, signal))
      const reader = this.#reader()
      const fullText = reader.push(response)
      const blocked = reader.blockReason
      if (blocked !== undefined && fullText === '' && reader.toolCalls.length === 0) throw blockedError(blocked)
      if (response.candidates?.[0] === undefined) throw new LLMRTC_ERR_LLM(this.name, 'the response has no candidates')
      const result: LLMResult = { fullText, raw: response, stopReason: reader.stopReason }
      if (reader.toolCalls.length > 0) result.toolCalls = reader.toolCalls
      return result
    }), this.#retryOptions(request.signal))
  }

  /** Text as it arrives (`done: false`), then one `done: true` chunk with the function calls and stop reason. */
  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    const signal = request.signal
    const params = this.#params(request)
    try {
      yield * retryBeforeOutput(() => this.#streamAttempt(params, signal), this.#retryOptions(signal))
    } catch (error) {
      // An aborted call ends quietly, also while it waits to retry.
      if (signal?.aborted === true) return
      throw error
    }
  }

  async * #streamAttempt (params: GenerateContentParameters, signal: AbortSignal | undefined): AsyncIterable<LLMChunk> {
    const client = await this.#client()
    const reader = this.#reader()
    const done = new AbortController()
    const started = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; started.abort() }, this.#options.timeoutMs).unref()
    // `done` closes the connection when the caller stops reading early (the SDK's iterator does not).
    const linked = linkSignals(...(signal === undefined ? [] : [signal]), started.signal, done.signal)
    try {
      const stream = await client.models.generateContentStream(withSignal(params, linked.signal))
      for await (const response of stream) {
        clearTimeout(timer)
        // One network read can hold many events: stop at the abort, not at the end of the buffer.
        if (signal?.aborted === true) return
        const text = reader.push(response)
        if (text !== '') yield { content: text, done: false, raw: response }
      }
    } catch (error) {
      if (signal?.aborted === true) return
      if (timedOut) throw this.#timeoutError(error)
      throw toGeminiError(error)
    } finally {
      clearTimeout(timer)
      done.abort()
      linked.dispose()
    }
    if (signal?.aborted === true) return
    if (!reader.received) throw new LLMRTC_ERR_LLM(this.name, 'the stream ended without any response')
    if (reader.blockReason !== undefined && reader.toolCalls.length === 0) throw blockedError(reader.blockReason)
    const final: LLMChunk = { content: '', done: true, stopReason: reader.stopReason }
    if (reader.toolCalls.length > 0) final.toolCalls = reader.toolCalls
    yield final
  }

  /** Runs one unary attempt under the caller's signal and the deadline. */
  async #attempt<T> (signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; deadline.abort() }, this.#options.timeoutMs).unref()
    const linked = linkSignals(...(signal === undefined ? [] : [signal]), deadline.signal)
    try {
      return await run(linked.signal)
    } catch (error) {
      if (signal?.aborted === true) throw error
      if (timedOut) throw this.#timeoutError(error)
      throw toGeminiError(error)
    } finally {
      clearTimeout(timer)
      linked.dispose()
    }
  }

  #timeoutError (cause: unknown): GeminiError {
    return new GeminiError(`no answer within ${this.#options.timeoutMs} ms`, { kind: 'timeout', code: 'ETIMEDOUT', cause })
  }

  #params (request: LLMRequest): GenerateContentParameters {
    return contentsRequest(request, this.model, callId => this.#signatures.get(callId))
  }

  #reader (): AnswerReader {
    return new AnswerReader((callId, signature) => { this.#signatures.remember(callId, signature) })
  }

  #retryOptions (signal: AbortSignal | undefined): { retries: number, baseDelayMs: number, signal?: AbortSignal } {
    const options = { retries: this.#options.maxRetries, baseDelayMs: this.#options.retryBaseDelayMs }
    return signal === undefined ? options : { ...options, signal }
  }
}

function withSignal (params: GenerateContentParameters, abortSignal: AbortSignal): GenerateContentParameters {
  return { ...params, config: { ...params.config, abortSignal } }
}

function blockedError (reason: string): GeminiError {
  return new GeminiError(`the prompt was blocked (${reason})`, { kind: 'blocked', code: 'BLOCKED' })
}
