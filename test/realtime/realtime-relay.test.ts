import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { protocolCodeOf } from '../../lib/errors.js'
import { silentLogger } from '../../lib/logger.js'
import type { PayloadServerMessage } from '../../lib/protocol/server-messages.js'
import { openOpenAIRealtime } from '../../lib/realtime/openai-realtime-session.js'
import { RealtimeRelay, type RelayEndReason } from '../../lib/realtime/realtime-relay.js'
import type { RealtimeBudget, RealtimeProviderSession } from '../../lib/realtime/types.js'
import { ConversationHistory } from '../../lib/sessions/conversation-history.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { ToolExecutor } from '../../lib/tools/tool-executor.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import type { Tool } from '../../lib/tools/types.js'
import { systemClock, type Clock } from '../../lib/clock.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { startOpenAIRealtimeMock, type OpenAIRealtimeMock } from '../mocks/openai-realtime-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { FakeOutput } from './fake-output.js'

const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const KEY = 'sk-test-realtime'

async function mockFor (t: Test): Promise<OpenAIRealtimeMock> {
  const mock = await startOpenAIRealtimeMock({ cert: tls as NonNullable<typeof tls>, apiKey: KEY })
  t.teardown(() => mock.close())
  return mock
}

async function open (mock: OpenAIRealtimeMock, tools: Tool[] = [], extra: { apiKey?: string, signal?: AbortSignal } = {}): Promise<RealtimeProviderSession> {
  return await openOpenAIRealtime({
    apiKey: extra.apiKey ?? KEY,
    baseURL: mock.baseURL,
    model: 'gpt-realtime',
    voice: 'marin',
    instructions: 'Be brief.',
    tools: new ToolRegistry(tools).definitions(),
    transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
    turnDetection: { type: 'server_vad', silenceDurationMs: 500 },
    maxOutputTokens: 512,
    connectTimeoutMs: 5000,
    signal: extra.signal ?? new AbortController().signal,
    log: silentLogger
  })
}

interface Harness {
  relay: RealtimeRelay
  output: FakeOutput
  messages: PayloadServerMessage[]
  ended: Array<{ reason: RelayEndReason, error: Error }>
  history: ConversationHistory
  /** Resolves with the first message of `type` at index `from` or later. */
  next: (type: PayloadServerMessage['type'], from?: number) => Promise<PayloadServerMessage>
}

