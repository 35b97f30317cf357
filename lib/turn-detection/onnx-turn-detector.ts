import { access } from 'node:fs/promises'
import { InferenceSession, Tensor } from 'onnxruntime-node'
import { invalidOption } from '../config/invalid-option.js'
import { LLMRTC_ERR_VAD } from '../errors.js'
import type { TurnDetectionInput, TurnDetector } from './types.js'

/** How to feed an end-of-turn model and read its answer. Only `tokenize` is required. */
export interface OnnxTurnDetectorOptions {
  /**
   * The model's tokenizer: text → token ids (llmrtc ships none; use the one the model was trained with).
   * Called once per prediction with the text of `formatInput`.
   */
  tokenize: (text: string) => number[] | BigInt64Array
  /** Renders the input as the text the model reads, e.g. a chat template of history + transcript (default: the transcript). */
  formatInput?: (input: TurnDetectionInput) => string
  /** Input that takes the token ids (default 'input_ids' if the model has it, else its first input). */
  inputName?: string
  /** Output to read (default: the model's first output). */
  outputName?: string
  /** Only the last `maxTokens` tokens are fed (default 512). */
  maxTokens?: number
  /** For a model that outputs logits: the token whose probability at the last position is the answer (e.g. `<|im_end|>`). */
  endOfTurnTokenId?: number
  /** Name in logs and metrics (default 'onnx'). */
  name?: string
}

/** Options with defaults applied and the model's input and output names chosen. */
interface ResolvedOnnxOptions {
  tokenize: (text: string) => number[] | BigInt64Array
  formatInput: (input: TurnDetectionInput) => string
  maxTokens: number
  endOfTurnTokenId: number | undefined
  inputName: string
  outputName: string
}

const DEFAULT_MAX_TOKENS = 512
/** Inputs llmrtc feeds besides the token ids: ones for the mask, 0..n-1 for the positions. */
const MASK_INPUT = 'attention_mask'
const POSITION_INPUT = 'position_ids'

/**
 * An end-of-turn model in ONNX, run with onnxruntime-node on one thread (as the VAD is). The contract:
 * - input: token ids, int64 (or int32) [1, n], from `tokenize(formatInput(input))`, keeping the last
 *   `maxTokens`; `attention_mask` (ones) and `position_ids` (0..n-1) are fed too if the model has them, and
 *   no other input may be required;
 * - output, either a probability (one float, shape [1] or [1, 1]; clamped to 0-1), or logits ([1, n, vocab] or
 *   [1, vocab]) whose softmax at the last position gives the probability of `endOfTurnTokenId`.
 * An empty text predicts 0.5. Errors are LLMRTC_ERR_VAD with the cause.
 */
export class OnnxTurnDetector implements TurnDetector {
  readonly name: string
  readonly #session: InferenceSession
  readonly #options: ResolvedOnnxOptions
  readonly #int32: boolean
  #closed = false

  private constructor (session: InferenceSession, options: ResolvedOnnxOptions, name: string) {
    this.#session = session
    this.#options = options
    this.name = name
    const meta = session.inputMetadata.find(m => m.name === options.inputName)
    this.#int32 = meta?.isTensor === true && meta.type === 'int32'
  }

