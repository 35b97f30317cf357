import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { defineTool } from '../../lib/tools/define-tool.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import type { LLMRTCRealtimeOptions } from '../../plugins/realtime/index.js'
import { buildApp } from '../helpers/app.js'
import { listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'
import { connectOverNetwork } from '../helpers/ws-client.js'
import { startOpenAIRealtimeMock, type OpenAIRealtimeMock } from '../mocks/openai-realtime-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'

// Relay mode end to end: real speech (espeak-ng) over a real WebRTC peer, through the server's relay, to
// the OpenAI Realtime mock (the real SDK over wss:) and back on the paced track. Assertions are on order
// and content, not durations.
const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
isolateNetwork()
const KEY = 'sk-test-realtime-e2e'

async function start (t: Test, realtime: LLMRTCRealtimeOptions = {}, options: LLMRTCPluginOptions = {}): Promise<{ app: FastifyInstance, url: string, mock: OpenAIRealtimeMock }> {
  const mock = await startOpenAIRealtimeMock({ cert: tls as NonNullable<typeof tls>, apiKey: KEY, silenceMs: 700 })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { ...options, realtime: { provider: 'openai', apiKey: KEY, baseURL: mock.baseURL, ...realtime } })
  return { app, url: await listenUrl(app), mock }
}

t.test('a relay session: speech in, the model\'s audio out, its transcript and the usage; tokens in /metrics', async t => {
  const { app, url, mock } = await start(t, { instructions: 'Be brief.' })
  mock.script({ transcript: 'Hello from the realtime model.', audioMs: 1500 })
  const client = await voiceClient(t, url)
  t.equal(client.ready.mode, 'realtime', 'ready says realtime')
  t.equal(mock.handshakes.filter(h => h.accepted).length, 1, 'the provider session was opened on connect')
  await say(client, 'Hello there, what time is it right now?')
  for (const type of ['speech-start', 'speech-end', 'transcript', 'tts-start', 'usage', 'tts-complete'] as const) await client.waitFor(type, { timeoutMs: 20_000 })
  const types = client.wsMessages.map(m => m.type).filter(x => x !== 'assistant-transcript')
  const order = ['speech-start', 'speech-end', 'transcript', 'tts-start', 'usage', 'tts-complete'].map(x => types.indexOf(x as never))
  t.same(order, [...order].sort((a, b) => a - b), `protocol order: ${types.join(' ')}`)
  t.match(client.wsMessages.find(m => m.type === 'transcript'), { text: /I heard \d\.\d seconds of speech/, isFinal: true })
  t.match(client.wsMessages.find(m => m.type === 'assistant-transcript' && m.isFinal), { text: 'Hello from the realtime model.' })
  t.same(client.wsMessages.find(m => m.type === 'usage'), { type: 'usage', inputTokens: 100, outputTokens: 50, audioInputTokens: 80, audioOutputTokens: 40, cachedTokens: 10 })
  await client.audio.waitForSound(1000, 5000, 0)
  t.pass('the model\'s audio arrived on the client\'s track')
  t.notOk(client.wsMessages.some(m => m.type === 'llm-chunk' || m.type === 'metrics'), 'the pipeline took no part')
  const update = await mock.waitFor('session.update') as { session: { instructions: string } }
  t.equal(update.session.instructions, 'Be brief.')
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  // Counted per response (100 input, 40 audio output tokens each in the mock's usage).
  t.match(metrics.body, /llmrtc_realtime_tokens_total\{model="gpt-realtime",kind="input"\} [1-9]0*0\b/)
  t.match(metrics.body, /llmrtc_realtime_tokens_total\{model="gpt-realtime",kind="audio_output"\} [1-9]\d*0\b/)
})

t.test('barge-in: speaking over the model clears its audio and truncates its item at the played position', async t => {
  const { url, mock } = await start(t)
  mock.script({ transcript: 'This is a very long answer that goes on and on so that the user interrupts it.', audioMs: 8000 })
  const client = await voiceClient(t, url)
  await say(client, 'Hello, what can you do for me?', 900)
  await client.waitFor('tts-start', { timeoutMs: 20_000 })
  await client.audio.waitForSound(1000, 5000)
  const mark = client.wsMessages.length
  await say(client, 'Stop, stop. Thank you.')
  await client.waitFor('tts-cancelled', { from: mark, timeoutMs: 20_000 })
  const truncate = await mock.waitFor('conversation.item.truncate') as { item_id: string, content_index: number, audio_end_ms: number }
  t.equal(truncate.content_index, 0)
  t.ok(truncate.audio_end_ms > 0 && truncate.audio_end_ms < 8000, `cut inside the 8 s answer, at what was played (${truncate.audio_end_ms} ms)`)
  const after = client.wsMessages.slice(mark).map(m => m.type)
  t.ok(after.indexOf('tts-cancelled') < after.indexOf('speech-start'), 'tts-cancelled, then speech-start')
  await client.waitFor('usage', { from: mark + after.indexOf('speech-start'), timeoutMs: 20_000 })
  t.notOk(client.wsMessages.slice(0, mark + after.indexOf('tts-cancelled')).some(m => m.type === 'tts-complete'), 'the interrupted answer never completed')
})

