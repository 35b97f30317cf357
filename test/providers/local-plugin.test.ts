import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcHooks from '../../plugins/hooks/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviders from '../../plugins/providers/index.js'
import llmrtcProviderOpenAI from '../../plugins/providers/openai/index.js'
import llmrtcProviderLocal, { type LLMRTCLocalOptions } from '../../plugins/providers/local/index.js'
import { buildApp } from '../helpers/app.js'
import { synthesizeSpeech } from '../helpers/speech.js'
import { connect } from '../helpers/ws-client.js'
import { MOCK_REPLY, startOpenAIMock } from '../mocks/openai-mock.js'
import { scratchDir } from '../helpers/scratch-dir.js'

// Needs Debian's espeak-ng, pocketsphinx and pocketsphinx-en-us (.ci/run installs them).

const PATH = process.env.PATH ?? '/usr/bin:/bin'

/** llmrtc without WebRTC; the umbrella gives the local plugin its environment and `local` options. */
async function localApp (t: Test, env: Record<string, string>, local: Omit<LLMRTCLocalOptions, 'env'> = {}): Promise<FastifyInstance> {
  return await buildApp(t, { webrtc: false, env, local })
}

function chosen (app: FastifyInstance): Record<string, [string, string]> {
  const p = app.llmrtcProviders
  return { stt: [p.stt.name, p.reasons.stt], llm: [p.llm.name, p.reasons.llm], tts: [p.tts.name, p.reasons.tts] }
}

t.test('with no key, espeak-ng and pocketsphinx serve by default when the environment\'s PATH has them', async t => {
  const app = await localApp(t, { PATH })
  t.same(chosen(app), {
    stt: ['pocketsphinx-stt', 'pocketsphinx is installed (no STT key set)'],
    llm: ['builtin-assistant', 'default (no provider configured)'],
    tts: ['espeak-tts', 'espeak-ng is installed (no TTS key set)']
  })
  t.equal(app.llmrtcProviders.tts.pcmSampleRate, 22050)
  t.match(app.llmrtcProviders.registry.names('tts'), ['builtin'])
  t.ok(app.llmrtcProviders.registry.names('tts').includes('espeak'))
})

t.test('an environment without PATH keeps the built-in defaults; the local providers still serve by name', async t => {
  t.same(Object.values(chosen(await localApp(t, {}))).map(([name]) => name), ['builtin-placeholder-stt', 'builtin-assistant', 'builtin-tone-tts'])
  t.same(Object.values(chosen(await localApp(t, { PATH: '/nonexistent' }))).map(([name]) => name), ['builtin-placeholder-stt', 'builtin-assistant', 'builtin-tone-tts'], 'nothing installed: built-in')
  const named = await localApp(t, { STT_PROVIDER: 'pocketsphinx', TTS_PROVIDER: 'espeak' })
  t.same(chosen(named), {
    stt: ['pocketsphinx-stt', 'STT_PROVIDER=pocketsphinx'],
    llm: ['builtin-assistant', 'default (no provider configured)'],
    tts: ['espeak-tts', 'TTS_PROVIDER=espeak']
  })
  const noDefaults = Fastify({ logger: false })
  t.teardown(() => noDefaults.close())
  await noDefaults.register(llmrtcConfig, { env: { PATH } })
  await noDefaults.register(llmrtcHooks)
  await noDefaults.register(llmrtcProviders)
  await noDefaults.register(llmrtcProviderLocal, { env: false })
  await noDefaults.ready()
  t.equal(noDefaults.llmrtcProviders.tts.name, 'builtin-tone-tts', 'env: false searches no PATH')
})

t.test('a key still wins over the local providers', async t => {
  const mock = await startOpenAIMock({ apiKey: 'sk-test' })
  t.teardown(() => mock.close())
  const app = await localApp(t, { PATH, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: mock.baseURL })
  t.same(Object.values(chosen(app)).map(([name, reason]) => `${name}: ${reason}`), ['openai-stt: OPENAI_API_KEY is set', 'openai-llm: OPENAI_API_KEY is set', 'openai-tts: OPENAI_API_KEY is set'])
})