  /**
   * Loads the model at `path`. Rejects with LLMRTC_ERR_OPTIONS_INVALID for bad options, LLMRTC_ERR_VAD if the
   * file is missing or not a model, or the model does not fit the contract (inputs, outputs, logits without
   * `endOfTurnTokenId`).
   */
  static async load (path: string, options: OnnxTurnDetectorOptions): Promise<OnnxTurnDetector> {
    const resolved = resolveOptions(path, options)
    try {
      await access(path)
    } catch (cause) {
      throw new LLMRTC_ERR_VAD(`cannot load the end-of-turn model ${path}: no such file`, { cause })
    }
    let session: InferenceSession
    try {
      session = await InferenceSession.create(path, {
        intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all'
      })
    } catch (cause) {
      throw new LLMRTC_ERR_VAD(`cannot load the end-of-turn model ${path}: not a valid ONNX model`, { cause })
    }
    try {
      const inputName = options.inputName ?? (session.inputNames.includes('input_ids') ? 'input_ids' : session.inputNames[0] ?? '')
      const outputName = options.outputName ?? session.outputNames[0] ?? ''
      checkContract(session, inputName, outputName, resolved.endOfTurnTokenId)
      return new OnnxTurnDetector(session, { ...resolved, inputName, outputName }, options.name ?? 'onnx')
    } catch (err) {
      await session.release()
      throw new LLMRTC_ERR_VAD(`the end-of-turn model ${path} does not fit: ${(err as Error).message}`, { cause: err })
    }
  }

