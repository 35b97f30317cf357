import { assertProbability, invalidOption } from '../config/invalid-option.js'

/**
 * What happens when the user speaks while the assistant is answering.
 * - `pause` (default): the answer's audio pauses at once (a 10 ms fade); confirmed words cancel it
 *   (barge-in), and a cough, a knock or a backchannel lets it play on from where it paused.
 * - `confirm`: the answer plays on until the speech is confirmed as an interruption, then stops.
 * - `off`: the assistant cannot be interrupted; what the user says while a turn runs is not heard.
 */
export type InterruptionMode = 'pause' | 'confirm' | 'off'

export interface InterruptionOptions {
  /** Default `'pause'`. */
  mode?: InterruptionMode
  /** Speech, counted from its onset, before it may interrupt, in ms (default 250; below the VAD's `minSpeechMs` it is that). */
  minSpeechMs?: number
  /**
   * Words an interruption needs (default 1). Backchannels ("mm-hmm", "yeah", "I see") never count:
   * speech made only of them lets the answer play on. 0: any confirmed speech interrupts, without
   * waiting for a transcript (the behaviour before pausing existed).
   */
  minWords?: number
  /** A pause that has not become an interruption after this long resumes the answer, in ms (default 2000). */
  resumeAfterMs?: number
  /**
   * In `pause` mode, while a turn runs, a VAD window at or above this speech probability (0-1, exclusive)
   * starts speech, and so pauses the answer (default 0.35, the VAD's `deactivationThreshold`; never above
   * its `activationThreshold`). The first words of an interruption often score 0.35-0.5 for a window or two
   * before they pass 0.5, and a pause that was nothing only leaves a short gap; what confirms an interruption
   * is unchanged. Without echo cancellation (the microphone hears the answer), 0.5 is safer.
   */
  onsetThreshold?: number
  /**
   * In `pause` mode, while the answer plays, a sudden rise in the microphone's loudness (12 dB over the
   * background, at least -45 dBFS) pauses it at once, before the VAD has scored that audio (default
   * true): a real interruption goes silent one or two VAD windows sooner. When the VAD has not started
   * speech LOUDNESS_HOLD_MS after it and the sound has ended (a knock, a clatter), the answer plays on
   * from where it paused. In a noisy room, or without echo cancellation, set it to false: the VAD alone
   * then pauses the answer.
   */
  loudnessOnset?: boolean
  /** Your own backchannel phrases, added to the built-in list of the language. */
  backchannels?: string[]
}

export interface PreemptiveOptions {
  /** Silence inside an utterance after which the transcript and the LLM's answer are started, in ms (default 160). */
  afterMs?: number
}

export interface UserIdleOptions {
  /** Silence (no speech, no turn running) before a prompt, in ms. */
  afterMs: number
  /** What the assistant says, one per prompt in turn (the last one repeats); default ["Are you still there?"]. */
  prompts?: string[]
  /** Prompts before the session is ended (default 2). */
  maxPrompts?: number
  /** Said before the session is ended (default "It seems you've stepped away. Goodbye!"; '' for nothing). */
  goodbye?: string
}

export type ResolvedInterruptionOptions = Required<InterruptionOptions>
export type ResolvedPreemptiveOptions = Required<PreemptiveOptions>
export type ResolvedUserIdleOptions = Required<UserIdleOptions>

export const DEFAULT_INTERRUPTION_OPTIONS: Readonly<ResolvedInterruptionOptions> = Object.freeze({
  mode: 'pause',
  minSpeechMs: 250,
  minWords: 1,
  resumeAfterMs: 2000,
  onsetThreshold: 0.35,
  loudnessOnset: true,
  backchannels: []
})

export const DEFAULT_PREEMPTIVE_OPTIONS: Readonly<ResolvedPreemptiveOptions> = Object.freeze({ afterMs: 160 })

const MODES = new Set<InterruptionMode>(['pause', 'confirm', 'off'])

export function resolveInterruptionOptions (options: InterruptionOptions | undefined, base: Readonly<ResolvedInterruptionOptions> = DEFAULT_INTERRUPTION_OPTIONS, prefix = 'interruption.'): ResolvedInterruptionOptions {
  objectOrUndefined(prefix, options)
  const resolved: ResolvedInterruptionOptions = { ...base, ...definedOnly(options) }
  if (!MODES.has(resolved.mode)) invalidOption(`${prefix}mode`, "'pause', 'confirm' or 'off'", resolved.mode)
  integer(`${prefix}minSpeechMs`, resolved.minSpeechMs, 0, 10_000)
  integer(`${prefix}minWords`, resolved.minWords, 0, 100)
  integer(`${prefix}resumeAfterMs`, resolved.resumeAfterMs, 100, 60_000)
  assertProbability(`${prefix}onsetThreshold`, resolved.onsetThreshold)
  if (typeof resolved.loudnessOnset !== 'boolean') invalidOption(`${prefix}loudnessOnset`, 'a boolean', resolved.loudnessOnset)
  if (!Array.isArray(resolved.backchannels) || !resolved.backchannels.every(p => typeof p === 'string')) {
    invalidOption(`${prefix}backchannels`, 'an array of strings', resolved.backchannels)
  }
  return resolved
}

export function resolvePreemptiveOptions (options: PreemptiveOptions | false | undefined, prefix = 'preemptive.'): ResolvedPreemptiveOptions | false {
  if (options === false) return false
  objectOrUndefined(prefix, options)
  const resolved: ResolvedPreemptiveOptions = { ...DEFAULT_PREEMPTIVE_OPTIONS, ...definedOnly(options) }
  integer(`${prefix}afterMs`, resolved.afterMs, 32, 5000)
  return resolved
}

export function resolveUserIdleOptions (options: UserIdleOptions | false | undefined, prefix = 'userIdle.'): ResolvedUserIdleOptions | false {
  if (options === false || options === undefined) return false
  objectOrUndefined(prefix, options)
  const resolved: ResolvedUserIdleOptions = { prompts: ['Are you still there?'], maxPrompts: 2, goodbye: "It seems you've stepped away. Goodbye!", ...definedOnly(options) } as ResolvedUserIdleOptions
  integer(`${prefix}afterMs`, resolved.afterMs, 1000, 3_600_000)
  integer(`${prefix}maxPrompts`, resolved.maxPrompts, 0, 100)
  if (!Array.isArray(resolved.prompts) || resolved.prompts.length === 0 || !resolved.prompts.every(p => typeof p === 'string' && p.trim() !== '')) {
    invalidOption(`${prefix}prompts`, 'a non-empty array of non-empty strings', resolved.prompts)
  }
  if (typeof resolved.goodbye !== 'string') invalidOption(`${prefix}goodbye`, 'a string', resolved.goodbye)
  return resolved
}

function objectOrUndefined (prefix: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) invalidOption(prefix.slice(0, -1), 'an object', value)
}

function definedOnly<T extends object> (options: T | undefined): Partial<T> {
  const out: Partial<T> = {}
  if (options === undefined) return out
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (out as Record<string, unknown>)[key] = value
  return out
}

function integer (name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, `an integer from ${min} to ${max}`, value)
  }
}
