import { existsSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LLMRTCEnv } from '../../../lib/config/env-schema.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_PROVIDER_INIT } from '../../../lib/errors.js'
import { BUILTIN_ASSISTANT_PHRASES } from '../../../lib/providers/builtin/rule-based-llm.js'
import { ESPEAK_INSTALL_HINT, EspeakTTS, findExecutable, hasPocketsphinxModel, POCKETSPHINX_INSTALL_HINT, PocketsphinxSTT, type EspeakTTSOptions, type PocketsphinxSTTOptions } from '../../../lib/providers/local/index.js'
import { refuseUnknownProviderKeys } from '../option-keys.js'

/** Options of `llmrtc-provider-local`. */
export interface LLMRTCLocalOptions {
  /**
   * The environment llmrtc reads: pass llmrtc's own `env` option (default process.env; false reads
   * none). Its PATH is searched for espeak-ng and pocketsphinx to make them the no-key default; with no
   * PATH there they serve only when named (TTS_PROVIDER=espeak, STT_PROVIDER=pocketsphinx) or with
   * LOCAL_ONLY=true, so an app given an explicit environment keeps deterministic defaults.
   */
  env?: Record<string, string | undefined> | false
  /** espeak TTS options; they win over ESPEAK_VOICE and ESPEAK_RATE. */
  espeak?: EspeakTTSOptions
  /** pocketsphinx STT options; they win over POCKETSPHINX_GRAMMAR and POCKETSPHINX_PHRASES. */
  pocketsphinx?: PocketsphinxSTTOptions
}

const POCKETSPHINX_BINARIES = ['pocketsphinx_continuous', 'pocketsphinx']

/**
 * Registers the local providers: TTS `espeak` (espeak-ng) and STT `pocketsphinx`, run as separate
 * processes. With no key for their role they serve by default when installed (a key always wins).
 * (An OpenAI-compatible server at a local base URL is marked local by `llmrtc-provider-openai` itself.)
 */
async function llmrtcProviderLocal (fastify: FastifyInstance, opts: LLMRTCLocalOptions): Promise<void> {
  refuseUnknownProviderKeys('local', opts)
  const registry = fastify.llmrtcProviders.registry
  const given = opts.env === false ? undefined : (opts.env ?? process.env).PATH
  // Defaults come from the given environment's PATH; a provider asked for by name or by LOCAL_ONLY
  // is looked up on the PATH this process runs with.
  const searchPath = (asked: boolean): string | undefined => given ?? (asked ? process.env.PATH : undefined)
  const espeak = (asked: boolean): string | undefined => findExecutable(opts.espeak?.binary ?? 'espeak-ng', searchPath(asked))
  const pocketsphinx = (asked: boolean): string | undefined => {
    const path = searchPath(asked)
    const names = opts.pocketsphinx?.binary !== undefined ? [opts.pocketsphinx.binary] : POCKETSPHINX_BINARIES
    return names.map(name => findExecutable(name, path)).find(found => found !== undefined && hasPocketsphinxModel(found))
  }

  registry.register('tts', {
    name: 'espeak',
    local: () => true,
    fallback: env => espeak(env.LOCAL_ONLY === true) !== undefined ? 'espeak-ng is installed (no TTS key set)' : undefined,
    create: env => {
      const binary = espeak(true)
      if (binary === undefined) throw new LLMRTC_ERR_PROVIDER_INIT('espeak-tts', `espeak-ng was not found on PATH: ${ESPEAK_INSTALL_HINT}`)
      return new EspeakTTS({ ...opts.espeak, binary, voice: opts.espeak?.voice ?? env.ESPEAK_VOICE, rateWpm: opts.espeak?.rateWpm ?? env.ESPEAK_RATE })
    }
  })
  registry.register('stt', {
    name: 'pocketsphinx',
    local: () => true,
    fallback: env => pocketsphinx(env.LOCAL_ONLY === true) !== undefined ? 'pocketsphinx is installed (no STT key set)' : undefined,
    create: env => {
      const binary = pocketsphinx(true)
      if (binary === undefined) throw new LLMRTC_ERR_PROVIDER_INIT('pocketsphinx-stt', `pocketsphinx or its US English model was not found on PATH: ${POCKETSPHINX_INSTALL_HINT}`)
      return new PocketsphinxSTT({ ...(opts.pocketsphinx ?? grammarFromEnv(env)), binary })
    }
  })
}

/** What pocketsphinx listens for, from POCKETSPHINX_PHRASES or POCKETSPHINX_GRAMMAR. */
function grammarFromEnv (env: LLMRTCEnv): PocketsphinxSTTOptions {
  if (env.POCKETSPHINX_PHRASES !== undefined) return { phrases: env.POCKETSPHINX_PHRASES.split('|') }
  const grammar = env.POCKETSPHINX_GRAMMAR ?? 'assistant'
  if (grammar === 'assistant') return { phrases: BUILTIN_ASSISTANT_PHRASES, describeNoMatch: true }
  if (grammar === 'open') return {}
  if (!existsSync(grammar)) throw new LLMRTC_ERR_OPTIONS_INVALID('POCKETSPHINX_GRAMMAR', 'assistant, open or the path of an existing JSGF .gram file', JSON.stringify(grammar))
  return { grammarFile: grammar }
}

export default fp(llmrtcProviderLocal, {
  name: 'llmrtc-provider-local',
  fastify: '5.x',
  dependencies: ['llmrtc-providers'],
  decorators: { fastify: ['llmrtcProviders'] }
})
