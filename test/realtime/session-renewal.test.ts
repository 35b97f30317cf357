import t, { type Test } from 'tap'
import { silentLogger } from '../../lib/logger.js'
import type { PayloadServerMessage } from '../../lib/protocol/server-messages.js'
import type { ChatMessage } from '../../lib/providers/types.js'
import { openOpenAIRealtime } from '../../lib/realtime/openai-realtime-session.js'
import { RealtimeRelay, type RelayEndReason } from '../../lib/realtime/realtime-relay.js'
import { RenewingSession, renewalHistory } from '../../lib/realtime/session-renewal.js'
import type { RealtimeEvent, RealtimeProviderSession, RealtimeSessionSetup } from '../../lib/realtime/types.js'
import { ConversationHistory } from '../../lib/sessions/conversation-history.js'
import { systemClock } from '../../lib/clock.js'
import { ToolExecutor } from '../../lib/tools/tool-executor.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import { until } from '../helpers/ws-client.js'
import { startOpenAIRealtimeMock, type OpenAIRealtimeMock } from '../mocks/openai-realtime-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { FakeOutput } from './fake-output.js'

const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const KEY = 'sk-test-renewal'

async function mockFor (t: Test): Promise<OpenAIRealtimeMock> {
  const mock = await startOpenAIRealtimeMock({ cert: tls as NonNullable<typeof tls>, apiKey: KEY })
  t.teardown(() => mock.close())
  return mock
}

/** Opens OpenAI sessions on the mock, recording each setup and outcome. */
function openerFor (mock: OpenAIRealtimeMock, extra: { maxSessionMs?: number } = {}): {
  open: (setup: RealtimeSessionSetup) => Promise<RealtimeProviderSession>
  setups: RealtimeSessionSetup[]
  outcomes: Array<'opened' | 'failed'>
} {
  const setups: RealtimeSessionSetup[] = []
  const outcomes: Array<'opened' | 'failed'> = []
  const open = async (setup: RealtimeSessionSetup): Promise<RealtimeProviderSession> => {
    setups.push(setup)
    try {
      const session = await openOpenAIRealtime({
        apiKey: KEY,
        baseURL: mock.baseURL,
        model: 'gpt-realtime',
        voice: 'marin',
        ...(setup.instructions !== undefined ? { instructions: setup.instructions } : {}),
        tools: setup.tools,
        ...(setup.history !== undefined ? { history: setup.history } : {}),
        transcription: { model: 'gpt-4o-mini-transcribe' },
        turnDetection: { type: 'server_vad' },
        connectTimeoutMs: 5000,
        ...(extra.maxSessionMs !== undefined ? { maxSessionMs: extra.maxSessionMs } : {}),
        signal: setup.signal,
        log: silentLogger
      })
      outcomes.push('opened')
      return session
    } catch (err) {
      outcomes.push('failed')
      throw err
    }
  }
  return { open, setups, outcomes }
}

interface Harness {
  relay: RealtimeRelay
  session: RenewingSession
  history: ConversationHistory
  messages: PayloadServerMessage[]
  ended: Array<{ reason: RelayEndReason, error: Error }>
  opener: ReturnType<typeof openerFor>
}

async function relayOn (t: Test, mock: OpenAIRealtimeMock, options: { maxBufferMs?: number, history?: ChatMessage[] } = {}): Promise<Harness> {
  const opener = openerFor(mock)
  const initial = await opener.open({ instructions: 'Be brief.', tools: [], signal: new AbortController().signal, log: silentLogger })
  const history = new ConversationHistory('', 20, options.history ?? [])
  const session = new RenewingSession({
    initial,
    open: opener.open,
    instructions: 'Be brief.',
    tools: [],
    history: () => history.messages,
    log: silentLogger,
    ...(options.maxBufferMs !== undefined ? { maxBufferMs: options.maxBufferMs } : {})
  })
  const messages: PayloadServerMessage[] = []
  const ended: Harness['ended'] = []
  const relay = new RealtimeRelay({
    session,
    sessionId: 's1',
    send: (message) => { messages.push(message) },
    tools: new ToolRegistry([]),
    executor: new ToolExecutor(),
    data: {},
    history,
    budget: {},
    clock: systemClock,
    log: silentLogger,
    onEnd: (reason, error) => { ended.push({ reason, error }) }
  })
  relay.setOutput(new FakeOutput())
  t.teardown(() => { relay.close() })
  return { relay, session, history, messages, ended, opener }
}

