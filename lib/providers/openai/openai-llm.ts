import type OpenAI from 'openai'
import type { ChatCompletion } from 'openai/resources/chat/completions'
import { LLMRTC_ERR_LLM } from '../../errors.js'
import type { LLMChunk, LLMProvider, LLMRequest, LLMResult, StopReason } from '../types.js'
import { chatBody, type MaxTokensField } from './chat-request.js'
import { lazyOpenAIClient, OPENAI_DEFAULT_BASE_URL, untilAborted, type OpenAIClientOptions } from './client.js'
import { ToolCallAccumulator, toolCallsOf } from './tool-call-accumulator.js'
import { loadOpenAISDK } from './sdk.js'

export interface OpenAILLMOptions extends OpenAIClientOptions {
  /** Chat model (default gpt-4o-mini; for local servers, the server's model name, e.g. llama3.2). */
  model?: string
  /**
   * Body field for `config.maxTokens` (default `max_completion_tokens` on api.openai.com, which reasoning
   * models require; `max_tokens`, which compatible servers read, for any other base URL).
   */
  maxTokensField?: MaxTokensField
}

const stopReasons: Record<string, StopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'end_turn'
}

/**
 * An LLM over OpenAI's chat completions API (or any compatible server), streamed over SSE. Tool calls
 * come whole on the final chunk; the SDK retries only before the response starts.
 */
export class OpenAILLM implements LLMProvider {
  readonly name = 'openai-llm'
  readonly model: string
  /** The client, made on first use (the SDK loads then). */
  readonly #client: () => Promise<OpenAI>
  readonly #maxTokensField: MaxTokensField

  constructor (options: OpenAILLMOptions) {
    this.#client = lazyOpenAIClient(options, 'LLM')
    this.model = options.model ?? 'gpt-4o-mini'
    const official = options.baseURL === undefined || options.baseURL.replace(/\/+$/, '') === OPENAI_DEFAULT_BASE_URL
    this.#maxTokensField = options.maxTokensField ?? (official ? 'max_completion_tokens' : 'max_tokens')
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadOpenAISDK()
  }

  async complete (request: LLMRequest): Promise<LLMResult> {
    const body = { ...chatBody(request, this.model, this.#maxTokensField), stream: false as const }
    const completion: ChatCompletion = await untilAborted((await this.#client()).chat.completions.create(body, { signal: request.signal }), request.signal)
    const choice = completion.choices?.[0]
    if (choice === undefined) throw new LLMRTC_ERR_LLM(this.name, 'the response has no choices')
    const toolCalls = toolCallsOf(choice.message.tool_calls)
    const result: LLMResult = {
      fullText: choice.message.content ?? choice.message.refusal ?? '',
      raw: completion,
      stopReason: toolCalls.length > 0 ? 'tool_use' : stopReasons[choice.finish_reason] ?? 'end_turn'
    }
    if (toolCalls.length > 0) result.toolCalls = toolCalls
    return result
  }

  /** Text deltas as they arrive (`done: false`), then one `done: true` chunk with tool calls and stop reason. */
  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    const signal = request.signal
    const body = { ...chatBody(request, this.model, this.#maxTokensField), stream: true as const }
    const stream = await untilAborted((await this.#client()).chat.completions.create(body, { signal }), signal)
    const tools = new ToolCallAccumulator()
    let finishReason: string | undefined
    let received = false
    // The SDK ends the iteration quietly when the signal aborts; a broken connection throws.
    for await (const chunk of stream) {
      // One network read can hold many events: stop at the abort, not at the end of the buffer.
      if (signal?.aborted === true) return
      const choice = chunk.choices?.[0]
      if (choice === undefined) continue
      received = true
      tools.push(choice.delta?.tool_calls)
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) finishReason = choice.finish_reason
      const content = (choice.delta?.content ?? '') + (choice.delta?.refusal ?? '')
      if (content !== '') yield { content, done: false, raw: chunk }
    }
    if (signal?.aborted === true) return
    if (!received) throw new LLMRTC_ERR_LLM(this.name, 'the stream ended without any choice')
    const final: LLMChunk = { content: '', done: true }
    if (tools.size > 0) {
      final.toolCalls = tools.finish()
      final.stopReason = 'tool_use'
    } else {
      final.stopReason = (finishReason === undefined ? undefined : stopReasons[finishReason]) ?? 'end_turn'
    }
    yield final
  }
}
