import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER } from '../errors.js'
import type { LLMRTCEnv } from '../config/env-schema.js'
import type { LLMProvider, Providers, STTProvider, TTSProvider } from './types.js'

export type ProviderRole = 'llm' | 'stt' | 'tts'

type ProviderOf<R extends ProviderRole> = R extends 'llm' ? LLMProvider : R extends 'stt' ? STTProvider : TTSProvider

/** Builds a provider from the environment; registered under a name per role. */
export interface ProviderFactory<R extends ProviderRole> {
  name: string
  /** The environment variable whose presence selects this provider when no *_PROVIDER is set. */
  keyEnv?: keyof LLMRTCEnv
  /**
   * True when the provider's key was given in its plugin's options (`openai: { apiKey }`): it is then
   * selected as one whose key variable is set, whatever the environment holds.
   */
  keyGiven?: boolean
  /**
   * Whether the provider, configured by `env`, keeps audio and text on this machine (no cloud service).
   * With LOCAL_ONLY=true only these providers and the built-in are chosen. Default: not local.
   */
  local?: (env: LLMRTCEnv) => boolean
  /**
   * For a provider that needs no key: why it should serve the role by default in `env` ("espeak-ng is
   * installed"), or undefined when it should not. Asked after every factory whose key is set and before
   * the built-in, so a key always wins.
   */
  fallback?: (env: LLMRTCEnv) => string | undefined
  create: (env: LLMRTCEnv) => ProviderOf<R>
}

/** Which provider serves a role, and why (for the start-up log; never contains a secret). */
export interface ProviderChoice<R extends ProviderRole> {
  provider: ProviderOf<R>
  reason: string
}

const roleEnv = { llm: 'LLM_PROVIDER', stt: 'STT_PROVIDER', tts: 'TTS_PROVIDER' } as const

/**
 * Named provider factories per role. Selection: an explicit provider object wins, then the role's
 * *_PROVIDER variable, then the first registered factory whose key is given in options or whose key
 * variable is set, then the first
 * whose `fallback` gives a reason, then the built-in. With LOCAL_ONLY=true every step after the explicit
 * object admits only local factories (and the built-in); naming another one fails.
 */
export class ProviderRegistry {
  readonly #factories: { [R in ProviderRole]: Array<ProviderFactory<R>> } = { llm: [], stt: [], tts: [] }
  readonly #builtin: { [R in ProviderRole]: ProviderFactory<R> }

  constructor (builtin: { [R in ProviderRole]: ProviderFactory<R> }) {
    this.#builtin = builtin
  }

  /**
   * Registers `factory` under its name for `role`. A second registration under the same name replaces
   * the first in its place (the order keys are tried in stays the order of first registration).
   */
  register<R extends ProviderRole> (role: R, factory: ProviderFactory<R>): void {
    const list = this.#factories[role] as Array<ProviderFactory<R>>
    const index = list.findIndex(f => f.name === factory.name)
    if (index >= 0) list[index] = factory
    else list.push(factory)
  }

  names (role: ProviderRole): string[] {
    return [this.#builtin[role].name, ...this.#factories[role].map(f => f.name)]
  }

  /** The factory registered under `name` for `role` (not the built-in), if any. */
  get<R extends ProviderRole> (role: R, name: string): ProviderFactory<R> | undefined {
    return (this.#factories[role] as Array<ProviderFactory<R>>).find(f => f.name === name)
  }

  select<R extends ProviderRole> (role: R, env: LLMRTCEnv, explicit: ProviderOf<R> | undefined): ProviderChoice<R> {
    if (explicit !== undefined) return { provider: explicit, reason: 'given in options' }
    const builtin = this.#builtin[role] as ProviderFactory<R>
    const factories = this.#factories[role] as Array<ProviderFactory<R>>
    const localOnly = env.LOCAL_ONLY === true
    const admitted = (factory: ProviderFactory<R>): boolean => !localOnly || factory === builtin || factory.local?.(env) === true
    const prefix = localOnly ? 'LOCAL_ONLY=true, ' : ''
    const wanted = env[roleEnv[role]]
    if (wanted !== undefined) {
      const factory = wanted === builtin.name ? builtin : factories.find(f => f.name === wanted)
      if (factory === undefined) throw new LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER(role, wanted, this.names(role).join(', '))
      if (!admitted(factory)) {
        const local = [builtin, ...factories].filter(admitted).map(f => f.name).join(', ')
        throw new LLMRTC_ERR_OPTIONS_INVALID(roleEnv[role], `a provider that runs on this machine because LOCAL_ONLY=true (${local})`, JSON.stringify(wanted))
      }
      return { provider: factory.create(env), reason: `${prefix}${roleEnv[role]}=${wanted}` }
    }
    for (const factory of factories) {
      if (!admitted(factory)) continue
      if (factory.keyGiven === true) return { provider: factory.create(env), reason: `${prefix}its apiKey option is set` }
      if (factory.keyEnv !== undefined && env[factory.keyEnv] !== undefined) {
        return { provider: factory.create(env), reason: `${prefix}${factory.keyEnv} is set` }
      }
    }
    for (const factory of factories) {
      const why = admitted(factory) ? factory.fallback?.(env) : undefined
      if (why !== undefined) return { provider: factory.create(env), reason: `${prefix}${why}` }
    }
    return { provider: builtin.create(env), reason: localOnly ? 'LOCAL_ONLY=true, built-in' : 'default (no provider configured)' }
  }

  selectAll (env: LLMRTCEnv, explicit: Partial<Providers>): { [R in ProviderRole]: ProviderChoice<R> } {
    return {
      llm: this.select('llm', env, explicit.llm),
      stt: this.select('stt', env, explicit.stt),
      tts: this.select('tts', env, explicit.tts)
    }
  }
}
