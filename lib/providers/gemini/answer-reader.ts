import { randomUUID } from 'node:crypto'
import type { GenerateContentResponse } from '@google/genai'
import type { StopReason, ToolCallRequest } from '../types.js'

const stopReasons: Record<string, StopReason> = {
  STOP: 'end_turn',
  MAX_TOKENS: 'max_tokens'
}

/** Called with each function call's thought signature, to replay it on the next turn. */
export type SignatureSink = (callId: string, signature: string) => void

/**
 * Reads the `GenerateContentResponse`s of one answer (the SSE events of a stream, or one whole response):
 * text of the first candidate as it comes (thought summaries left out), function calls (several in one
 * answer, each whole in one part) and the finish reason.
 */
export class AnswerReader {
  readonly #calls: ToolCallRequest[] = []
  readonly #remember: SignatureSink
  #finishReason: string | undefined
  #blockReason: string | undefined
  #responses = 0

  constructor (remember: SignatureSink = () => {}) {
    this.#remember = remember
  }

  /** Reads one response; returns its text (maybe empty). */
  push (response: GenerateContentResponse): string {
    this.#responses++
    const blockReason = response.promptFeedback?.blockReason
    if (blockReason !== undefined) this.#blockReason = String(blockReason)
    const candidate = response.candidates?.[0]
    if (candidate?.finishReason !== undefined) this.#finishReason = String(candidate.finishReason)
    let text = ''
    for (const part of candidate?.content?.parts ?? []) {
      if (part.functionCall !== undefined) {
        const callId = part.functionCall.id ?? `call_${randomUUID()}`
        this.#calls.push({ callId, name: part.functionCall.name ?? '', arguments: part.functionCall.args ?? {} })
        if (part.thoughtSignature !== undefined) this.#remember(callId, part.thoughtSignature)
      } else if (typeof part.text === 'string' && part.thought !== true) {
        text += part.text
      }
    }
    return text
  }

  /** Whether any response arrived. */
  get received (): boolean {
    return this.#responses > 0
  }

  /** Why Gemini refused the prompt (`promptFeedback.blockReason`), when it did. */
  get blockReason (): string | undefined {
    return this.#blockReason
  }

  get toolCalls (): ToolCallRequest[] {
    return this.#calls
  }

  /** `tool_use` when the model called a function, else from the finish reason (SAFETY and the like end the turn). */
  get stopReason (): StopReason {
    if (this.#calls.length > 0) return 'tool_use'
    return (this.#finishReason === undefined ? undefined : stopReasons[this.#finishReason]) ?? 'end_turn'
  }
}