t.test('LOCAL_ONLY=true chooses the local stack and never a cloud key', async t => {
  const app = await localApp(t, { LOCAL_ONLY: 'true', OPENAI_API_KEY: 'sk-cloud', DEEPGRAM_API_KEY: 'dg-cloud', CARTESIA_API_KEY: 'sk_car_cloud' })
  t.same(chosen(app), {
    stt: ['pocketsphinx-stt', 'LOCAL_ONLY=true, pocketsphinx is installed (no STT key set)'],
    llm: ['builtin-assistant', 'LOCAL_ONLY=true, built-in'],
    tts: ['espeak-tts', 'LOCAL_ONLY=true, espeak-ng is installed (no TTS key set)']
  })
  const fastify = Fastify({ logger: false })
  t.teardown(() => fastify.close())
  const env = { LOCAL_ONLY: 'true', TTS_PROVIDER: 'cartesia', CARTESIA_API_KEY: 'sk_car_cloud' }
  await fastify.register(llmrtc, { webrtc: false, env })
  await t.rejects(async () => { await fastify.ready() }, {
    code: 'LLMRTC_ERR_OPTIONS_INVALID',
    message: /"TTS_PROVIDER": expected a provider that runs on this machine because LOCAL_ONLY=true \(builtin, espeak\), instead got "cartesia"/
  })
})

t.test('LOCAL_ONLY=true uses an OpenAI-compatible server at a local OPENAI_BASE_URL, and only there', async t => {
  const mock = await startOpenAIMock()
  t.teardown(() => mock.close())
  const app = await localApp(t, { LOCAL_ONLY: 'true', OPENAI_BASE_URL: mock.baseURL, OPENAI_MODEL: 'llama3.2', STT_PROVIDER: 'openai' })
  t.same(chosen(app), {
    stt: ['openai-stt', 'LOCAL_ONLY=true, STT_PROVIDER=openai'],
    llm: ['openai-llm', 'LOCAL_ONLY=true, OPENAI_BASE_URL is a local server'],
    tts: ['espeak-tts', 'LOCAL_ONLY=true, espeak-ng is installed (no TTS key set)']
  })
  t.equal((await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })).fullText, MOCK_REPLY)
  t.match(mock.requestsTo('chat')[0], { headers: { authorization: 'Bearer local' }, body: { model: 'llama3.2' } })

  const withoutLocalOnly = await localApp(t, { PATH, OPENAI_BASE_URL: mock.baseURL })
  t.equal(withoutLocalOnly.llmrtcProviders.llm.name, 'builtin-assistant', 'without LOCAL_ONLY a base URL alone selects nothing (LLM_PROVIDER=openai does)')

  const fastify = Fastify({ logger: false })
  t.teardown(() => fastify.close())
  const env = { LOCAL_ONLY: 'true', LLM_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-cloud', OPENAI_BASE_URL: 'https://api.openai.com/v1' }
  await fastify.register(llmrtc, { webrtc: false, env })
  await t.rejects(async () => { await fastify.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"LLM_PROVIDER": expected a provider that runs on this machine .*instead got "openai"/ })
})

t.test('the environment configures the voice and what pocketsphinx listens for', async t => {
  const speech = encodeWav(await synthesizeSpeech('Close the door.'), 16000)
  const phrases = await localApp(t, { PATH, POCKETSPHINX_PHRASES: 'open the door|close the door', ESPEAK_VOICE: 'en-gb', ESPEAK_RATE: '200' })
  t.equal((await phrases.llmrtcProviders.stt.transcribe(speech)).text, 'close the door')
  t.ok((await phrases.llmrtcProviders.tts.speak('Hello.')).audio.length > 1000, 'ESPEAK_VOICE and ESPEAK_RATE make a working voice')

  const dir = scratchDir()
  writeFileSync(join(dir, 'door.gram'), '#JSGF V1.0;\ngrammar door;\npublic <c> = (open | close) the door;\n')
  const file = await localApp(t, { PATH, POCKETSPHINX_GRAMMAR: join(dir, 'door.gram') })
  t.equal((await file.llmrtcProviders.stt.transcribe(speech)).text, 'close the door')

  const assistant = await localApp(t, { PATH })
  t.match((await assistant.llmrtcProviders.stt.transcribe(encodeWav(await synthesizeSpeech('The weather in Paris is lovely in the spring'), 16000))).text,
    /matched none of the phrases/, 'the default grammar is the built-in assistant\'s, and it says when nothing matched')

  const failures: Array<[Record<string, string>, RegExp]> = [
    [{ POCKETSPHINX_GRAMMAR: '/nonexistent/door.gram', STT_PROVIDER: 'pocketsphinx' }, /"POCKETSPHINX_GRAMMAR": expected assistant, open or the path of an existing JSGF .gram file/],
    [{ ESPEAK_VOICE: 'nosuchvoice', TTS_PROVIDER: 'espeak' }, /espeak-tts.*voice does not exist/],
    [{ ESPEAK_RATE: '900' }, /ESPEAK_RATE.*450/]
  ]
  for (const [env, message] of failures) {
    const fastify = Fastify({ logger: false })
    t.teardown(() => fastify.close())
    await t.rejects(async () => {
      await fastify.register(llmrtc, { webrtc: false, env })
      await fastify.ready()
    }, { message }, JSON.stringify(env))
  }
})

