import type { Clock, TimerHandle } from '../clock.js'
import type { ResolvedUserIdleOptions } from './options.js'

/**
 * User idle: after `afterMs` of silence with no turn running, the assistant asks (a prompt, in turn);
 * after `maxPrompts` unanswered prompts it says goodbye and the session ends. Any speech starts over.
 */
export class UserIdleMonitor {
  readonly #options: ResolvedUserIdleOptions
  readonly #clock: Clock
  readonly #say: (text: string) => Promise<void>
  readonly #end: () => void
  #timer: TimerHandle | undefined
  #prompts = 0
  #closed = false

  constructor (options: ResolvedUserIdleOptions, clock: Clock, say: (text: string) => Promise<void>, end: () => void) {
    this.#options = options
    this.#clock = clock
    this.#say = say
    this.#end = end
  }

  /** Prompts said since the user last spoke. */
  get prompts (): number { return this.#prompts }

  /** The user spoke: no prompt is due, and the count starts over. */
  userSpoke (): void {
    this.#prompts = 0
    this.#stop()
  }

  /** Nothing is going on (no speech, no turn): the wait starts now. */
  quiet (): void {
    if (this.#closed) return
    this.#stop()
    this.#timer = this.#clock.setTimeout(() => { void this.#fire() }, this.#options.afterMs)
  }

  /** Something is going on (a turn runs): no prompt while it does. */
  busy (): void {
    this.#stop()
  }

  close (): void {
    this.#closed = true
    this.#stop()
  }

  async #fire (): Promise<void> {
    this.#timer = undefined
    if (this.#closed) return
    const { prompts, maxPrompts, goodbye } = this.#options
    if (this.#prompts >= maxPrompts) {
      this.#closed = true
      if (goodbye !== '') await this.#say(goodbye)
      this.#end()
      return
    }
    const text = prompts[Math.min(this.#prompts, prompts.length - 1)] as string
    this.#prompts++
    await this.#say(text)
  }

  #stop (): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
