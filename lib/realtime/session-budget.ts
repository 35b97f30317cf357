import type { Clock, TimerHandle } from '../clock.js'
import type { BudgetAction, RealtimeBudget } from './types.js'

/** Which limit ran out, and the limit as configured (for the error text). */
export interface BudgetBreach { what: 'session time' | 'token'; limit: string }

/**
 * One relay session's spend limits: a timer for `maxSessionMs` and a running token count for `maxTokens`.
 * Reports each breach once per limit through `onExceeded`; `close()` stops the timer.
 */
export class SessionBudget {
  readonly action: BudgetAction
  #tokens = 0
  readonly #maxTokens: number | undefined
  readonly #breached = new Set<BudgetBreach['what']>()
  readonly #clock: Clock
  #timer: TimerHandle | undefined
  readonly #onExceeded: (breach: BudgetBreach) => void

  constructor (budget: RealtimeBudget, clock: Clock, onExceeded: (breach: BudgetBreach) => void) {
    this.action = budget.onExceeded ?? 'end-session'
    this.#maxTokens = budget.maxTokens
    this.#clock = clock
    this.#onExceeded = onExceeded
    const maxSessionMs = budget.maxSessionMs
    if (maxSessionMs !== undefined && maxSessionMs > 0) {
      this.#timer = clock.setTimeout(() => { this.#breach({ what: 'session time', limit: `${maxSessionMs} ms` }) }, maxSessionMs)
    }
  }

  /** Tokens used so far (input + output of every response). */
  get tokens (): number { return this.#tokens }

  /** Counts one response's tokens. */
  addTokens (count: number): void {
    this.#tokens += count
    if (this.#maxTokens !== undefined && this.#tokens > this.#maxTokens) this.#breach({ what: 'token', limit: `${this.#maxTokens} tokens` })
  }

  close (): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #breach (breach: BudgetBreach): void {
    if (this.#breached.has(breach.what)) return
    this.#breached.add(breach.what)
    this.#onExceeded(breach)
  }
}
