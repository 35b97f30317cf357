import t from 'tap'
import { silentLogger } from '../../lib/logger.js'
import { realtimeOpener, type RealtimeProviderSettings } from '../../lib/realtime/open-provider.js'
import { startGeminiLiveMock } from '../mocks/gemini-live-mock.js'

const KEY = 'gemini-opener-test-key'

t.test('the opener dispatches on the provider and passes the setup (instructions, tools, resumption handle)', async t => {
  const mock = await startGeminiLiveMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  const settings: RealtimeProviderSettings = {
    provider: 'gemini',
    model: 'gemini-live-test',
    voice: 'Aoede',
    transcription: {},
    turnDetection: { type: 'server_vad' },
    apiKey: KEY,
    baseURL: mock.baseURL,
    connectTimeoutMs: 5000
  }
  const tools = [{ name: 'lookup', description: 'Looks up', parameters: { type: 'object', properties: { q: { type: 'string' } } } }]
  const session = await realtimeOpener(settings)({ instructions: 'Stage two.', tools, resumeHandle: 'h-9', signal: new AbortController().signal, log: silentLogger })
  t.teardown(() => { session.close() })
  t.equal(session.inputRateHz, 16_000, 'a Gemini Live session')
  const { setup } = await mock.waitFor('setup')
  t.equal(setup.model, 'models/gemini-live-test')
  t.same(setup.systemInstruction, { parts: [{ text: 'Stage two.' }] })
  t.same(setup.sessionResumption, { handle: 'h-9' })
  t.equal(setup.tools[0].functionDeclarations[0].name, 'lookup')
  t.equal(setup.generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName, 'Aoede')

  // The same settings with provider 'openai' go to the OpenAI Realtime client (which cannot speak to this mock).
  const openai = realtimeOpener({ ...settings, provider: 'openai', connectTimeoutMs: 2000 })
  await t.rejects(openai({ tools: [], signal: new AbortController().signal, log: silentLogger }), { code: 'LLMRTC_ERR_REALTIME', message: /"openai-realtime"/ })
  t.equal(mock.handshakes.filter(h => h.accepted).length, 1, 'the OpenAI client made no Gemini handshake')
})
