import type { Logger } from '../logger.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import { endpointForProbability } from '../turn-detection/endpoint-curve.js'
import { PauseLearner } from '../turn-detection/pause-learner.js'
import type { ResolvedTurnDetectionOptions } from '../turn-detection/types.js'

/** Where the end-of-speech wait of the current utterance is set: the session's speech detector. */
export interface EndpointControl {
  readonly endOfSpeechSilenceMs: number
  /** May end the utterance at once (a `speech-end` event, synchronously). */
  setEndOfSpeechSilenceMs: (ms: number) => void
}

/** History messages a detector sees (the newest ones). */
const HISTORY_FOR_DETECTOR = 6

/**
 * Adaptive end of turn for one session. Each utterance starts with the VAD's `endOfSpeechSilenceMs`.
 * Once the user pauses and the words so far are being transcribed, the wait is held at `maxEndpointMs`
 * (nothing ends while the decision is coming); then the turn detector's probability that the user has
 * finished sets it between `minEndpointMs` and `maxEndpointMs`, stretched or shortened by this user's
 * learned pause lengths. Speech again goes back to the starting wait until the next decision.
 */
export class Endpointing {
  readonly #options: ResolvedTurnDetectionOptions
  readonly #history: ConversationHistory
  readonly #log: Logger
  readonly #learner = new PauseLearner()
  #control: EndpointControl | undefined
  #base: number | undefined
  /** Changes whenever a decision in flight becomes stale (speech again, a new utterance). */
  #generation = 0
  /** The last decision of this utterance: probability and the wait it set. */
  lastDecision: { probability: number, endpointMs: number } | undefined

  constructor (options: ResolvedTurnDetectionOptions, history: ConversationHistory, log: Logger) {
    this.#options = options
    this.#history = history
    this.#log = log
  }

  get options (): ResolvedTurnDetectionOptions { return this.#options }

  attach (control: EndpointControl | undefined): void {
    this.#control = control
    this.#base = undefined
  }

  utteranceStarted (): void {
    this.#generation++
    this.lastDecision = undefined
    this.#base = this.#control?.endOfSpeechSilenceMs
  }

  /** The user spoke again after a pause of `pauseMs`: the turn was not over. */
  speechResumed (pauseMs: number): void {
    this.#generation++
    this.lastDecision = undefined
    if (this.#options.dynamic) this.#learner.observePause(pauseMs)
    if (this.#base !== undefined) this.#control?.setEndOfSpeechSilenceMs(this.#base)
  }

  /** The words so far are being transcribed: hold the utterance open until the decision. */
  holdForDecision (): void {
    const control = this.#control
    if (control === undefined) return
    if (control.endOfSpeechSilenceMs < this.#options.maxEndpointMs) control.setEndOfSpeechSilenceMs(this.#options.maxEndpointMs)
  }

  /** No words came for the decision (the STT failed): back to the starting wait. */
  undecided (): void {
    if (this.#base !== undefined) this.#control?.setEndOfSpeechSilenceMs(this.#base)
  }

  /** Decides the wait from the words so far. May end the utterance at once (synchronous `speech-end`). */
  async decide (transcript: string, silenceMs: number): Promise<void> {
    const generation = this.#generation
    const o = this.#options
    let probability: number
    try {
      probability = await o.detector.predict({
        transcript,
        silenceMs,
        history: this.#history.messages.slice(-HISTORY_FOR_DETECTOR).map(m => ({ role: m.role, content: m.content })),
        language: o.language
      })
    } catch (err) {
      this.#log.warn({ err, detector: o.detector.name }, 'turn detector failed: the default end-of-speech wait applies')
      probability = Number.NaN
    }
    if (generation !== this.#generation || this.#control === undefined) return
    if (!Number.isFinite(probability)) {
      if (this.#base !== undefined) this.#control.setEndOfSpeechSilenceMs(this.#base)
      return
    }
    const curve = endpointForProbability(Math.min(1, Math.max(0, probability)), o.minEndpointMs, o.maxEndpointMs)
    const endpointMs = o.dynamic ? this.#learner.adjust(curve, o.minEndpointMs, o.maxEndpointMs) : curve
    this.lastDecision = { probability, endpointMs }
    this.#control.setEndOfSpeechSilenceMs(endpointMs)
  }

  /** The utterance ended after `silenceMs` of silence. */
  utteranceEnded (silenceMs: number): void {
    this.#generation++
    if (this.#options.dynamic) this.#learner.observeTurnEnd(silenceMs)
  }
}