/** 10 ms frames at 48 kHz: a loud tone (speech to the mock's VAD), then silence. */
function speak (relay: RealtimeRelay, speechMs: number, silenceMs: number): void {
  for (let ms = 0; ms < speechMs + silenceMs; ms += 10) {
    const samples = new Int16Array(480)
    if (ms < speechMs) for (let i = 0; i < 480; i++) samples[i] = Math.round(6000 * Math.sin(2 * Math.PI * 300 * (ms * 48 + i) / 48_000))
    relay.pushAudio({ samples, sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 })
  }
}

const PAST: ChatMessage[] = [
  { role: 'user', content: 'My name is Ada.' },
  { role: 'assistant', content: 'Nice to meet you, Ada.' }
]

t.test('renewalHistory keeps the newest user and assistant texts within the limits, oldest first', async t => {
  const messages: ChatMessage[] = [
    { role: 'user', content: 'one' },
    { role: 'assistant', content: '', toolCalls: [{ callId: 'c1', name: 'x', arguments: {} }] },
    { role: 'tool', content: '{"ok":true}', toolCallId: 'c1' },
    { role: 'assistant', content: 'two' },
    { role: 'user', content: '   ' },
    { role: 'user', content: 'three' },
    { role: 'assistant', content: 'four' }
  ]
  t.same(renewalHistory(messages), [
    { role: 'user', content: 'one' }, { role: 'assistant', content: 'two' }, { role: 'user', content: 'three' }, { role: 'assistant', content: 'four' }
  ])
  t.same(renewalHistory(messages, 2), [{ role: 'user', content: 'three' }, { role: 'assistant', content: 'four' }], 'the newest messages')
  t.same(renewalHistory(messages, 10, 9), [{ role: 'user', content: 'three' }, { role: 'assistant', content: 'four' }], 'within the characters')
  t.same(renewalHistory([]), [])
})

t.test('an OpenAI session replays its history as items at open, and says it expires before its cap', async t => {
  const mock = await mockFor(t)
  const opener = openerFor(mock, { maxSessionMs: 200 })
  const session = await opener.open({ instructions: 'Be brief.', tools: [], history: PAST, signal: new AbortController().signal, log: silentLogger })
  t.teardown(() => { session.close() })
  const events: RealtimeEvent[] = []
  const expiring = new Promise<RealtimeEvent>(resolve => { session.onEvent((event) => { events.push(event); if (event.type === 'expiring') resolve(event) }) })
  const received = mock.connections[0]?.received ?? []
  t.same(received.map(e => e.type), ['session.update', 'conversation.item.create', 'conversation.item.create'], 'the items follow the session.update')
  t.same(received.slice(1).map(e => e.item), [
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'My name is Ada.' }] },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Nice to meet you, Ada.' }] }
  ])
  t.same(await expiring, { type: 'expiring', timeLeftMs: 100 }, 'half-way for a short cap')
})

t.test('the server\'s session_expired renews the session from the mirrored transcript, and the conversation goes on', async t => {
  const mock = await mockFor(t)
  const h = await relayOn(t, mock, { history: PAST })
  mock.script({ transcript: 'Before the cap.', audioMs: 200 }, { transcript: 'After the cap.', audioMs: 200 })
  speak(h.relay, 300, 500)
  await until(() => h.history.messages.some(m => m.content === 'Before the cap.'), 'the first answer mirrored')
  mock.expire()
  await mock.waitForConnections(2)
  await until(() => h.session.renewals === 1, 'the renewal')
  t.equal(mock.connections[0]?.open, false, 'the expired connection is closed')
  const second = mock.connections[1]?.received ?? []
  t.equal(second[0]?.type, 'session.update')
  t.match(second[0]?.session, { instructions: 'Be brief.' })
  t.same(second.filter(e => e.type === 'conversation.item.create').map(e => (e.item as { content: Array<{ text: string }> }).content[0]?.text), [
    'My name is Ada.', 'Nice to meet you, Ada.', h.history.messages[2]?.content, 'Before the cap.'
  ], 'the new session got the whole transcript, the user\'s heard turn included')
  t.match(h.history.messages[2], { role: 'user', content: /I heard/ })
  t.equal(h.opener.setups[1]?.resumeHandle, undefined, 'OpenAI gives no resume handle')
  speak(h.relay, 300, 500)
  await until(() => h.messages.some(m => m.type === 'assistant-transcript' && m.isFinal && m.text === 'After the cap.'), 'the answer of the new session')
  t.same(h.ended, [], 'the relay never ended')
  t.equal(mock.open, 1)
})

