import type { ChatCompletionChunk, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions'
import type { ToolCallRequest } from '../types.js'
import { parseJsonObject } from '../../json.js'

type ToolCallDelta = ChatCompletionChunk.Choice.Delta.ToolCall

/**
 * Rebuilds streamed tool calls: the first delta of a call (by `index`) brings its id and name, later
 * ones bring fragments of the arguments' JSON text.
 */
export class ToolCallAccumulator {
  readonly #calls = new Map<number, { id: string, name: string, arguments: string }>()

  push (deltas: ToolCallDelta[] | undefined): void {
    for (const delta of deltas ?? []) {
      let call = this.#calls.get(delta.index)
      if (call === undefined) {
        call = { id: '', name: '', arguments: '' }
        this.#calls.set(delta.index, call)
      }
      if (delta.id !== undefined && delta.id !== '') call.id = delta.id
      if (delta.function?.name !== undefined) call.name += delta.function.name
      if (delta.function?.arguments !== undefined) call.arguments += delta.function.arguments
    }
  }

  get size (): number {
    return this.#calls.size
  }

  /** The calls in index order. */
  finish (): ToolCallRequest[] {
    return [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => toolCallRequest(call.id, call.name, call.arguments))
  }
}

/** The function tool calls of a whole (non-streamed) message. */
export function toolCallsOf (calls: ChatCompletionMessageToolCall[] | undefined): ToolCallRequest[] {
  const out: ToolCallRequest[] = []
  for (const call of calls ?? []) {
    if (call.type === 'function') out.push(toolCallRequest(call.id, call.function.name, call.function.arguments))
  }
  return out
}

function toolCallRequest (callId: string, name: string, rawArguments: string): ToolCallRequest {
  return { callId, name, arguments: parseArguments(rawArguments) }
}

/**
 * The arguments as an object; `{}` for none. Invalid JSON (or JSON that is not an object) is kept as the
 * raw string, as ToolCallRequest documents, so the caller can report it to the model.
 */
export function parseArguments (raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {}
  const parsed = parseJsonObject(raw)
  if (parsed !== undefined) return parsed
  // The contract's type says object, its documentation says "or the raw string": keep the string.
  return raw as unknown as Record<string, unknown>
}
