/**
 * The thought signatures of recent function calls, by call id, so the next turn replays them (Gemini 3
 * refuses a function call turn without its signature). Bounded: the oldest are forgotten first.
 */
export class SignatureMemory {
  readonly #signatures = new Map<string, string>()
  readonly #limit: number

  constructor (limit = 1000) {
    this.#limit = limit
  }

  remember (callId: string, signature: string): void {
    this.#signatures.delete(callId)
    this.#signatures.set(callId, signature)
    if (this.#signatures.size > this.#limit) {
      const oldest = this.#signatures.keys().next().value
      if (oldest !== undefined) this.#signatures.delete(oldest)
    }
  }

  get (callId: string): string | undefined {
    return this.#signatures.get(callId)
  }
}