  async predict (input: TurnDetectionInput): Promise<number> {
    if (this.#closed) throw new LLMRTC_ERR_VAD('the end-of-turn model is closed')
    input.signal?.throwIfAborted()
    const { tokenize, formatInput, maxTokens, inputName, outputName } = this.#options
    let ids: BigInt64Array
    try {
      ids = tokenIds(tokenize(formatInput(input)), maxTokens)
    } catch (cause) {
      throw new LLMRTC_ERR_VAD(`the end-of-turn tokenizer failed: ${(cause as Error).message}`, { cause })
    }
    const n = ids.length
    if (n === 0) return 0.5
    const feeds: Record<string, Tensor> = { [inputName]: this.#ints(ids, n) }
    if (this.#session.inputNames.includes(MASK_INPUT)) feeds[MASK_INPUT] = this.#ints(new BigInt64Array(n).fill(1n), n)
    if (this.#session.inputNames.includes(POSITION_INPUT)) feeds[POSITION_INPUT] = this.#ints(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), n)
    let output: Tensor | undefined
    try {
      output = (await this.#session.run(feeds))[outputName] as Tensor | undefined
    } catch (cause) {
      throw new LLMRTC_ERR_VAD('end-of-turn model inference failed', { cause })
    }
    input.signal?.throwIfAborted()
    return this.#probabilityOf(output)
  }

  /** Releases the session (idempotent); `predict` then rejects. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#session.release()
  }

  #ints (ids: BigInt64Array, n: number): Tensor {
    return this.#int32 ? new Tensor('int32', Int32Array.from(ids, Number), [1, n]) : new Tensor('int64', ids, [1, n])
  }

  #probabilityOf (output: Tensor | undefined): number {
    const data = output?.data
    if (!(data instanceof Float32Array || data instanceof Float64Array) || data.length === 0) {
      throw new LLMRTC_ERR_VAD(`the end-of-turn model's output "${this.#options.outputName}" is not a float tensor`)
    }
    if (data.length === 1) {
      const p = data[0] as number
      if (Number.isNaN(p)) throw new LLMRTC_ERR_VAD('the end-of-turn model answered NaN')
      return Math.min(1, Math.max(0, p))
    }
    const eot = this.#options.endOfTurnTokenId
    const vocab = output?.dims.at(-1) ?? 0
    if (eot === undefined || eot >= vocab) {
      throw new LLMRTC_ERR_VAD(`the end-of-turn model outputs logits over ${vocab} tokens: set endOfTurnTokenId to one of them`)
    }
    return softmaxAt(data.subarray(data.length - vocab), eot)
  }
}

/** softmax(logits)[index], computed stably (shifted by the largest logit). */
function softmaxAt (logits: Float32Array | Float64Array, index: number): number {
  let max = -Infinity
  for (const logit of logits) if (logit > max) max = logit
  let sum = 0
  for (const logit of logits) sum += Math.exp(logit - max)
  return Math.exp((logits[index] as number) - max) / sum
}

/** The last `maxTokens` token ids as int64; throws if they are not non-negative integers. */
function tokenIds (tokens: number[] | BigInt64Array, maxTokens: number): BigInt64Array {
  if (tokens instanceof BigInt64Array) {
    if (tokens.some(id => id < 0n)) throw new RangeError('tokenize returned a negative token id')
    return tokens.length > maxTokens ? tokens.subarray(tokens.length - maxTokens) : tokens
  }
  if (!Array.isArray(tokens)) throw new TypeError('tokenize must return an array of token ids or a BigInt64Array')
  const kept = tokens.length > maxTokens ? tokens.slice(tokens.length - maxTokens) : tokens
  return BigInt64Array.from(kept, id => {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError('tokenize returned a token id that is not a non-negative integer')
    return BigInt(id)
  })
}

/** Inputs and outputs fit the contract; throws an Error saying what does not. */
function checkContract (session: InferenceSession, inputName: string, outputName: string, endOfTurnTokenId: number | undefined): void {
  if (!session.inputNames.includes(inputName)) throw new Error(`it has no input "${inputName}" (inputs: ${session.inputNames.join(', ')})`)
  if (!session.outputNames.includes(outputName)) throw new Error(`it has no output "${outputName}" (outputs: ${session.outputNames.join(', ')})`)
  const extra = session.inputNames.filter(name => name !== inputName && name !== MASK_INPUT && name !== POSITION_INPUT)
  if (extra.length > 0) throw new Error(`it needs inputs llmrtc does not feed: ${extra.join(', ')}`)
  const input = session.inputMetadata.find(m => m.name === inputName)
  if (input?.isTensor === true && input.type !== 'int64' && input.type !== 'int32') throw new Error(`its input "${inputName}" is ${input.type}, not int64 token ids`)
  const output = session.outputMetadata.find(m => m.name === outputName)
  const shape = output?.isTensor === true ? output.shape : []
  const vocab = shape.at(-1)
  if (shape.length === 3 && endOfTurnTokenId === undefined) throw new Error('it outputs logits [1, n, vocab]: set endOfTurnTokenId')
  if (endOfTurnTokenId !== undefined && typeof vocab === 'number' && shape.length >= 2 && endOfTurnTokenId >= vocab) {
    throw new Error(`endOfTurnTokenId ${endOfTurnTokenId} is not among its ${vocab} tokens`)
  }
}

function resolveOptions (path: unknown, options: OnnxTurnDetectorOptions): Omit<ResolvedOnnxOptions, 'inputName' | 'outputName'> {
  const prefix = 'onnxTurnDetector.'
  if (typeof path !== 'string' || path === '') invalidOption(prefix + 'path', 'the path of an ONNX file', path)
  if (options === null || typeof options !== 'object') invalidOption('onnxTurnDetector', 'an object with a tokenize function', options)
  const { tokenize, formatInput, inputName, outputName, maxTokens = DEFAULT_MAX_TOKENS, endOfTurnTokenId, name } = options
  if (typeof tokenize !== 'function') invalidOption(prefix + 'tokenize', 'a function (text) => token ids', tokenize)
  if (formatInput !== undefined && typeof formatInput !== 'function') invalidOption(prefix + 'formatInput', 'a function (input) => string', formatInput)
  for (const [key, value] of [['inputName', inputName], ['outputName', outputName], ['name', name]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) invalidOption(prefix + key, 'a non-empty string', value)
  }
  if (!Number.isInteger(maxTokens) || maxTokens < 1) invalidOption(prefix + 'maxTokens', 'an integer >= 1', maxTokens)
  if (endOfTurnTokenId !== undefined && (!Number.isInteger(endOfTurnTokenId) || endOfTurnTokenId < 0)) {
    invalidOption(prefix + 'endOfTurnTokenId', 'an integer token id >= 0', endOfTurnTokenId)
  }
  return { tokenize, formatInput: formatInput ?? ((input: TurnDetectionInput) => input.transcript), maxTokens, endOfTurnTokenId }
}
