import type { ToolCallRequest } from '../types.js'
import { parseArguments } from '../openai/tool-call-accumulator.js'

/**
 * Rebuilds streamed tool uses: `contentBlockStart` brings a block's `toolUseId` and `name`, then
 * `contentBlockDelta`s bring fragments of its input's JSON text, all under the block's index. An answer
 * may hold several tool uses (and text blocks between them).
 */
export class ToolUseAccumulator {
  readonly #uses = new Map<number, { id: string, name: string, input: string }>()

  start (index: number, toolUseId: string, name: string): void {
    this.#uses.set(index, { id: toolUseId, name, input: '' })
  }

  /** Appends input JSON text to the tool use of block `index` (ignored for a block that is no tool use). */
  append (index: number, input: string): void {
    const use = this.#uses.get(index)
    if (use !== undefined) use.input += input
  }

  get size (): number {
    return this.#uses.size
  }

  /** The tool calls in block order; invalid JSON input is kept as the raw string. */
  finish (): ToolCallRequest[] {
    return [...this.#uses.entries()].sort(([a], [b]) => a - b).map(([, use]) => ({ callId: use.id, name: use.name, arguments: parseArguments(use.input) }))
  }
}
