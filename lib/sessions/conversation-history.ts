import type { ChatMessage } from '../providers/types.js'

/**
 * A conversation's messages with the system prompt pinned first and a limit on the rest.
 * Trimming removes the oldest messages but never separates an assistant's tool calls from their tool
 * results (a tool result without its call is rejected by every chat API), and never starts the kept
 * window on a dangling tool result.
 */
export class ConversationHistory {
  #systemPrompt: string
  readonly #limit: number
  #messages: ChatMessage[]
  #version = 0

  /**
   * @param systemPrompt pinned first message; empty for none
   * @param limit maximum number of non-system messages kept (default 20)
   */
  constructor (systemPrompt = '', limit = 20, messages: ChatMessage[] = []) {
    this.#systemPrompt = systemPrompt
    this.#limit = limit
    this.#messages = messages.filter(m => m.role !== 'system')
    this.#trim()
  }

  get systemPrompt (): string { return this.#systemPrompt }
  set systemPrompt (prompt: string) { this.#systemPrompt = prompt }

  get limit (): number { return this.#limit }

  /** Messages without the system prompt, oldest first (a copy). */
  get messages (): ChatMessage[] { return this.#messages.slice() }

  get length (): number { return this.#messages.length }

  /** Changes with every add, remove and clear: work prepared on one version is stale on another. */
  get version (): number { return this.#version }

  add (...messages: ChatMessage[]): void {
    for (const message of messages) {
      if (message.role !== 'system') this.#messages.push(message)
    }
    this.#version++
    this.#trim()
  }

  /** Removes `message` (the same object) when it is the newest message; returns whether it was. */
  removeLast (message: ChatMessage): boolean {
    if (this.#messages.at(-1) !== message) return false
    this.#messages.pop()
    this.#version++
    return true
  }

  clear (): void {
    this.#messages = []
    this.#version++
  }

  /** What an LLM request carries: the system prompt (if any), then the kept messages. */
  toMessages (): ChatMessage[] {
    const out: ChatMessage[] = []
    if (this.#systemPrompt !== '') out.push({ role: 'system', content: this.#systemPrompt })
    for (const message of this.#messages) out.push(message)
    return out
  }

  #trim (): void {
    if (this.#messages.length <= this.#limit) return
    let start = this.#messages.length - this.#limit
    // Do not begin on tool results whose assistant call was cut off.
    while (start < this.#messages.length && this.#messages[start]?.role === 'tool') start++
    this.#messages = this.#messages.slice(start)
  }
}
