import type { BedrockRuntimeClient, BedrockRuntimeClientConfig, ConverseStreamCommandInput, StopReason as BedrockStopReason } from '@aws-sdk/client-bedrock-runtime'
import { LLMRTC_ERR_OPTIONS_INVALID } from '../../errors.js'
import { retryBeforeOutput } from '../retry.js'
import type { LLMChunk, LLMProvider, LLMRequest, LLMResult, StopReason } from '../types.js'
import { cutStreamError, toBedrockError } from './bedrock-errors.js'
import { bedrockClientConfig, type BedrockClientOptions } from './client.js'
import { converseInput } from './converse-request.js'
import { IdleDeadline } from './idle-deadline.js'
import { loadBedrockSDK, type BedrockSDK } from './sdk.js'
import { ToolUseAccumulator } from './tool-use-accumulator.js'

export interface BedrockLLMOptions extends BedrockClientOptions {
  /**
   * Model id (`anthropic.claude-3-5-haiku-20241022-v1:0`), inference profile id (`us.anthropic.claude-...`)
   * or inference profile / provisioned model ARN, passed through as the Converse `modelId`.
   */
  model: string
  /** Further attempts of a request that failed retryably (throttling, 5xx, connection) before any output (default 2). */
  retries?: number
  /** First backoff between attempts in ms, doubled each time (default 200). */
  retryBaseDelayMs?: number
  /** Longest silence before an attempt fails (ETIMEDOUT, retryable before output), in ms: a reply that never starts or stalls (default 30000). */
  timeoutMs?: number
}

const stopReasons: Partial<Record<BedrockStopReason, StopReason>> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  model_context_window_exceeded: 'max_tokens'
}

/**
 * An LLM over Amazon Bedrock's ConverseStream API (any model Converse serves, through inference profiles
 * too), with the AWS SDK signing requests. Text arrives as it streams; tool uses come whole on the final
 * chunk. Throttling, 5xx and connection failures are retried with backoff while nothing was yielded yet.
 */
export class BedrockLLM implements LLMProvider {
  readonly name = 'bedrock'
  readonly model: string
  /** The client given, or the one made from `#config` on first use (the SDK loads then). */
  #client: BedrockRuntimeClient | undefined
  readonly #config: BedrockRuntimeClientConfig | undefined
  readonly #ownsClient: boolean
  readonly #retries: number
  readonly #retryBaseDelayMs: number
  readonly #timeoutMs: number