t.test('microphone audio during a renewal reaches the new session, bounded: the oldest is dropped', async t => {
  const mock = await mockFor(t)
  const h = await relayOn(t, mock, { maxBufferMs: 1000 })
  mock.hold()
  mock.expire()
  await until(() => mock.handshakes.length === 2 && h.session.renewing, 'the renewal waits for its handshake')
  speak(h.relay, 0, 1500)
  t.equal(mock.connections.length, 1, 'nothing was sent yet')
  mock.release()
  await until(() => h.session.renewals === 1, 'the renewal')
  h.session.update({ instructions: 'Marker.', tools: [] })
  await mock.waitFor('session.update', 2)
  const flushed = mock.connections[1]?.appendedMs ?? 0
  t.ok(flushed > 980 && flushed <= 1000, `the newest second was kept (${flushed} ms of 1500)`)
  t.equal(mock.connections[0]?.appendedMs, 0, 'none went to the expiring session')
  speak(h.relay, 0, 300)
  h.session.update({ instructions: 'Marker 2.', tools: [] })
  await mock.waitFor('session.update', 3)
  t.ok(Math.abs((mock.connections[1]?.appendedMs ?? 0) - flushed - 300) <= 10, 'then audio goes straight to it')
})

t.test('typed text during a renewal waits for the new session', async t => {
  const mock = await mockFor(t)
  const h = await relayOn(t, mock)
  mock.hold()
  mock.expire()
  await until(() => mock.handshakes.length === 2 && h.session.renewing, 'the renewal waits for its handshake')
  h.relay.sendText('Are you still there?')
  mock.release()
  await until(() => h.session.renewals === 1, 'the renewal')
  const created = await mock.waitFor('conversation.item.create') as { item: { content: Array<{ text: string }> } }
  t.equal(created.item.content[0]?.text, 'Are you still there?')
  await mock.waitFor('response.create')
  t.notOk(mock.connections[0]?.received.some(e => e.type === 'conversation.item.create' || e.type === 'response.create'), 'nothing went to the expired session')
  t.ok(mock.connections[1]?.received.some(e => e.type === 'response.create'))
})

t.test('a renewal that fails ends the relay as a provider failure', async t => {
  const mock = await mockFor(t)
  const h = await relayOn(t, mock)
  mock.refuse(500)
  mock.expire()
  await until(() => h.ended.length === 1, 'the relay ended')
  t.equal(h.ended[0]?.reason, 'failed')
  t.match(h.ended[0]?.error, { code: 'LLMRTC_ERR_REALTIME', message: /HTTP 500/ })
  t.same(h.opener.outcomes, ['opened', 'failed'])
  await mock.allClosed()
  t.equal(mock.open, 0)
})

t.test('closing during a renewal aborts it: no session is left open', async t => {
  const mock = await mockFor(t)
  const h = await relayOn(t, mock)
  mock.hold()
  mock.expire()
  await until(() => mock.handshakes.length === 2 && h.session.renewing, 'the renewal waits for its handshake')
  h.relay.close()
  t.equal(h.opener.setups[1]?.signal.aborted, true, 'the renewal\'s signal is aborted')
  await until(() => h.opener.outcomes.length === 2, 'the open settled')
  t.same(h.opener.outcomes, ['opened', 'failed'], 'the half-open session was abandoned')
  mock.release()
  await mock.allClosed()
  t.equal(mock.open, 0)
  t.same(h.ended, [], 'a close is not a failure')
})