t.test('naming a local provider that is not installed fails start-up saying how to install it', async t => {
  for (const [env, local, message] of [
    [{ TTS_PROVIDER: 'espeak' }, { espeak: { binary: '/nonexistent/espeak-ng' } }, /espeak-ng was not found on PATH: install it \(Debian\/Ubuntu: apt-get install espeak-ng/],
    [{ STT_PROVIDER: 'pocketsphinx' }, { pocketsphinx: { binary: '/nonexistent/pocketsphinx' } }, /pocketsphinx or its US English model was not found on PATH: .*apt-get install pocketsphinx pocketsphinx-en-us/]
  ] as const) {
    const fastify = Fastify({ logger: false })
    t.teardown(() => fastify.close())
    await fastify.register(llmrtc, { webrtc: false, env, local })
    await t.rejects(async () => { await fastify.ready() }, { code: 'LLMRTC_ERR_PROVIDER_INIT', message })
  }
  const fastify = Fastify({ logger: false })
  t.teardown(() => fastify.close())
  await t.rejects(async () => { await fastify.register(llmrtcProviderLocal).ready() }, /llmrtcProviders' required by 'llmrtc-provider-local'/)
})

t.test('with the local stack an utterance is heard, answered by the built-in assistant and spoken by espeak-ng', async t => {
  const app = await localApp(t, { PATH })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(await synthesizeSpeech('What time is it?'), 16_000).toString('base64') })
  // pocketsphinx and espeak-ng run for real: longer than the recorder's default 5 s on a loaded machine.
  await client.next('tts-complete', 0, 60_000)
  t.match(client.messages.find(m => m.type === 'transcript'), { text: 'what time is it', isFinal: true })
  t.match(client.messages.find(m => m.type === 'llm'), { text: /^It is \d{1,2}:\d{2} (AM|PM)\.$/ })
  const chunk = client.messages.find(m => m.type === 'tts-chunk') as { sampleRate: number, data: string }
  t.equal(chunk.sampleRate, 22_050)
  t.ok(Buffer.from(chunk.data, 'base64').length > 0)
  client.ws.terminate()
})

t.test('registering a provider plugin again after the umbrella keeps the OpenAI provider local', async t => {
  const mock = await startOpenAIMock()
  t.teardown(() => mock.close())
  const env = { LOCAL_ONLY: 'true', OPENAI_BASE_URL: mock.baseURL, PATH }
  const app = await buildApp(t, { webrtc: false, env }, async app => {
    await app.register(llmrtcProviderOpenAI, { llm: { model: 'llama3.2' } })
    await app.register(llmrtcProviderLocal, { env })
    await app.register(llmrtcProviderOpenAI, { llm: { model: 'llama3.2' } })
  })
  t.same(chosen(app), {
    stt: ['pocketsphinx-stt', 'LOCAL_ONLY=true, pocketsphinx is installed (no STT key set)'],
    llm: ['openai-llm', 'LOCAL_ONLY=true, OPENAI_BASE_URL is a local server'],
    tts: ['espeak-tts', 'LOCAL_ONLY=true, espeak-ng is installed (no TTS key set)']
  })
  t.same(app.llmrtcProviders.registry.names('llm'), ['builtin', 'gemini', 'anthropic', 'bedrock', 'openai'], 'one factory per name')
  await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })
  t.match(mock.requestsTo('chat')[0]?.body, { model: 'llama3.2' }, 'the last registration\'s options apply')
})

t.test('the umbrella\'s local option reaches espeak-ng, and the plugin works registered alone with its declared dependencies', async t => {
  const app = await localApp(t, { PATH }, { espeak: { binary: '/nonexistent/espeak-ng' } })
  t.equal(app.llmrtcProviders.tts.name, 'builtin-tone-tts', 'the binary option is searched for, not espeak-ng on PATH')

  const alone = Fastify({ logger: false })
  t.teardown(() => alone.close())
  await alone.register(llmrtcConfig, { env: false })
  await alone.register(llmrtcHooks)
  await alone.register(llmrtcProviders)
  await alone.register(llmrtcProviderLocal, { env: { PATH } })
  await alone.ready()
  t.equal(alone.llmrtcProviders.tts.name, 'espeak-tts')
  t.equal((await alone.llmrtcProviders.stt.transcribe(encodeWav(await synthesizeSpeech('What time is it?'), 16_000))).text, 'what time is it')
})
