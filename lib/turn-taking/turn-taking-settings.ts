import type { ResolvedTurnDetectionOptions } from '../turn-detection/types.js'
import { DEFAULT_INTERRUPTION_OPTIONS, type ResolvedInterruptionOptions, type ResolvedPreemptiveOptions, type ResolvedUserIdleOptions } from './options.js'

/** How one session takes turns: interruptions, preemptive generation, adaptive end of turn, user idle. */
export interface TurnTakingSettings {
  interruption: ResolvedInterruptionOptions
  /** false: no LLM call before the end of the turn. */
  preemptive: ResolvedPreemptiveOptions | false
  /** false: the VAD's fixed `endOfSpeechSilenceMs` ends every turn. */
  turnDetection: ResolvedTurnDetectionOptions | false
  /** false: no prompt when the user stays silent. */
  userIdle: ResolvedUserIdleOptions | false
  /** BCP 47 language of the conversation (backchannels, turn detection). */
  language: string
}

/**
 * The turn-taking of a pipeline built without settings (the library's unit tests, embedders of
 * VoicePipeline): confirmed speech interrupts at once, the fixed VAD wait ends a turn, nothing is
 * preemptive. The server's defaults (lib/config/options.ts) turn everything on.
 */
export const PLAIN_TURN_TAKING: Readonly<TurnTakingSettings> = Object.freeze({
  interruption: { ...DEFAULT_INTERRUPTION_OPTIONS, mode: 'confirm' as const, minWords: 0 },
  preemptive: false,
  turnDetection: false,
  userIdle: false,
  language: 'en'
})
