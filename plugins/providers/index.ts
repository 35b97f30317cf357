import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { LLMRTC_ERR_PROVIDER_INIT, LLMRTC_ERR_PROVIDER_NOT_READY } from '../../lib/errors.js'
import { createProviderRegistry } from '../../lib/providers/builtin/index.js'
import { childLoggerOptions } from '../../lib/logger.js'
import type { ProviderRegistry } from '../../lib/providers/provider-registry.js'
import { failoverLLM, failoverSTT, failoverTTS, type FailoverEvent } from '../../lib/providers/failover.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../../lib/providers/types.js'

/** `fastify.llmrtcProviders`: the provider serving each role, chosen when the app gets ready. */
export interface LLMRTCProvidersDecorator {
  /** Provider plugins register their factories here before `ready`. */
  readonly registry: ProviderRegistry
  readonly llm: LLMProvider
  readonly stt: STTProvider
  readonly tts: TTSProvider
  /** Why each provider was chosen ("OPENAI_API_KEY is set", "default ..."): safe to log. */
  readonly reasons: { llm: string, stt: string, tts: string }
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcProviders: LLMRTCProvidersDecorator
  }
}

async function llmrtcProviders (fastify: FastifyInstance, _opts: object): Promise<void> {
  const log = fastify.log.child({ plugin: 'llmrtc-providers' }, childLoggerOptions)
  const registry = createProviderRegistry()
  const state: { llm?: LLMProvider, stt?: STTProvider, tts?: TTSProvider, reasons: { llm: string, stt: string, tts: string } } = {
    reasons: { llm: '', stt: '', tts: '' }
  }
  const decorator: LLMRTCProvidersDecorator = {
    registry,
    get llm () { return required(state.llm, 'llm') },
    get stt () { return required(state.stt, 'stt') },
    get tts () { return required(state.tts, 'tts') },
    get reasons () { return state.reasons }
  }
  fastify.decorate('llmrtcProviders', decorator)

  // Chosen once every provider plugin had its chance to register a factory.
  fastify.addHook('onReady', async function selectProviders () {
    const given = fastify.llmrtcConfig.providers
    const onFailover = (event: FailoverEvent): void => {
      log.warn({ role: event.role, from: event.from, to: event.to, err: event.error }, 'provider failed, failing over')
      void fastify.llmrtc.hooks.run('onProviderFailover', event)
    }
    const explicit = {
      llm: Array.isArray(given.llm) ? (given.llm.length === 1 ? given.llm[0] : failoverLLM(given.llm, onFailover)) : given.llm,
      stt: Array.isArray(given.stt) ? (given.stt.length === 1 ? given.stt[0] : failoverSTT(given.stt, onFailover)) : given.stt,
      tts: Array.isArray(given.tts) ? (given.tts.length === 1 ? given.tts[0] : failoverTTS(given.tts, onFailover)) : given.tts
    }
    const choice = registry.selectAll(fastify.llmrtcConfig.env, explicit)
    for (const role of ['llm', 'stt', 'tts'] as const) {
      const provider = choice[role].provider
      try {
        await provider.init?.()
      } catch (err) {
        if ((err as { code?: unknown }).code === 'LLMRTC_ERR_PROVIDER_INIT') throw err
        throw new LLMRTC_ERR_PROVIDER_INIT(provider.name, (err as Error).message, { cause: err })
      }
    }
    state.llm = choice.llm.provider
    state.stt = choice.stt.provider
    state.tts = choice.tts.provider
    state.reasons = { llm: choice.llm.reason, stt: choice.stt.reason, tts: choice.tts.reason }
    for (const role of ['stt', 'llm', 'tts'] as const) {
      log.info({ role, provider: choice[role].provider.name, reason: choice[role].reason }, 'provider selected')
    }
  })

  fastify.addHook('onClose', async function closeProviders () {
    for (const provider of [state.llm, state.stt, state.tts]) {
      try {
        await provider?.close?.()
      } catch (err) {
        log.error({ err, provider: provider?.name }, 'provider close failed')
      }
    }
  })
}

function required<T> (value: T | undefined, role: string): T {
  if (value === undefined) throw new LLMRTC_ERR_PROVIDER_NOT_READY(role)
  return value
}

export default fp(llmrtcProviders, {
  name: 'llmrtc-providers',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc'] }
})
