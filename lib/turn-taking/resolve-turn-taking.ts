import { invalidOption } from '../config/invalid-option.js'
import { resolveTurnDetectionOptions } from '../turn-detection/options.js'
import type { TurnDetectionOptions } from '../turn-detection/types.js'
import {
  DEFAULT_INTERRUPTION_OPTIONS, resolveInterruptionOptions, resolvePreemptiveOptions, resolveUserIdleOptions,
  type InterruptionOptions, type PreemptiveOptions, type UserIdleOptions
} from './options.js'
import type { TurnTakingSettings } from './turn-taking-settings.js'

/** Turn-taking options, for the server (plugin options) and per session (`turnTakingForSession`). */
export interface TurnTakingOptions {
  /** What happens when the user speaks over the answer (default: pause at once, cancel on words, resume otherwise). */
  interruption?: InterruptionOptions
  /** Adaptive end of turn (default on, with the built-in heuristic detector); false: the VAD's fixed wait. */
  turnDetection?: TurnDetectionOptions | false
  /** Start the LLM's answer while the user pauses (default on, after 200 ms); false: only once the turn ended. */
  preemptive?: PreemptiveOptions | false
  /** Prompt a silent user, then end the session (default off). */
  userIdle?: UserIdleOptions | false
  /** BCP 47 language of the conversations, for backchannels and turn detection (default 'en'). */
  language?: string
}

/** Environment variables that set the server's turn-taking when the options do not. */
export interface TurnTakingEnv {
  INTERRUPTION_MODE?: 'pause' | 'confirm' | 'off'
  TURN_DETECTION?: boolean
  PREEMPTIVE?: boolean
  USER_IDLE_MS?: number
}

/** The server's turn-taking (defaults on; options win over `env`), or one session's over the server's (`base`). */
export function resolveTurnTaking (given: TurnTakingOptions, base?: TurnTakingSettings, env: TurnTakingEnv = {}): TurnTakingSettings {
  const options: TurnTakingOptions = { ...given }
  if (options.interruption?.mode === undefined && env.INTERRUPTION_MODE !== undefined) options.interruption = { ...options.interruption, mode: env.INTERRUPTION_MODE }
  if (options.turnDetection === undefined && env.TURN_DETECTION === false) options.turnDetection = false
  if (options.preemptive === undefined && env.PREEMPTIVE === false) options.preemptive = false
  if (options.userIdle === undefined && env.USER_IDLE_MS !== undefined) options.userIdle = { afterMs: env.USER_IDLE_MS }
  const language = options.language ?? base?.language ?? 'en'
  if (typeof language !== 'string' || !/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(language)) invalidOption('language', "a BCP 47 language tag such as 'en' or 'fr-CA'", language)
  const detection = options.turnDetection
  return {
    interruption: resolveInterruptionOptions(options.interruption, base?.interruption ?? DEFAULT_INTERRUPTION_OPTIONS),
    preemptive: options.preemptive === undefined && base !== undefined ? base.preemptive : resolvePreemptiveOptions(options.preemptive),
    turnDetection: detection === undefined && base !== undefined
      ? base.turnDetection
      : resolveTurnDetectionOptions(detection === undefined ? {} : detection === false ? false : { language, ...detection }),
    userIdle: options.userIdle === undefined && base !== undefined ? base.userIdle : resolveUserIdleOptions(options.userIdle),
    language
  }
}