  constructor (options: BedrockLLMOptions) {
    if (typeof options.model !== 'string' || options.model === '') {
      throw new LLMRTC_ERR_OPTIONS_INVALID('model', 'a Bedrock model id, inference profile id or ARN (option model or BEDROCK_MODEL)', String(options.model))
    }
    this.model = options.model
    this.#retries = options.retries ?? 2
    if (!Number.isInteger(this.#retries) || this.#retries < 0) throw new LLMRTC_ERR_OPTIONS_INVALID('retries', 'an integer >= 0', String(this.#retries))
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 200
    if (!Number.isFinite(this.#retryBaseDelayMs) || this.#retryBaseDelayMs < 0) throw new LLMRTC_ERR_OPTIONS_INVALID('retryBaseDelayMs', 'a number >= 0 (ms)', String(this.#retryBaseDelayMs))
    this.#timeoutMs = options.timeoutMs ?? 30_000
    if (!Number.isInteger(this.#timeoutMs) || this.#timeoutMs <= 0) throw new LLMRTC_ERR_OPTIONS_INVALID('timeoutMs', 'a positive integer (ms)', String(this.#timeoutMs))
    this.#ownsClient = options.client === undefined
    this.#client = options.client
    // Checked now, so bad options throw at construction; the client is made once the SDK loaded.
    this.#config = this.#ownsClient ? bedrockClientConfig(options) : undefined
  }

  /** Loads the SDK when the provider is chosen, so the first turn does not wait for it. */
  async init (): Promise<void> {
    await loadBedrockSDK()
  }

  /** The whole answer (read from the same stream); rejects with the signal's reason when aborted. */
  async complete (request: LLMRequest): Promise<LLMResult> {
    request.signal?.throwIfAborted()
    let fullText = ''
    let final: LLMChunk | undefined
    for await (const chunk of this.stream(request)) {
      fullText += chunk.content
      if (chunk.done) final = chunk
    }
    request.signal?.throwIfAborted()
    const result: LLMResult = { fullText, raw: final?.raw, stopReason: final?.stopReason ?? 'end_turn' }
    if (final?.toolCalls !== undefined) result.toolCalls = final.toolCalls
    return result
  }

  /** Text deltas as they arrive (`done: false`), then one `done: true` chunk with tool calls and stop reason. */
  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    const input = converseInput(request, this.model)
    const signal = request.signal
    yield * retryBeforeOutput(() => this.#streamOnce(input, signal), { retries: this.#retries, baseDelayMs: this.#retryBaseDelayMs, signal })
  }

  close (): void {
    if (this.#ownsClient) this.#client?.destroy()
  }

  /** The SDK and the client (made on the first call). */
  async #sdkAndClient (): Promise<{ sdk: BedrockSDK, client: BedrockRuntimeClient }> {
    const sdk = await loadBedrockSDK()
    this.#client ??= new sdk.BedrockRuntimeClient(this.#config ?? {})
    return { sdk, client: this.#client }
  }

  async * #streamOnce (input: ConverseStreamCommandInput, signal: AbortSignal | undefined): AsyncIterable<LLMChunk> {
    if (isAborted(signal)) return
    const { sdk: { ConverseStreamCommand }, client } = await this.#sdkAndClient()
    if (isAborted(signal)) return
    const tools = new ToolUseAccumulator()
    let stopReason: StopReason | undefined
    let metadata: unknown
    const deadline = new IdleDeadline(this.#timeoutMs, signal)
    try {
      deadline.kick()
      const response = await client.send(new ConverseStreamCommand(input), { abortSignal: deadline.signal })
      // Leaving this loop early (abort, a consumer's break) ends the response body, which closes the stream.
      for await (const event of response.stream ?? []) {
        // One network read can hold many events: stop at the abort, not at the end of the buffer.
        if (deadline.signal.aborted) break
        deadline.kick()
        if (event.contentBlockStart?.start?.toolUse !== undefined) {
          const use = event.contentBlockStart.start.toolUse
          tools.start(event.contentBlockStart.contentBlockIndex ?? 0, use.toolUseId ?? '', use.name ?? '')
        } else if (event.contentBlockDelta?.delta !== undefined) {
          const delta = event.contentBlockDelta.delta
          if (delta.toolUse?.input !== undefined) tools.append(event.contentBlockDelta.contentBlockIndex ?? 0, delta.toolUse.input)
          if (delta.text !== undefined && delta.text !== '') {
            deadline.pause()
            yield { content: delta.text, done: false, raw: event }
            deadline.kick()
          }
        } else if (event.messageStop !== undefined) {
          stopReason = stopReasons[event.messageStop.stopReason as BedrockStopReason] ?? 'end_turn'
        } else if (event.metadata !== undefined) {
          metadata = event.metadata
        }
      }
    } catch (error) {
      // An aborted request ends quietly, whatever the SDK threw.
      if (isAborted(signal)) return
      if (deadline.expired) throw deadline.error(error)
      throw toBedrockError(error)
    } finally {
      deadline.dispose()
    }
    if (isAborted(signal)) return
    if (deadline.expired) throw deadline.error()
    if (stopReason === undefined) throw cutStreamError()
    const final: LLMChunk = { content: '', done: true, stopReason, raw: metadata }
    if (tools.size > 0) {
      final.toolCalls = tools.finish()
      final.stopReason = 'tool_use'
    }
    yield final
  }
}

/** Whether `signal` fired (a function, so TypeScript does not narrow it across awaits). */
function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
