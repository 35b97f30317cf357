import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
const PROBE = fileURLToPath(new URL('./lazy-sdks-probe.mjs', import.meta.url))

/** The provider and carrier SDKs, by package name. */
const PROVIDER_SDKS = ['@anthropic-ai/sdk', '@google/genai', '@aws-sdk/client-bedrock-runtime', '@deepgram/sdk', '@cartesia/cartesia-js', 'openai', '@elevenlabs/elevenlabs-js', 'twilio', 'telnyx', 'plivo']

interface Phase { phase: 'import' | 'ready', loaded: string[], providers?: string[] }

/** The probe's phases, in a fresh process (an SDK loaded by this one would not count there). */
async function probe (options?: Record<string, unknown>): Promise<Record<string, Phase>> {
  const args = [PROBE, ...(options !== undefined ? [JSON.stringify(options)] : [])]
  const { stdout } = await run(process.execPath, args, { timeout: 120_000 })
  const phases = stdout.trim().split('\n').map(line => JSON.parse(line) as Phase)
  return Object.fromEntries(phases.map(phase => [phase.phase, phase]))
}

t.test('importing the llmrtc plugin loads no provider SDK', async t => {
  const { import: imported } = await probe()
  t.ok(imported?.loaded.includes('fastify'), 'the probe sees the packages llmrtc loads')
  for (const sdk of PROVIDER_SDKS) {
    t.notOk(imported?.loaded.includes(sdk), `${sdk} is not loaded`)
  }
})

t.test('registering llmrtc with a Deepgram key loads the Deepgram SDK by ready(), and no other', async t => {
  const phases = await probe({ deepgram: { apiKey: 'dg-test-key', baseUrl: 'http://127.0.0.1:9' } })
  t.notOk(phases.import?.loaded.includes('@deepgram/sdk'), 'not at import')
  t.same(phases.ready?.providers?.slice(1), ['deepgram', 'deepgram'], 'Deepgram serves STT and TTS')
  t.ok(phases.ready?.loaded.includes('@deepgram/sdk'), 'loaded by ready() (its init), before any turn')
  for (const sdk of PROVIDER_SDKS.filter(sdk => sdk !== '@deepgram/sdk')) {
    t.notOk(phases.ready?.loaded.includes(sdk), `${sdk} is still not loaded`)
  }
})

t.test('an Anthropic LLM and a Cartesia TTS load their SDKs by ready()', async t => {
  const phases = await probe({ anthropic: { apiKey: 'sk-ant-test' }, cartesia: { apiKey: 'cartesia-test' } })
  t.same(phases.ready?.providers, ['anthropic-llm', 'builtin-placeholder-stt', 'cartesia'])
  for (const sdk of ['@anthropic-ai/sdk', '@cartesia/cartesia-js']) {
    t.notOk(phases.import?.loaded.includes(sdk), `${sdk} not at import`)
    t.ok(phases.ready?.loaded.includes(sdk), `${sdk} loaded by ready()`)
  }
  t.notOk(phases.ready?.loaded.includes('@deepgram/sdk'), 'an SDK of a provider not chosen stays unloaded')
})

t.test('the exported client factories resolve to SDK clients once the SDK loaded, and reject bad options', async t => {
  const [{ createOpenAIClient }, { createAnthropicClient }, { createGeminiClient, resolveGeminiOptions }, { createBedrockClient }] = await Promise.all([
    import('../../lib/providers/openai/index.js'),
    import('../../lib/providers/anthropic/index.js'),
    import('../../lib/providers/gemini/index.js'),
    import('../../lib/providers/bedrock/index.js')
  ])
  const { default: OpenAI } = await import('openai')
  const { default: Anthropic } = await import('@anthropic-ai/sdk')
  const { GoogleGenAI } = await import('@google/genai')
  const { BedrockRuntimeClient } = await import('@aws-sdk/client-bedrock-runtime')
  t.ok(await createOpenAIClient({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1' }, 'LLM') instanceof OpenAI)
  t.ok(await createAnthropicClient({ apiKey: 'sk-ant-test' }) instanceof Anthropic)
  t.ok(await createGeminiClient(resolveGeminiOptions({ apiKey: 'gemini-test' })) instanceof GoogleGenAI)
  const bedrock = await createBedrockClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } })
  t.ok(bedrock instanceof BedrockRuntimeClient)
  bedrock.destroy()
  await t.rejects(createOpenAIClient({ apiKey: '' }, 'LLM'), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET' })
  await t.rejects(createAnthropicClient({ apiKey: 'k', maxRetries: -1 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  await t.rejects(createBedrockClient({ credentials: { accessKeyId: '', secretAccessKey: 'secret' } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
})
