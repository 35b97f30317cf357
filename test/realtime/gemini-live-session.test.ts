import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { systemClock } from '../../lib/clock.js'
import { silentLogger } from '../../lib/logger.js'
import type { PayloadServerMessage } from '../../lib/protocol/server-messages.js'
import { openGeminiLive, type GeminiLiveConnectOptions } from '../../lib/realtime/gemini-live-session.js'
import { RealtimeRelay } from '../../lib/realtime/realtime-relay.js'
import type { RealtimeEvent, RealtimeProviderSession } from '../../lib/realtime/types.js'
import { ConversationHistory } from '../../lib/sessions/conversation-history.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { ToolExecutor } from '../../lib/tools/tool-executor.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import { startGeminiLiveMock, type GeminiLiveMock } from '../mocks/gemini-live-mock.js'
import { FakeOutput } from './fake-output.js'

const KEY = 'AIzaTestKeyForTheGeminiLiveMock0123456789'
const weather = defineTool({ name: 'get_weather', description: 'Weather of a city', parameters: Type.Object({ city: Type.String() }) }, () => ({ sunny: true }))

async function mockFor (t: Test): Promise<GeminiLiveMock> {
  const mock = await startGeminiLiveMock({ apiKey: KEY })
  t.teardown(() => mock.close())
  return mock
}

async function open (t: Test, mock: GeminiLiveMock, extra: Partial<GeminiLiveConnectOptions> = {}): Promise<Recorder> {
  const session = await openGeminiLive({
    apiKey: KEY,
    baseURL: mock.baseURL,
    model: 'gemini-2.5-flash-native-audio-preview-12-2025',
    voice: 'Kore',
    instructions: 'Be brief.',
    tools: new ToolRegistry([weather]).definitions(),
    transcription: {},
    turnDetection: { type: 'server_vad', silenceDurationMs: 500, prefixPaddingMs: 20 },
    maxOutputTokens: 512,
    connectTimeoutMs: 5000,
    signal: new AbortController().signal,
    log: silentLogger,
    ...extra
  })
  t.teardown(() => { session.close() })
  return record(session)
}

interface Recorder {
  session: RealtimeProviderSession
  events: RealtimeEvent[]
  /** Resolves with the first event of `type` (matching `where`) at index `from` or later. */
  next: <K extends RealtimeEvent['type']>(type: K, where?: (event: Extract<RealtimeEvent, { type: K }>) => boolean, from?: number) => Promise<Extract<RealtimeEvent, { type: K }>>
}

