import { JUDGE_SYSTEM_PROMPT } from '../../lib/evals/judge.js'
import type { ChatMessage, LLMChunk, LLMProvider, LLMRequest, LLMResult, ToolCallRequest } from '../../lib/providers/types.js'

/**
 * A scripted LLM for examples/support-playbook.mjs: it answers by rules from what a real model would
 * read (the stage's system prompt, the tools offered, the conversation, tool results), so the scenarios
 * of examples/scenarios run unchanged against it and against a real model. As the judge, it passes an
 * answer that is not empty and fails an empty one.
 */
export class SupportDeskLLM implements LLMProvider {
  readonly name = 'support-desk-llm'
  readonly requests: LLMRequest[] = []
  #calls = 0

  async complete (request: LLMRequest): Promise<LLMResult> {
    this.requests.push(request)
    const system = request.messages[0]?.content ?? ''
    if (system === JUDGE_SYSTEM_PROMPT) {
      const answer = /Assistant: (.*)\n\nRubric/s.exec(request.messages[1]?.content ?? '')?.[1]?.split('\nAssistant: ').pop() ?? ''
      return { fullText: JSON.stringify(answer.trim() === '' ? { pass: false, reason: 'The answer is empty.' } : { pass: true, reason: 'The answer meets the rubric.' }) }
    }
    const toolCalls = this.#toolCalls(request)
    if (toolCalls.length > 0) return { fullText: '', toolCalls, stopReason: 'tool_use' }
    return { fullText: this.#answer(request) }
  }

  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    const result = await this.complete(request)
    for (const word of result.fullText.split(/(?<= )/)) {
      request.signal?.throwIfAborted()
      yield { content: word, done: false }
    }
    yield { content: '', done: true, ...(result.toolCalls !== undefined ? { toolCalls: result.toolCalls, stopReason: 'tool_use' as const } : {}) }
  }

  #toolCalls (request: LLMRequest): ToolCallRequest[] {
    const last = request.messages.at(-1)
    const offered = new Set((request.tools ?? []).map(tool => tool.name))
    if (last?.role !== 'user') return []
    const text = last.content
    const call = (name: string, args: Record<string, unknown>): ToolCallRequest[] => [{ callId: `call-${++this.#calls}`, name, arguments: args }]
    if (offered.has('request_refund') && /\b(yes|please file)\b/i.test(text)) {
      return call('request_refund', { orderId: orderNumber(request.messages) ?? '', reason: /because (.*?)[.!]?$/i.exec(text)?.[1] ?? 'not given' })
    }
    if (offered.has('playbook_transition') && /\brefund\b/i.test(text)) return call('playbook_transition', { targetStage: 'refund', reason: 'The caller wants a refund.' })
    const digits = /\d+/.exec(text)?.[0]
    if (offered.has('lookup_order') && digits !== undefined) return call('lookup_order', { orderId: digits })
    return []
  }

  #answer (request: LLMRequest): string {
    const last = request.messages.at(-1)
    if (last?.role === 'tool') {
      const body = JSON.parse(last.content) as { result?: Record<string, unknown>, error?: string }
      const result = body.result
      if (body.error !== undefined) return 'Sorry, I cannot look that up right now. Please try again later.'
      if (last.toolName === 'lookup_order') {
        if (result?.found !== true) return `I could not find order ${String(result?.orderId)}. Could you check the number?`
        return `Your order ${String(result.orderId)} is ${String(result.status)} and should arrive ${String(result.eta)}.`
      }
      if (last.toolName === 'request_refund') return `Your refund is filed. Your reference is ${String(result?.reference)}. Goodbye!`
      if (last.toolName === 'playbook_transition') return 'I can help with a refund. Shall I file it for this order?'
    }
    const system = request.messages[0]?.content ?? ''
    if (/Thank the caller/.test(system) || /\bbye\b/i.test(last?.content ?? '')) return 'Thank you for calling Acme. Goodbye!'
    return 'Welcome to the Acme order desk. What is your order number?'
  }
}

/** The last order number the caller said. */
function orderNumber (messages: readonly ChatMessage[]): string | undefined {
  for (const message of [...messages].reverse()) {
    const digits = message.role === 'user' ? /\d+/.exec(message.content)?.[0] : undefined
    if (digits !== undefined) return digits
  }
  return undefined
}
