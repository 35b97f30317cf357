import { parseArguments } from '../openai/tool-call-accumulator.js'
import type { ToolCallRequest } from '../types.js'

/**
 * Rebuilds streamed `tool_use` content blocks: `content_block_start` brings a block's id and name (by
 * its `index` in the message), each `input_json_delta` a fragment of its input's JSON text.
 */
export class ToolUseAccumulator {
  readonly #calls = new Map<number, { id: string, name: string, json: string }>()

  start (index: number, id: string, name: string): void {
    this.#calls.set(index, { id, name, json: '' })
  }

  /** Appends a fragment; a delta for a block that is not a tool_use is ignored. */
  append (index: number, partialJson: string): void {
    const call = this.#calls.get(index)
    if (call !== undefined) call.json += partialJson
  }

  get size (): number {
    return this.#calls.size
  }

  /** The calls in block order; invalid JSON is kept as the raw string, as ToolCallRequest documents. */
  finish (): ToolCallRequest[] {
    return [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ callId: call.id, name: call.name, arguments: parseArguments(call.json) }))
  }
}