function record (session: RealtimeProviderSession): Recorder {
  const events: RealtimeEvent[] = []
  const waiters: Array<() => void> = []
  session.onEvent((event) => { events.push(event); for (const w of waiters.splice(0)) w() })
  const next: Recorder['next'] = async (type, where, from = 0) => {
    for (;;) {
      const found = events.slice(from).find(e => e.type === type && (where === undefined || where(e as never)))
      if (found !== undefined) return found as never
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
  return { session, events, next }
}

/** 20 ms chunks of 16 kHz PCM: a loud tone (speech to the mock's detection), then silence. */
function speak (session: RealtimeProviderSession, speechMs: number, silenceMs: number): void {
  for (let ms = 0; ms < speechMs + silenceMs; ms += 20) {
    const samples = new Int16Array(320)
    if (ms < speechMs) for (let i = 0; i < 320; i++) samples[i] = Math.round(6000 * Math.sin(2 * Math.PI * 300 * (ms * 16 + i) / 16_000))
    session.appendAudio(samples)
  }
}

t.test('the setup: model, voice, instructions, tools, transcription, activity detection, resumption, sliding window', async t => {
  const mock = await mockFor(t)
  await open(t, mock)
  t.equal(mock.handshakes.length, 1)
  t.match(mock.handshakes[0]?.url, /\/ws\/google\.ai\.generativelanguage\.v1beta\.GenerativeService\.BidiGenerateContent\?key=AIza/)
  const { setup } = await mock.waitFor('setup')
  t.equal(setup.model, 'models/gemini-2.5-flash-native-audio-preview-12-2025')
  t.same(setup.systemInstruction, { parts: [{ text: 'Be brief.' }] })
  t.match(setup.generationConfig, {
    responseModalities: ['AUDIO'],
    speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } },
    maxOutputTokens: 512
  })
  t.same(setup.tools, [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather of a city', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } }] }])
  t.same(setup.inputAudioTranscription, {})
  t.same(setup.outputAudioTranscription, {})
  t.same(setup.realtimeInputConfig, { automaticActivityDetection: { disabled: false, prefixPaddingMs: 20, silenceDurationMs: 500 } })
  t.same(setup.sessionResumption, {}, 'resumption is on, so handles come')
  t.same(setup.contextWindowCompression, { slidingWindow: {} })
  t.equal(mock.received.filter(m => m.clientContent !== undefined).length, 0, 'no history to replay')
})

t.test('no user transcription when transcription is false; our VAD turns the provider\'s off', async t => {
  const mock = await mockFor(t)
  await open(t, mock, { transcription: false, turnDetection: { type: 'llmrtc' }, tools: [], instructions: undefined })
  const { setup } = await mock.waitFor('setup')
  t.equal(setup.inputAudioTranscription, undefined)
  t.same(setup.outputAudioTranscription, {})
  t.same(setup.realtimeInputConfig, { automaticActivityDetection: { disabled: true } })
  t.equal(setup.tools, undefined)
  t.equal(setup.systemInstruction, undefined)
})

t.test('a resumption handle resumes the old session (no history replay); without one the history is replayed as context', async t => {
  const mock = await mockFor(t)
  const history = [{ role: 'user' as const, content: 'My name is Ada.' }, { role: 'assistant' as const, content: 'Hello Ada.' }, { role: 'tool' as const, content: '{}' }]
  await open(t, mock, { resumeHandle: 'handle-42', history })
  const first = await mock.waitFor('setup')
  t.same(first.setup.sessionResumption, { handle: 'handle-42' })

  const { events } = await open(t, mock, { history })
  const second = await mock.waitFor('setup', 1)
  t.same(second.setup.sessionResumption, {})
  const replay = await mock.waitFor('clientContent')
  t.same(replay.clientContent, { turns: [{ role: 'user', parts: [{ text: 'My name is Ada.' }] }, { role: 'model', parts: [{ text: 'Hello Ada.' }] }], turnComplete: false })
  t.equal(mock.received.filter(m => m.clientContent !== undefined).length, 1, 'only the second session replayed')
  t.notOk(events.some(e => e.type === 'response-started'), 'a replay asks for no answer')
})

t.test('one spoken turn: 16 kHz audio in, 24 kHz audio out, both transcripts, usage, a resumption handle', async t => {
  const mock = await mockFor(t)
  const { session, events, next } = await open(t, mock)
  t.equal(session.inputRateHz, 16_000)
  t.equal(session.outputRateHz, 24_000)
  speak(session, 600, 500)
  const done = await next('response-done')
  t.same([...mock.mimeTypes], ['audio/pcm;rate=16000'])
  t.equal(Math.round(mock.appendedMs), 1100, 'every 16 kHz sample arrived')

  const userFinal = events.find(e => e.type === 'user-transcript' && e.isFinal)
  t.same(userFinal, { type: 'user-transcript', text: 'I heard 0.6 seconds of speech', isFinal: true })
  t.same(events.filter(e => e.type === 'user-transcript' && !e.isFinal).map(e => (e as { text: string }).text), ['I heard', ' 0.6 seconds of speech'])
  const started = events.findIndex(e => e.type === 'response-started')
  t.ok(started > events.indexOf(userFinal as RealtimeEvent), 'the user\'s words are final before the model\'s turn')
  const responseId = (events[started] as { responseId: string }).responseId
  const audio = events.filter(e => e.type === 'audio') as Array<Extract<RealtimeEvent, { type: 'audio' }>>
  t.equal(audio.length, 10)
  t.equal(audio.reduce((n, e) => n + e.pcm.length, 0), 24_000, 'one second at 24 kHz')
  t.ok(audio.every(e => e.responseId === responseId && e.itemId !== '' && e.contentIndex === 0))
  t.ok(audio[0]?.pcm.some(s => Math.abs(s) > 4000), 'the tone survived decoding')
  const said = events.filter(e => e.type === 'assistant-transcript') as Array<Extract<RealtimeEvent, { type: 'assistant-transcript' }>>
  t.same(said.filter(e => !e.isFinal).map(e => e.text).join(''), 'Hello from the live mock.')
  t.same(said.at(-1), { type: 'assistant-transcript', responseId, text: 'Hello from the live mock.', isFinal: true })
  t.same(done, { type: 'response-done', responseId, status: 'completed', usage: { inputTokens: 100, outputTokens: 50, audioInputTokens: 80, audioOutputTokens: 40, cachedTokens: 10 } })
  t.same(await next('resume-handle'), { type: 'resume-handle', handle: 'mock-handle-1' })
})

t.test('typed text is a user turn the model answers; the tool call round trip goes on in the same turn', async t => {
  const mock = await mockFor(t)
  mock.script({ toolCall: { name: 'get_weather', args: { city: 'Paris' } } }, { transcript: 'It is sunny in Paris.', audioMs: 300 })
  const { session, next } = await open(t, mock)
  session.sendText('Weather in Paris?')
  session.createResponse()
  const text = await mock.waitFor('clientContent')
  t.same(text.clientContent, { turns: [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }], turnComplete: true })
  const call = await next('tool-call')
  t.match(call, { name: 'get_weather', callId: /^function-call-/, arguments: '{"city":"Paris"}' })
  session.sendToolOutput(call.callId, JSON.stringify({ result: { sunny: true } }))
  const answer = await mock.waitFor('toolResponse')
  t.same(answer.toolResponse, { functionResponses: [{ id: call.callId, name: 'get_weather', response: { result: { sunny: true } } }] })
  const done = await next('response-done')
  t.equal(done.responseId, call.responseId, 'the call and the spoken answer are one turn')
  t.equal(done.status, 'completed')
  t.same(await next('assistant-transcript', e => e.isFinal), { type: 'assistant-transcript', responseId: call.responseId, text: 'It is sunny in Paris.', isFinal: true })
  t.equal(mock.received.filter(m => m.clientContent !== undefined).length, 1, 'createResponse sends nothing: Gemini answers by itself')
})

t.test('the user speaking over the model: interrupted → speech-started and the turn cancelled', async t => {
  const mock = await mockFor(t)
  mock.script({ audioMs: 10_000 })
  const { session, events, next } = await open(t, mock)
  session.sendText('Tell me a long story.')
  const first = await next('audio')
  speak(session, 100, 0)
  const cut = await next('speech-started')
  t.same(cut, { type: 'speech-started' })
  const done = await next('response-done')
  t.same(done, { type: 'response-done', responseId: first.responseId, status: 'cancelled' })
  t.ok(events.indexOf(cut) < events.indexOf(done), 'the cut comes first')
  session.truncate(first.itemId, 0, 120)
  t.notOk(mock.received.some(m => JSON.stringify(m).includes('truncat')), 'truncate is a no-op: Gemini has none')
})

t.test('transcription trailing in after an interruption opens no turn; the next turn is whole', async t => {
  const mock = await mockFor(t)
  const { events, next } = await open(t, mock)
  const audio = { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: Buffer.alloc(480).toString('base64') } }] } }
  mock.broadcast({ serverContent: audio })
  mock.broadcast({ serverContent: { outputTranscription: { text: 'Once upon' } } })
  mock.broadcast({ serverContent: { interrupted: true } })
  mock.broadcast({ serverContent: { outputTranscription: { text: ' a time' } } })
  mock.broadcast({ serverContent: audio })
  mock.broadcast({ serverContent: { outputTranscription: { text: 'Yes?' } } })
  mock.broadcast({ serverContent: { turnComplete: true } })
  await next('response-done', e => e.status === 'completed')
  t.same(events.filter(e => e.type === 'response-started').map(e => (e as { responseId: string }).responseId), ['gemini-turn-1', 'gemini-turn-2'])
  t.same(events.filter(e => e.type === 'assistant-transcript').map(e => [(e as { responseId: string }).responseId, (e as { text: string }).text]), [['gemini-turn-1', 'Once upon'], ['gemini-turn-2', 'Yes?'], ['gemini-turn-2', 'Yes?']])
})

