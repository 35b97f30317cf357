import { ProviderRegistry } from '../provider-registry.js'
import { PlaceholderSTT } from './placeholder-stt.js'
import { RuleBasedLLM } from './rule-based-llm.js'
import { ToneTTS } from './tone-tts.js'

export { PlaceholderSTT, RuleBasedLLM, ToneTTS }

/** A registry whose defaults are the built-in, key-free providers. */
export function createProviderRegistry (): ProviderRegistry {
  return new ProviderRegistry({
    llm: { name: 'builtin', create: () => new RuleBasedLLM() },
    stt: { name: 'builtin', create: () => new PlaceholderSTT() },
    tts: { name: 'builtin', create: () => new ToneTTS() }
  })
}