/** A provider session driven by the test. */
class FakeSession implements RealtimeProviderSession {
  readonly inputRateHz = 24_000
  readonly outputRateHz = 24_000
  readonly calls: string[] = []
  closed = false
  readonly #listeners: Array<(event: RealtimeEvent) => void> = []
  onEvent (listener: (event: RealtimeEvent) => void): void { this.#listeners.push(listener) }
  emit (event: RealtimeEvent): void { for (const listener of this.#listeners) listener(event) }
  appendAudio (pcm: Int16Array): void { this.calls.push(`audio ${pcm.length}`) }
  truncate (itemId: string): void { this.calls.push(`truncate ${itemId}`) }
  sendToolOutput (callId: string): void { this.calls.push(`tool-output ${callId}`) }
  createResponse (): void { this.calls.push('response') }
  sendText (text: string): void { this.calls.push(`text ${text}`) }
  update (change: { instructions?: string }): void { this.calls.push(`update ${change.instructions ?? ''}`) }
  commitInput (): void { this.calls.push('commit') }
  cancelResponse (): void { this.calls.push('cancel') }
  close (): void { this.closed = true }
}

function fakeRenewal (t: Test): { first: FakeSession, session: RenewingSession, events: RealtimeEvent[], setups: RealtimeSessionSetup[], opened: FakeSession[], resolveOpen: () => void } {
  const first = new FakeSession()
  const setups: RealtimeSessionSetup[] = []
  const opened: FakeSession[] = []
  const pending: Array<() => void> = []
  const session = new RenewingSession({
    initial: first,
    open: async (setup) => {
      setups.push(setup)
      await new Promise<void>(resolve => pending.push(resolve))
      const next = new FakeSession()
      opened.push(next)
      return next
    },
    instructions: 'Start.',
    tools: [],
    history: () => PAST,
    log: silentLogger
  })
  const events: RealtimeEvent[] = []
  session.onEvent((event) => { events.push(event) })
  t.teardown(() => { session.close() })
  return { first, session, events, setups, opened, resolveOpen: () => { for (const resolve of pending.splice(0)) resolve() } }
}

t.test('one renewal at a time; a resume handle is given with the transcript; the old session\'s end is not a failure', async t => {
  const f = fakeRenewal(t)
  f.first.emit({ type: 'resume-handle', handle: 'handle-1' })
  f.first.emit({ type: 'expiring', timeLeftMs: 0 })
  f.first.emit({ type: 'expiring', timeLeftMs: 0 })
  f.first.emit({ type: 'closed', error: new Error('gone') })
  void f.session.renew('again')
  t.equal(f.setups.length, 1, 'one renewal')
  t.match(f.setups[0], { instructions: 'Start.', resumeHandle: 'handle-1', history: PAST })
  f.resolveOpen()
  await until(() => f.session.renewals === 1, 'renewed')
  t.equal(f.first.closed, true)
  t.same(f.events, [], 'the relay saw nothing of it')
  f.opened[0]?.emit({ type: 'speech-stopped' })
  f.first.emit({ type: 'speech-started' })
  t.same(f.events, [{ type: 'speech-stopped' }], 'events of the new session only')
})

t.test('a resume handle the provider refuses: the renewal tries once more from the transcript', async t => {
  const first = new FakeSession()
  const setups: RealtimeSessionSetup[] = []
  const session = new RenewingSession({
    initial: first,
    open: async (setup) => {
      setups.push(setup)
      if (setup.resumeHandle !== undefined) throw new Error('unknown handle')
      return new FakeSession()
    },
    tools: [],
    history: () => PAST,
    log: silentLogger
  })
  t.teardown(() => { session.close() })
  first.emit({ type: 'resume-handle', handle: 'stale' })
  first.emit({ type: 'expiring' })
  await until(() => session.renewals === 1, 'renewed')
  t.same(setups.map(s => s.resumeHandle), ['stale', undefined])
  t.same(setups[1]?.history, PAST)
})

t.test('a renewal in the middle of a response cancels it for the relay; its items and calls are not sent on', async t => {
  const f = fakeRenewal(t)
  f.first.emit({ type: 'response-started', responseId: 'r1' })
  f.first.emit({ type: 'audio', responseId: 'r1', itemId: 'i1', contentIndex: 0, pcm: new Int16Array(10) })
  f.first.emit({ type: 'tool-call', responseId: 'r1', callId: 'c1', name: 'x', arguments: '{}' })
  f.first.emit({ type: 'expiring', timeLeftMs: 0 })
  f.session.update({ instructions: 'Stage two.', tools: [] })
  f.session.createResponse()
  f.session.commitInput()
  f.resolveOpen()
  await until(() => f.session.renewals === 1, 'renewed')
  t.same(f.events.at(-1), { type: 'response-done', responseId: 'r1', status: 'cancelled' })
  const next = f.opened[0] as FakeSession
  t.same(next.calls, ['update Stage two.', 'response', 'commit'], 'the calls that waited, in order')
  f.session.truncate('i1', 0, 100)
  f.session.sendToolOutput('c1', '{}')
  t.same(next.calls.length, 3, 'the old item and call are not the new session\'s')
  t.same(f.first.calls, ['update Stage two.'])
})

t.test('an expiring notice with time left waits for the response in progress', async t => {
  const f = fakeRenewal(t)
  f.first.emit({ type: 'response-started', responseId: 'r1' })
  f.first.emit({ type: 'expiring', timeLeftMs: 60_000 })
  t.equal(f.setups.length, 0, 'not during the answer')
  f.first.emit({ type: 'response-done', responseId: 'r1', status: 'completed' })
  t.equal(f.setups.length, 1, 'right after it')
  f.resolveOpen()
  await until(() => f.session.renewals === 1, 'renewed')
  t.same(f.events.filter(e => e.type === 'response-done').length, 1, 'no cancelled response: it had finished')
})

t.test('a plain close (no expiry) ends the session as before', async t => {
  const f = fakeRenewal(t)
  f.first.emit({ type: 'closed', error: new Error('cut') })
  t.equal(f.setups.length, 0)
  t.match(f.events, [{ type: 'closed', error: { message: 'cut' } }])
})
