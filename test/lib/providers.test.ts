import t from 'tap'
import { createProviderRegistry, PlaceholderSTT, RuleBasedLLM, ToneTTS } from '../../lib/providers/builtin/index.js'
import { BUILTIN_ASSISTANT_PHRASES } from '../../lib/providers/builtin/rule-based-llm.js'
import { encodeWav } from '../../lib/audio/wav.js'
import { llmConformance, sttConformance, ttsConformance } from '../helpers/provider-conformance.js'
import { tone } from '../helpers/audio.js'

t.test('the built-in assistant passes the LLM conformance suite', async t => {
  await llmConformance(t, new RuleBasedLLM())
})

t.test('the placeholder STT passes the STT conformance suite and never invents words', async t => {
  await sttConformance(t, new PlaceholderSTT(), tone(1500), /^I heard 1\.5 seconds of speech, but no speech recognizer is configured\.$/)
  t.same(await new PlaceholderSTT().transcribe(Buffer.from('not a wav')), { text: '', isFinal: true })
})

t.test('the tone TTS passes the TTS conformance suite', async t => {
  await ttsConformance(t, new ToneTTS())
})

t.test('the built-in assistant answers by rule', async t => {
  const llm = new RuleBasedLLM({ now: () => Date.UTC(2026, 10, 25, 15, 4) })
  t.match(llm.reply('Hello'), /^Hello! I am the built-in assistant/)
  t.match(llm.reply('what time is it?'), /^It is \d{1,2}:\d{2} (AM|PM)\.$/)
  t.match(llm.reply('what is the date today'), /^Today is \w+day, November 2\d, 2026\.$/)
  t.equal(llm.reply('Repeat after me: the cat sat on the mat.'), 'the cat sat on the mat.')
  t.match(llm.reply('repeat after me'), /^Say "repeat after me"/)
  t.match(llm.reply('what can you do'), /tell you the time/)
  t.match(llm.reply('how do I configure a real model'), /OPENAI_API_KEY/)
  t.match(llm.reply('explain quantum physics'), /only the built-in assistant/)
  t.match(llm.reply(''), /did not catch that/)
  t.equal(llm.reply('thank you'), 'You are welcome.')
  t.equal(llm.reply('goodbye'), 'Goodbye! Talk to you soon.')
})

t.test('the built-in assistant answers every phrase the local recognizer listens for, and explains the recognizer transcripts', async t => {
  const llm = new RuleBasedLLM()
  const fallback = llm.reply('explain quantum physics')
  for (const phrase of BUILTIN_ASSISTANT_PHRASES) t.not(llm.reply(phrase), fallback, `"${phrase}" gets a real answer`)
  t.equal(llm.reply('repeat after me the cat sat on the mat'), 'the cat sat on the mat.')
  t.match(llm.reply('how do I set up a real model'), /OPENAI_API_KEY.*LLM_PROVIDER=openai.*OPENAI_BASE_URL/)
  t.match(llm.reply('I heard 1.4 seconds of speech, but no speech recognizer is configured.'), /cannot understand words.*pocketsphinx.*OPENAI_API_KEY/)
  t.match(llm.reply('I heard 2.0 seconds of speech, but it matched none of the phrases I listen for.'), /only understand a few phrases/)
  t.match(llm.reply('how are you'), /^I am fine/)
  t.match(fallback, /OPENAI_API_KEY.*OPENAI_BASE_URL/)
})

t.test('the built-in assistant streams word by word, at a set pace if asked', async t => {
  const llm = new RuleBasedLLM({ wordDelayMs: 1 })
  const words = []
  for await (const chunk of llm.stream({ messages: [{ role: 'user', content: 'say hello' }] })) words.push(chunk.content)
  t.same(words.join(''), llm.reply('say hello'))
  t.ok(words.length > 5)
  const controller = new AbortController()
  const iterator = llm.stream({ messages: [{ role: 'user', content: 'hello' }], signal: controller.signal })[Symbol.asyncIterator]()
  await iterator.next()
  controller.abort()
  t.same(await iterator.next(), { done: true, value: undefined }, 'abort ends the stream during a word delay')
})

t.test('the tone TTS gives audio whose length follows the text, as WAV or PCM', async t => {
  const tts = new ToneTTS({ sampleRateHz: 16000, wordMs: 100 })
  const one = tts.synthesize('one')
  const three = tts.synthesize('one two three')
  t.equal(three.length, one.length * 3)
  const wav = await tts.speak('hi')
  t.equal(wav.format, 'wav')
  t.equal(wav.audio.toString('ascii', 0, 4), 'RIFF')
  const pcm = await tts.speak('hi', { format: 'pcm' })
  t.same({ format: pcm.format, rate: pcm.sampleRate }, { format: 'pcm', rate: 16000 })
  t.ok(encodeWav(pcm.audio, 16000).length > pcm.audio.length)
})