t.test('toolCallCancellation cancels the response that asked for the calls', async t => {
  const mock = await mockFor(t)
  mock.script({ toolCall: { name: 'get_weather', args: { city: 'Oslo' } } })
  const { session, next } = await open(t, mock)
  session.sendText('Weather in Oslo?')
  const call = await next('tool-call')
  mock.broadcast({ toolCallCancellation: { ids: [call.callId] } })
  t.same(await next('response-done'), { type: 'response-done', responseId: call.responseId, status: 'cancelled' })
})

t.test('goAway → expiring with the time left; update() asks the relay to renew with the new setup', async t => {
  const mock = await mockFor(t)
  const { session, events, next } = await open(t, mock)
  mock.broadcast({ goAway: { timeLeft: '50s' } })
  t.same(await next('expiring'), { type: 'expiring', timeLeftMs: 50_000 })
  mock.broadcast({ goAway: { timeLeft: '1.5s' } })
  t.same(await next('expiring', undefined, events.length), { type: 'expiring', timeLeftMs: 1500 })
  mock.broadcast({ sessionResumptionUpdate: { resumable: false, newHandle: '' } })
  mock.broadcast({ sessionResumptionUpdate: { resumable: true, newHandle: 'handle-7' } })
  t.same(await next('resume-handle'), { type: 'resume-handle', handle: 'handle-7' }, 'a non-resumable update gives no handle')
  const before = events.length
  session.update({ instructions: 'Be brief.', tools: new ToolRegistry([weather]).definitions() })
  session.update({ tools: new ToolRegistry([weather]).definitions() })
  session.update({ instructions: 'Now speak French.', tools: [] })
  t.same(await next('expiring', undefined, before), { type: 'expiring' })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(events.slice(before).filter(e => e.type === 'expiring').length, 1, 'an update to the setup it has already renews nothing')
  t.notOk(mock.received.some(m => m.setup === undefined && JSON.stringify(m).includes('French')), 'nothing is sent mid-session')
})