t.test('a function call of the model runs the registry\'s tool and the model goes on', async t => {
  const tool = defineTool({ name: 'get_weather', description: 'The weather of a city', parameters: Type.Object({ city: Type.String() }) }, (args) => ({ city: args.city, sky: 'sunny' }))
  const { url, mock } = await start(t, { tools: [tool] })
  mock.script({ toolCall: { name: 'get_weather', arguments: '{"city":"Paris"}' } }, { transcript: 'It is sunny in Paris.', audioMs: 500 })
  const client = await voiceClient(t, url)
  await say(client, 'What is the weather like in Paris?')
  const called = await client.waitFor('tool-call-start', { timeoutMs: 20_000 })
  t.match(called, { name: 'get_weather', arguments: { city: 'Paris' } })
  t.match(await client.waitFor('tool-call-end'), { callId: called.callId, result: { city: 'Paris', sky: 'sunny' } })
  const output = await mock.waitFor('conversation.item.create') as { item: Record<string, unknown> }
  t.same(output.item, { type: 'function_call_output', call_id: called.callId, output: '{"result":{"city":"Paris","sky":"sunny"}}' })
  await client.waitFor(m => m.type === 'assistant-transcript' && m.isFinal, { timeoutMs: 20_000 })
  t.match(client.wsMessages.filter(m => m.type === 'assistant-transcript').at(-1), { text: 'It is sunny in Paris.' })
})

t.test('a token budget with end-session: BUDGET_EXCEEDED, then the connection closes normally', async t => {
  const { app, url, mock } = await start(t, { budget: { maxTokens: 100 } })
  const client = await voiceClient(t, url)
  await say(client, 'Hello there, how are you today?')
  t.match(await client.waitFor('error', { timeoutMs: 20_000 }), { code: 'BUDGET_EXCEEDED' })
  t.match(await client.closed, { code: 1000 })
  await mock.allClosed()
  t.equal(app.llmrtcSessions.get(client.sessionId), undefined, 'the session ended')
})

t.test('a relay that cannot open falls back to the pipeline: ready{mode:"pipeline"} and a pipeline turn', async t => {
  const { url, mock } = await start(t)
  mock.refuse(401)
  const client = await voiceClient(t, url)
  t.equal(client.ready.mode, 'pipeline')
  t.equal(mock.handshakes.length, 1)
  await say(client, 'Hello there, what time is it right now?')
  await client.waitFor('tts-complete', { timeoutMs: 20_000 })
  t.ok(client.wsMessages.some(m => m.type === 'llm'), 'the pipeline answered')
  t.match(client.wsMessages.find(m => m.type === 'transcript'), { text: /I heard/ })
})

t.test('a relay that fails later says so with mode-changed, and the pipeline takes over', async t => {
  const { url, mock } = await start(t)
  const client = await voiceClient(t, url)
  t.equal(client.ready.mode, 'realtime')
  mock.dropConnections()
  t.match(await client.waitFor('error', { timeoutMs: 10_000 }), { code: 'REALTIME_ERROR' })
  t.match(await client.waitFor('mode-changed'), { mode: 'pipeline' })
  await say(client, 'Hello there, what time is it right now?')
  await client.waitFor('tts-complete', { timeoutMs: 20_000 })
  t.ok(client.wsMessages.some(m => m.type === 'llm'), 'the pipeline answered')
})

t.test('without a fallback, a relay that cannot open gets REALTIME_ERROR and the socket closes', async t => {
  const { app, mock } = await start(t, { fallback: 'none' })
  mock.refuse(500)
  const socket = await connectOverNetwork(app)
  t.match(await socket.next('error'), { code: 'REALTIME_ERROR', message: /500/ })
  t.match(await socket.closed, { code: 1011 })
  t.notOk(socket.messages.some(m => m.type === 'ready'), 'no ready')
})

t.test('an audio message in relay mode is refused with INVALID_MESSAGE', async t => {
  const { app } = await start(t, {}, { webrtc: false })
  const socket = await connectOverNetwork(app)
  t.match(await socket.next('ready'), { mode: 'realtime' })
  socket.send({ type: 'audio', data: Buffer.from('RIFF').toString('base64') })
  t.match(await socket.next('error'), { code: 'INVALID_MESSAGE', message: /realtime \(speech-to-speech\) mode/ })
  socket.ws.close()
})