function relayFor (t: Test, session: RealtimeProviderSession, options: { tools?: Tool[], budget?: RealtimeBudget, clock?: Clock } = {}): Harness {
  const messages: PayloadServerMessage[] = []
  const ended: Harness['ended'] = []
  const waiters: Array<() => void> = []
  const output = new FakeOutput()
  const history = new ConversationHistory()
  const relay = new RealtimeRelay({
    session,
    sessionId: 's1',
    send: (message) => { messages.push(message); for (const w of waiters.splice(0)) w() },
    tools: new ToolRegistry(options.tools ?? []),
    executor: new ToolExecutor(),
    data: {},
    history,
    budget: options.budget ?? {},
    clock: options.clock ?? systemClock,
    log: silentLogger,
    onEnd: (reason, error) => { ended.push({ reason, error }); for (const w of waiters.splice(0)) w() }
  })
  relay.setOutput(output)
  t.teardown(() => { relay.close() })
  const next = async (type: PayloadServerMessage['type'], from = 0): Promise<PayloadServerMessage> => {
    for (;;) {
      const found = messages.slice(from).find(m => m.type === type)
      if (found !== undefined) return found
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
  return { relay, output, messages, ended, history, next }
}

/** 10 ms frames at 48 kHz: a loud tone (speech to the mock's VAD) or silence. */
function speak (relay: RealtimeRelay, speechMs: number, silenceMs: number): void {
  for (let ms = 0; ms < speechMs + silenceMs; ms += 10) {
    const samples = new Int16Array(480)
    if (ms < speechMs) for (let i = 0; i < 480; i++) samples[i] = Math.round(6000 * Math.sin(2 * Math.PI * 300 * (ms * 48 + i) / 48_000))
    relay.pushAudio({ samples, sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 })
  }
}

t.test('the session opens with the GA session.update: 24 kHz PCM both ways, server VAD, transcription, voice, tools', async t => {
  const mock = await mockFor(t)
  const tool = defineTool({ name: 'get_weather', description: 'Weather of a city', parameters: Type.Object({ city: Type.String() }) }, () => ({ sunny: true }))
  const session = await open(mock, [tool])
  t.teardown(() => { session.close() })
  t.match(mock.handshakes[0], { url: '/v1/realtime?model=gpt-realtime', accepted: true })
  const update = await mock.waitFor('session.update') as { session: Record<string, any> }
  t.match(update.session, {
    type: 'realtime',
    model: 'gpt-realtime',
    instructions: 'Be brief.',
    output_modalities: ['audio'],
    max_output_tokens: 512,
    tool_choice: 'auto',
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
        turn_detection: { type: 'server_vad', create_response: true, interrupt_response: true, silence_duration_ms: 500 }
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' }
    }
  })
  t.same(update.session.tools, [{ type: 'function', name: 'get_weather', description: 'Weather of a city', parameters: tool.definition.parameters }])
  t.equal(session.inputRateHz, 24_000)
})

t.test('speech in gets the model\'s audio out, its transcript, the user\'s transcript and the usage, in order', async t => {
  const mock = await mockFor(t)
  mock.script({ transcript: 'Sure, I can help with that.', audioMs: 1200 })
  const h = relayFor(t, await open(mock))
  speak(h.relay, 600, 600)
  await h.next('usage')
  t.ok(mock.appendedMs >= 1190 && mock.appendedMs <= 1210, `the microphone reached the provider at 24 kHz (${mock.appendedMs} ms)`)
  t.equal(h.output.writtenMs, 1200, 'all of the model\'s audio was queued on the output')
  h.output.play()
  await h.next('tts-complete')
  const types = h.messages.map(m => m.type).filter(x => x !== 'assistant-transcript')
  t.same(types, ['speech-start', 'speech-end', 'transcript', 'tts-start', 'usage', 'tts-complete'])
  t.match(h.messages.find(m => m.type === 'transcript'), { text: /I heard 0\.\d seconds of speech/, isFinal: true })
  const said = h.messages.filter(m => m.type === 'assistant-transcript') as Array<{ text: string, isFinal: boolean }>
  t.ok(said.length > 2, 'several deltas')
  t.equal(said.filter(m => !m.isFinal).map(m => m.text).join(''), 'Sure, I can help with that.', 'the deltas add up to the answer')
  t.same(said.at(-1), { type: 'assistant-transcript', text: 'Sure, I can help with that.', isFinal: true })
  t.same(h.messages.find(m => m.type === 'usage'), { type: 'usage', inputTokens: 100, outputTokens: 50, audioInputTokens: 80, audioOutputTokens: 40, cachedTokens: 10 })
  t.same(h.history.toMessages().filter(m => m.role !== 'system').map(m => m.role), ['user', 'assistant'], 'both sides are mirrored in the history')
  t.equal(h.relay.tokens, 150)
})

t.test('tts-complete waits until the answer has played out', async t => {
  const mock = await mockFor(t)
  const h = relayFor(t, await open(mock))
  speak(h.relay, 300, 500)
  await h.next('usage')
  await new Promise(resolve => setTimeout(resolve, 20))
  t.notOk(h.messages.some(m => m.type === 'tts-complete'), 'not while audio is queued')
  h.output.play()
  await h.next('tts-complete')
})

t.test('the beta event names (response.audio.delta, response.audio_transcript.*) are understood too', async t => {
  const mock = await mockFor(t)
  mock.script({ transcript: 'Old names.', audioMs: 300, betaNames: true })
  const h = relayFor(t, await open(mock))
  speak(h.relay, 300, 500)
  await h.next('usage')
  t.equal(h.output.writtenMs, 300)
  t.match(h.messages.filter(m => m.type === 'assistant-transcript').at(-1), { text: 'Old names.', isFinal: true })
})

t.test('barge-in clears the queued audio at once and truncates the model\'s item at the played position', async t => {
  const mock = await mockFor(t)
  mock.script({ transcript: 'A long answer that the user will interrupt.', audioMs: 3000 })
  const h = relayFor(t, await open(mock))
  speak(h.relay, 300, 500)
  await h.next('usage')
  const added = mock.received.length
  h.output.play(700)
  const mark = h.messages.length
  speak(h.relay, 300, 0)
  await h.next('speech-start', mark)
  const truncate = await mock.waitFor('conversation.item.truncate') as Record<string, unknown>
  t.match(truncate, { content_index: 0, audio_end_ms: 700 }, 'cut at what was actually played')
  t.match(String(truncate.item_id), /^item_/)
  t.ok(mock.received.length > added)
  t.equal(h.output.writtenMs, 700, 'the unplayed 2300 ms were dropped')
  t.same(h.messages.slice(mark).map(m => m.type).slice(0, 2), ['tts-cancelled', 'speech-start'], 'tts-cancelled, then speech-start')
  t.notOk(h.messages.slice(mark).some(m => m.type === 'tts-complete'), 'the interrupted answer never completes')
})

t.test('speech while nothing plays is no barge-in: nothing is truncated', async t => {
  const mock = await mockFor(t)
  const h = relayFor(t, await open(mock))
  speak(h.relay, 300, 500)
  await h.next('usage')
  h.output.play()
  await h.next('tts-complete')
  const mark = h.messages.length
  speak(h.relay, 300, 500)
  await h.next('usage', mark)
  t.notOk(mock.received.some(e => e.type === 'conversation.item.truncate'))
  t.notOk(h.messages.some(m => m.type === 'tts-cancelled'))
})

t.test('a function call runs the registry\'s tool, returns its output and asks for the next response', async t => {
  const mock = await mockFor(t)
  const calls: unknown[] = []
  const tool = defineTool({ name: 'get_weather', description: 'Weather of a city', parameters: Type.Object({ city: Type.String() }) }, (args) => { calls.push(args); return { city: args.city, sky: 'sunny' } })
  mock.script({ toolCall: { name: 'get_weather', arguments: '{"city":"Paris"}' } }, { transcript: 'It is sunny in Paris.', audioMs: 300 })
  const h = relayFor(t, await open(mock, [tool]), { tools: [tool] })
  speak(h.relay, 300, 500)
  const end = await h.next('tool-call-end')
  t.same(calls, [{ city: 'Paris' }])
  const start = h.messages.find(m => m.type === 'tool-call-start')
  t.match(start, { name: 'get_weather', arguments: { city: 'Paris' } })
  t.match(end, { callId: (start as { callId: string }).callId, result: { city: 'Paris', sky: 'sunny' } })
  const item = await mock.waitFor('conversation.item.create') as { item: Record<string, unknown> }
  t.same(item.item, { type: 'function_call_output', call_id: (start as { callId: string }).callId, output: JSON.stringify({ result: { city: 'Paris', sky: 'sunny' } }) })
  await mock.waitFor('response.create')
  await h.next('assistant-transcript', h.messages.indexOf(end))
  await h.next('usage', h.messages.indexOf(end))
  t.match(h.messages.filter(m => m.type === 'assistant-transcript').at(-1), { text: 'It is sunny in Paris.', isFinal: true })
  t.equal(mock.received.filter(e => e.type === 'response.create').length, 1, 'one response.create for the call')
})

t.test('an unknown tool is answered to the model with an error', async t => {
  const mock = await mockFor(t)
  mock.script({ toolCall: { name: 'nope', arguments: '{}' } })
  const h = relayFor(t, await open(mock))
  speak(h.relay, 300, 500)
  const end = await h.next('tool-call-end')
  t.match(end, { error: /nope/ })
  const item = await mock.waitFor('conversation.item.create') as { item: { output: string } }
  t.match(JSON.parse(item.item.output), { error: /nope/ })
})

t.test('over the token budget with end-session: BUDGET_EXCEEDED, the relay ends and the provider socket closes', async t => {
  const mock = await mockFor(t)
  const h = relayFor(t, await open(mock), { budget: { maxTokens: 100 } })
  speak(h.relay, 300, 500)
  const error = await h.next('error')
  t.match(error, { code: 'BUDGET_EXCEEDED', message: /token budget of 100 tokens/ })
  t.equal(h.ended[0]?.reason, 'budget')
  t.equal(protocolCodeOf(h.ended[0]?.error), 'BUDGET_EXCEEDED')
  await mock.allClosed()
  t.pass('the provider socket was closed')
})

t.test('over the budget with warn: logged, and the session goes on', async t => {
  const mock = await mockFor(t)
  const h = relayFor(t, await open(mock), { budget: { maxTokens: 100, onExceeded: 'warn' } })
  speak(h.relay, 300, 500)
  await h.next('usage')
  h.output.play()
  const mark = h.messages.length
  speak(h.relay, 300, 500)
  await h.next('usage', mark)
  t.notOk(h.messages.some(m => m.type === 'error'))
  t.same(h.ended, [])
  t.equal(mock.open, 1)
})

t.test('the session time budget ends the session when its time is up', async t => {
  const mock = await mockFor(t)
  const clock = new FakeClock()
  const h = relayFor(t, await open(mock), { budget: { maxSessionMs: 60_000 }, clock })
  clock.advance(59_999)
  t.same(h.ended, [])
  clock.advance(1)
  t.match(h.messages.at(-1), { type: 'error', code: 'BUDGET_EXCEEDED', message: /session time budget of 60000 ms/ })
  t.equal(h.ended[0]?.reason, 'budget')
  await mock.allClosed()
})

t.test('a provider session that drops ends the relay as failed', async t => {
  const mock = await mockFor(t)
  const h = relayFor(t, await open(mock))
  mock.dropConnections()
  await new Promise<void>(resolve => { const check = (): void => { if (h.ended.length > 0) resolve(); else setTimeout(check, 5) }; check() })
  t.equal(h.ended[0]?.reason, 'failed')
  t.equal(protocolCodeOf(h.ended[0]?.error), 'REALTIME_ERROR')
})

t.test('a refused handshake (401) rejects with LLMRTC_ERR_REALTIME, without the key in the message', async t => {
  const mock = await mockFor(t)
  const err = await open(mock, [], { apiKey: 'sk-wrong-key-1234567890' }).catch((e: unknown) => e) as Error & { code: string }
  t.equal(err.code, 'LLMRTC_ERR_REALTIME')
  t.equal(protocolCodeOf(err), 'REALTIME_ERROR')
  t.match(err.message, /401/)
  t.notMatch(err.message, /sk-wrong/)
})

t.test('a 5xx handshake rejects with LLMRTC_ERR_REALTIME', async t => {
  const mock = await mockFor(t)
  mock.refuse(503)
  const err = await open(mock).catch((e: unknown) => e) as Error & { code: string }
  t.equal(err.code, 'LLMRTC_ERR_REALTIME')
  t.match(err.message, /503/)
})

t.test('an aborted connect rejects with the abort reason and closes the socket', async t => {
  const mock = await mockFor(t)
  const controller = new AbortController()
  const opening = open(mock, [], { signal: controller.signal })
  controller.abort(new Error('client left'))
  const err = await opening.catch((e: unknown) => e) as Error
  t.equal(err.message, 'client left')
  await mock.allClosed()
  t.equal(mock.open, 0)
})