t.test('our turn detection marks the utterance with activityStart / activityEnd', async t => {
  const mock = await mockFor(t)
  const { session, next } = await open(t, mock, { turnDetection: { type: 'llmrtc' } })
  session.commitInput()
  speak(session, 200, 0)
  speak(session, 200, 0)
  session.commitInput()
  await next('response-done')
  const marks = mock.received.filter(m => m.realtimeInput !== undefined).map(m => Object.keys(m.realtimeInput)[0])
  t.same(marks, ['activityStart', 'activityEnd'], 'one start with the first audio, one end; a commit without audio sends nothing')
  t.equal(Math.round(mock.appendedMs), 400)
})

t.test('a refused handshake (401, 503) rejects with LLMRTC_ERR_REALTIME, the key scrubbed', async t => {
  const mock = await mockFor(t)
  const err = await open(t, mock, { apiKey: 'AIzaWrongKeyWrongKeyWrongKeyWrongKey123' }).catch((e: Error) => e) as Error & { code: string }
  t.equal(err.code, 'LLMRTC_ERR_REALTIME')
  t.match(err.message, /refused with HTTP 401/)
  t.notMatch(err.message, /AIza/)
  mock.refuse(503)
  await t.rejects(open(t, mock), { code: 'LLMRTC_ERR_REALTIME', message: /HTTP 503/ })
  t.equal(mock.open, 0)
})

t.test('no setupComplete within connectTimeoutMs: LLMRTC_ERR_REALTIME, and the socket is closed', async t => {
  const mock = await mockFor(t)
  mock.holdSetup(true)
  await t.rejects(open(t, mock, { connectTimeoutMs: 200 }), { code: 'LLMRTC_ERR_REALTIME', message: /no session within 200 ms/ })
  t.equal(mock.handshakes.filter(h => h.accepted).length, 1)
  await mock.allClosed()
  t.equal(mock.open, 0, 'the mock saw the close')
})

t.test('an abort while opening rejects with the reason and closes the socket', async t => {
  const mock = await mockFor(t)
  mock.holdSetup(true)
  const controller = new AbortController()
  const opening = open(t, mock, { signal: controller.signal })
  await mock.waitFor('setup')
  t.equal(mock.open, 1)
  const reason = new Error('client left')
  controller.abort(reason)
  t.equal(await opening.catch((e: unknown) => e), reason)
  await mock.allClosed()
  t.equal(mock.open, 0, 'the mock saw the close')
  const aborted = AbortSignal.abort(new Error('already gone'))
  await t.rejects(open(t, mock, { signal: aborted }), { message: 'already gone' })
})