t.test('providers are chosen explicitly, then by *_PROVIDER, then by key, then the built-in', async t => {
  const registry = createProviderRegistry()
  const mine = new RuleBasedLLM()
  registry.register('llm', { name: 'cloud', keyEnv: 'OPENAI_API_KEY', create: () => ({ name: 'cloud-llm', complete: async () => ({ fullText: '' }) }) })
  registry.register('llm', { name: 'other', create: () => ({ name: 'other-llm', complete: async () => ({ fullText: '' }) }) })
  t.same(pick(registry.select('llm', {}, mine)), { name: 'builtin-assistant', reason: 'given in options' })
  t.equal(registry.select('llm', {}, mine).provider, mine)
  t.same(pick(registry.select('llm', { LLM_PROVIDER: 'other', OPENAI_API_KEY: 'k' }, undefined)), { name: 'other-llm', reason: 'LLM_PROVIDER=other' })
  t.same(pick(registry.select('llm', { OPENAI_API_KEY: 'k' }, undefined)), { name: 'cloud-llm', reason: 'OPENAI_API_KEY is set' })
  t.same(pick(registry.select('llm', {}, undefined)), { name: 'builtin-assistant', reason: 'default (no provider configured)' })
  t.same(pick(registry.select('llm', { LLM_PROVIDER: 'builtin', OPENAI_API_KEY: 'k' }, undefined)), { name: 'builtin-assistant', reason: 'LLM_PROVIDER=builtin' })
  t.throws(() => registry.select('tts', { TTS_PROVIDER: 'nope' }, undefined), {
    code: 'LLMRTC_ERR_OPTIONS_UNKNOWN_PROVIDER',
    message: 'Unknown tts provider "nope": expected one of builtin'
  })
  t.same(registry.names('llm'), ['builtin', 'cloud', 'other'])
  registry.register('llm', { name: 'other', create: () => ({ name: 'replaced', complete: async () => ({ fullText: '' }) }) })
  t.equal(registry.select('llm', { LLM_PROVIDER: 'other' }, undefined).provider.name, 'replaced', 'a factory re-registered under its name replaces the old one')
  const all = registry.selectAll({}, {})
  t.same([all.llm.provider.name, all.stt.provider.name, all.tts.provider.name], ['builtin-assistant', 'builtin-placeholder-stt', 'builtin-tone-tts'])
})

function pick (choice: { provider: { name: string }, reason: string }): { name: string, reason: string } {
  return { name: choice.provider.name, reason: choice.reason }
}

t.test('keyless fallbacks serve after every key and before the built-in; LOCAL_ONLY admits only local providers', async t => {
  const registry = createProviderRegistry()
  const tts = (name: string) => () => ({ name, speak: async () => ({ audio: Buffer.alloc(0), format: 'pcm' as const }) })
  registry.register('tts', { name: 'cloud', keyEnv: 'CARTESIA_API_KEY', create: tts('cloud-tts') })
  registry.register('tts', { name: 'server', keyEnv: 'OPENAI_API_KEY', local: env => env.OPENAI_BASE_URL === 'http://127.0.0.1/v1', create: tts('server-tts') })
  registry.register('tts', { name: 'absent', local: () => true, fallback: () => undefined, create: tts('absent-tts') })
  registry.register('tts', { name: 'speaker', local: () => true, fallback: () => 'speaker is installed', create: tts('speaker-tts') })
  t.same(pick(registry.select('tts', {}, undefined)), { name: 'speaker-tts', reason: 'speaker is installed' }, 'a fallback beats the built-in')
  t.same(pick(registry.select('tts', { CARTESIA_API_KEY: 'k' }, undefined)), { name: 'cloud-tts', reason: 'CARTESIA_API_KEY is set' }, 'a key beats a fallback')
  t.same(pick(registry.select('tts', { TTS_PROVIDER: 'builtin' }, undefined)), { name: 'builtin-tone-tts', reason: 'TTS_PROVIDER=builtin' })
  t.same(pick(registry.select('tts', { LOCAL_ONLY: true, CARTESIA_API_KEY: 'k', OPENAI_API_KEY: 'k' }, undefined)), { name: 'speaker-tts', reason: 'LOCAL_ONLY=true, speaker is installed' }, 'LOCAL_ONLY ignores cloud keys')
  t.same(pick(registry.select('tts', { LOCAL_ONLY: true, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://127.0.0.1/v1' }, undefined)), { name: 'server-tts', reason: 'LOCAL_ONLY=true, OPENAI_API_KEY is set' }, 'a keyed provider on a local server is admitted')
  t.same(pick(registry.select('tts', { LOCAL_ONLY: true, TTS_PROVIDER: 'absent' }, undefined)), { name: 'absent-tts', reason: 'LOCAL_ONLY=true, TTS_PROVIDER=absent' })
  t.throws(() => registry.select('tts', { LOCAL_ONLY: true, TTS_PROVIDER: 'cloud' }, undefined), {
    code: 'LLMRTC_ERR_OPTIONS_INVALID',
    message: 'Invalid llmrtc option "TTS_PROVIDER": expected a provider that runs on this machine because LOCAL_ONLY=true (builtin, absent, speaker), instead got "cloud"'
  })
  const mine = new ToneTTS()
  t.equal(registry.select('tts', { LOCAL_ONLY: true }, mine).provider, mine, 'a provider given in code is used as given')
  t.same(pick(registry.select('llm', { LOCAL_ONLY: true, OPENAI_API_KEY: 'k' }, undefined)), { name: 'builtin-assistant', reason: 'LOCAL_ONLY=true, built-in' })
  t.equal(registry.get('tts', 'speaker')?.name, 'speaker')
  t.equal(registry.get('tts', 'builtin'), undefined, 'get() returns registered factories only')
})
