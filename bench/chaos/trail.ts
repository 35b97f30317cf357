/** The chaos bench's event trail: the last events (injections, turn ends, closes), printed when an invariant breaks. */
export class Trail {
  readonly #events: string[] = []
  readonly #started = performance.now()
  readonly #max: number

  constructor (max = 2000) {
    this.#max = max
  }

  /** `who`: a session's index, or -1 for the bench itself. */
  add (who: number, what: string): void {
    const at = ((performance.now() - this.#started) / 1000).toFixed(2).padStart(8)
    this.#events.push(`${at} s ${who < 0 ? 'bench' : `s${who}`.padEnd(5)} ${what}`)
    if (this.#events.length > this.#max) this.#events.splice(0, this.#events.length - this.#max)
  }

  lines (): string[] { return [...this.#events] }
}