t.test('a cut mid-session → closed (LLMRTC_ERR_REALTIME with the code); close() is quiet and closes the socket', async t => {
  const mock = await mockFor(t)
  const { next } = await open(t, mock)
  mock.dropConnections()
  const closed = await next('closed')
  t.match(closed.error, { code: 'LLMRTC_ERR_REALTIME', message: /1011 mock dropped the connection/ })

  const second = await open(t, mock)
  t.equal(mock.open, 1)
  second.session.close()
  second.session.close()
  await mock.allClosed()
  second.session.appendAudio(new Int16Array(320))
  t.notOk(second.events.some(e => e.type === 'closed'), 'our own close is not a failure')
})

t.test('relay over Gemini Live: one typed turn plays out with transcripts, usage and history', async t => {
  const mock = await mockFor(t)
  mock.script({ transcript: 'Hi there, Ada.', audioMs: 500 })
  const { session } = await open(t, mock)
  const messages: PayloadServerMessage[] = []
  const waiters: Array<() => void> = []
  const history = new ConversationHistory()
  const output = new FakeOutput()
  const relay = new RealtimeRelay({
    session,
    sessionId: 's1',
    send: (message) => { messages.push(message); for (const w of waiters.splice(0)) w() },
    tools: new ToolRegistry([]),
    executor: new ToolExecutor(),
    data: {},
    history,
    budget: {},
    clock: systemClock,
    log: silentLogger,
    onEnd: () => {}
  })
  relay.setOutput(output)
  t.teardown(() => { relay.close() })
  const next = async (type: PayloadServerMessage['type']): Promise<PayloadServerMessage> => {
    for (;;) {
      const found = messages.find(m => m.type === type)
      if (found !== undefined) return found
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
  relay.sendText('I am Ada.')
  t.same(await next('usage'), { type: 'usage', inputTokens: 100, outputTokens: 50, audioInputTokens: 80, audioOutputTokens: 40, cachedTokens: 10 })
  t.ok(messages.some(m => m.type === 'tts-start'))
  t.same(messages.filter(m => m.type === 'assistant-transcript' && m.isFinal), [{ type: 'assistant-transcript', text: 'Hi there, Ada.', isFinal: true }])
  t.equal(Math.round(output.writtenMs), 500, 'the 24 kHz audio went to the output')
  output.play()
  await next('tts-complete')
  t.same(history.messages.map(m => [m.role, m.content]), [['user', 'I am Ada.'], ['assistant', 'Hi there, Ada.']])
})

t.test('relay over Gemini Live: the user speaking over the model clears its queued speech (tts-cancelled)', async t => {
  const mock = await mockFor(t)
  mock.script({ audioMs: 10_000 })
  const { session } = await open(t, mock)
  const messages: PayloadServerMessage[] = []
  const waiters: Array<() => void> = []
  const output = new FakeOutput()
  const relay = new RealtimeRelay({
    session,
    sessionId: 's2',
    send: (message) => { messages.push(message); for (const w of waiters.splice(0)) w() },
    tools: new ToolRegistry([]),
    executor: new ToolExecutor(),
    data: {},
    budget: {},
    clock: systemClock,
    log: silentLogger,
    onEnd: () => {}
  })
  relay.setOutput(output)
  t.teardown(() => { relay.close() })
  const next = async (type: PayloadServerMessage['type']): Promise<PayloadServerMessage> => {
    for (;;) {
      const found = messages.find(m => m.type === type)
      if (found !== undefined) return found
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
  relay.sendText('Tell me a long story.')
  await next('tts-start')
  t.ok(output.playing, 'the model is speaking')
  // 100 ms of loud 48 kHz microphone: resampled to 16 kHz, it is speech to the mock.
  for (let ms = 0; ms < 100; ms += 10) {
    const samples = new Int16Array(480)
    for (let i = 0; i < 480; i++) samples[i] = Math.round(6000 * Math.sin(2 * Math.PI * 300 * (ms * 48 + i) / 48_000))
    relay.pushAudio({ samples, sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 })
  }
  await next('tts-cancelled')
  t.ok(messages.some(m => m.type === 'speech-start'))
  t.equal(output.clears, 1, 'the queue was cleared at once')
  t.notOk(output.playing)
  t.same([...mock.mimeTypes], ['audio/pcm;rate=16000'])
})
