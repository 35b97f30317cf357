import type Anthropic from '@anthropic-ai/sdk'
import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import { LLMRTC_ERR_LLM, LLMRTC_ERR_OPTIONS_INVALID } from '../../errors.js'
import { sleep } from '../../streams/sleep.js'
import { isRetryableError } from '../retry.js'
import type { LLMChunk, LLMProvider, LLMRequest, LLMResult, StopReason, ToolCallRequest } from '../types.js'
import { retryableInStream, streamEventError } from './anthropic-errors.js'
import { lazyAnthropicClient, retriesOf, untilAborted, type AnthropicClientOptions } from './client.js'
import { messagesBody, ANTHROPIC_NO_SAMPLING_MODELS, type MessagesBodyOptions } from './messages-request.js'
import { loadAnthropicSDK } from './sdk.js'
import { ToolUseAccumulator } from './tool-use-accumulator.js'

/** The default model: a current Claude model alias. */
export const ANTHROPIC_DEFAULT_MODEL = 'claude-sonnet-4-5'

export interface AnthropicLLMOptions extends AnthropicClientOptions {
  /** Claude model id or alias (default claude-sonnet-4-5). */
  model?: string
  /** `max_tokens` when the session config sets none; Anthropic requires it (default 1024). */
  maxTokens?: number
  /**
   * Marks the system prompt as a prompt-cache breakpoint (`cache_control: {type: 'ephemeral'}`), so
   * repeated turns read it from Anthropic's cache (cheaper, faster first token). Prompts shorter than
   * the model's minimum (about 1024 tokens) are simply not cached. Default false.
   */
  promptCaching?: boolean
  /** Models that are sent neither `temperature` nor `top_p` (default ANTHROPIC_NO_SAMPLING_MODELS: Opus 4.7+, generation 5+). */
  noSamplingModels?: RegExp
  /** First pause before another try after an in-stream `error` event before any text, doubled each time, in ms (default 500). */
  retryDelayMs?: number
}

const stopReasons: Record<string, StopReason> = {
  end_turn: 'end_turn',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  tool_use: 'tool_use',
  pause_turn: 'end_turn',
  refusal: 'end_turn',
  model_context_window_exceeded: 'max_tokens'
}

/**
 * An LLM over Anthropic's Messages API, streamed over SSE with the official SDK. Text arrives as
 * `text_delta`s; `tool_use` blocks (one or several per answer) are rebuilt from `input_json_delta`
 * fragments and come whole on the final chunk. The SDK retries HTTP failures (429, 529 overloaded,
 * 5xx) before the response starts; an in-stream `error` event or a broken connection before any text
 * is retried here; once text was yielded, a failure is final.
 */
export class AnthropicLLM implements LLMProvider {
  readonly name = 'anthropic-llm'
  readonly model: string
  readonly #client: () => Promise<Anthropic>
  readonly #body: MessagesBodyOptions
  readonly #retries: number
  readonly #retryDelayMs: number

  constructor (options: AnthropicLLMOptions) {
    this.#client = lazyAnthropicClient(options)
    this.model = options.model ?? ANTHROPIC_DEFAULT_MODEL
    const maxTokens = options.maxTokens ?? 1024
    if (!Number.isInteger(maxTokens) || maxTokens <= 0) throw new LLMRTC_ERR_OPTIONS_INVALID('maxTokens', 'a positive integer', String(maxTokens))
    const noSamplingModels = options.noSamplingModels ?? ANTHROPIC_NO_SAMPLING_MODELS
    if (!(noSamplingModels instanceof RegExp)) throw new LLMRTC_ERR_OPTIONS_INVALID('noSamplingModels', 'a RegExp', String(noSamplingModels))
    this.#body = { model: this.model, maxTokens, promptCaching: options.promptCaching === true, noSamplingModels }
    this.#retries = retriesOf(options)
    this.#retryDelayMs = options.retryDelayMs ?? 500
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadAnthropicSDK()
  }

  async complete (request: LLMRequest): Promise<LLMResult> {
    const body = { ...messagesBody(request, this.#body), stream: false as const }
    const message: Message = await untilAborted((await this.#client()).messages.create(body, { signal: request.signal }), request.signal)
    let fullText = ''
    const toolCalls: ToolCallRequest[] = []
    for (const block of message.content ?? []) {
      if (block.type === 'text') fullText += block.text
      else if (block.type === 'tool_use') toolCalls.push({ callId: block.id, name: block.name, arguments: block.input as Record<string, unknown> })
    }
    const result: LLMResult = { fullText, raw: message, stopReason: toolCalls.length > 0 ? 'tool_use' : stopReasonOf(message.stop_reason) }
    if (toolCalls.length > 0) result.toolCalls = toolCalls
    return result
  }

  /** Text deltas as they arrive (`done: false`), then one `done: true` chunk with tool calls and stop reason. */
  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    const signal = request.signal
    for (let tryNumber = 0; ; tryNumber++) {
      let emitted = false
      try {
        for await (const chunk of this.#streamOnce(request)) {
          emitted = true
          yield chunk
        }
        return
      } catch (error) {
        if (emitted || tryNumber >= this.#retries || isAborted(signal) || !retryableInStream(error) || !isRetryableError(error)) throw error
        await sleep(this.#retryDelayMs * 2 ** tryNumber, signal)
        if (isAborted(signal)) return
      }
    }
  }

  async * #streamOnce (request: LLMRequest): AsyncIterable<LLMChunk> {
    const signal = request.signal
    const body = { ...messagesBody(request, this.#body), stream: true as const }
    const stream = await untilAborted((await this.#client()).messages.create(body, { signal }), signal)
    const tools = new ToolUseAccumulator()
    let stopReason: string | null | undefined
    let stopped = false
    try {
      // The SDK ends the iteration quietly when the signal aborts; a broken connection throws.
      for await (const event of stream as AsyncIterable<RawMessageStreamEvent>) {
        // One network read can hold many events: stop at the abort, not at the end of the buffer.
        if (signal?.aborted === true) return
        switch (event.type) {
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') tools.start(event.index, event.content_block.id, event.content_block.name)
            else if (event.content_block.type === 'text' && event.content_block.text !== '') yield { content: event.content_block.text, done: false, raw: event }
            break
          case 'content_block_delta':
            if (event.delta.type === 'text_delta' && event.delta.text !== '') yield { content: event.delta.text, done: false, raw: event }
            else if (event.delta.type === 'input_json_delta') tools.append(event.index, event.delta.partial_json)
            break
          case 'message_delta':
            stopReason = event.delta.stop_reason
            break
          case 'message_stop':
            stopped = true
            break
        }
      }
    } catch (error) {
      throw streamEventError(error)
    }
    if (isAborted(signal)) return
    // A response that ends without message_stop was cut short: its text and tool calls may be partial.
    if (!stopped) throw new LLMRTC_ERR_LLM(this.name, 'the stream ended before message_stop')
    const final: LLMChunk = { content: '', done: true }
    if (tools.size > 0) {
      final.toolCalls = tools.finish()
      final.stopReason = 'tool_use'
    } else {
      final.stopReason = stopReasonOf(stopReason)
    }
    yield final
  }
}

/** Whether `signal` fired (a function, so TypeScript does not narrow it across awaits). */
function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function stopReasonOf (reason: string | null | undefined): StopReason {
  return (reason === null || reason === undefined ? undefined : stopReasons[reason]) ?? 'end_turn'
}
