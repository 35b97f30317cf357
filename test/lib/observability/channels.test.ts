import * as dc from 'node:diagnostics_channel'
import t, { type Test } from 'tap'
import { systemClock } from '../../../lib/clock.js'
import { HookRegistry } from '../../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../../lib/logger.js'
import {
  LLMRTC_CHANNELS, publishError, publishStageChange, publishToolEnd, publishTurnEnd, publishVadBatch, subscribeChannel,
  type LLMRTCChannelEvents, type LLMRTCChannelName
} from '../../../lib/observability/channels.js'
import { DEFAULT_TURN_OPTIONS, type TurnResult } from '../../../lib/pipeline/turn-types.js'
import { VoicePipeline } from '../../../lib/pipeline/voice-pipeline.js'
import type { Providers } from '../../../lib/providers/types.js'
import { ConversationHistory } from '../../../lib/sessions/conversation-history.js'
import { SileroVad } from '../../../lib/vad/silero-vad.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../../fakes/scripted-providers.js'
import { until } from '../../helpers/speech-events.js'

/** Collects a channel's events until the test ends. */
function collect<N extends LLMRTCChannelName> (t: Test, name: N): Array<LLMRTCChannelEvents[N]> {
  const events: Array<LLMRTCChannelEvents[N]> = []
  t.teardown(subscribeChannel(name, (event) => { events.push(event) }))
  return events
}

/** An object that counts every property read (deep), to prove a publisher built nothing. */
function spy<T extends object> (reads: { count: number }): T {
  const handler: ProxyHandler<object> = {
    get (_target, _key) {
      reads.count++
      return new Proxy({}, handler)
    }
  }
  return new Proxy({}, handler) as T
}

t.test('with no subscriber, publishing reads nothing of what it is given', async t => {
  for (const name of Object.values(LLMRTC_CHANNELS)) t.notOk(dc.hasSubscribers(name), `${name} has no subscriber`)
  const reads = { count: 0 }
  publishTurnEnd(spy<TurnResult>(reads), 0, spy<Providers>(reads))
  publishError(spy(reads))
  publishToolEnd(spy(reads), spy(reads))
  publishStageChange('s', spy(reads), 'p')
  publishVadBatch(1, 2)
  t.equal(reads.count, 0)
})

t.test('a turn end carries ids, outcome, absolute times, timings and provider names', async t => {
  const events = collect(t, 'llmrtc:turn:end')
  const result: TurnResult = { outcome: 'completed', ctx: { turnId: 't1', sessionId: 's1', startTime: 1_000_050 }, timings: { transcriptMs: 100, totalMs: 900 }, assistantText: 'secret words' }
  publishTurnEnd(result, 1_000_000, { stt: new ScriptedSTT([]), llm: new ScriptedLLM([]), tts: new ScriptedTTS() })
  t.same(events, [{
    sessionId: 's1',
    turnId: 't1',
    outcome: 'completed',
    speechEndedAt: 1_000_000,
    startedAt: 1_000_050,
    endedAt: 1_000_900,
    timings: { transcriptMs: 100, totalMs: 900 },
    providers: { stt: 'scripted-stt', llm: 'scripted-llm', tts: 'scripted-tts' }
  }])
  t.notMatch(JSON.stringify(events), /secret words/, 'no text of the turn')
})

t.test('tool outcomes are published as success, error, timeout or cancelled, without arguments or results', async t => {
  const events = collect(t, 'llmrtc:tool:end')
  const turn = { sessionId: 's1', turnId: 't1', stageId: 'greet' }
  const base = { callId: 'c1', name: 'lookup', durationMs: 12, cancelled: false }
  publishToolEnd(turn, { ...base, result: { card: '4111' }, arguments: { q: 'private' } } as typeof base)
  publishToolEnd(turn, { ...base, error: 'boom', errorCode: 'LLMRTC_ERR_TOOL_FAILED' })
  publishToolEnd(turn, { ...base, error: 'slow', errorCode: 'LLMRTC_ERR_TOOL_TIMEOUT' })
  publishToolEnd({ sessionId: 's1', turnId: 't1' }, { ...base, cancelled: true })
  t.same(events.map(e => e.outcome), ['success', 'error', 'timeout', 'cancelled'])
  t.same(events[0], { sessionId: 's1', turnId: 't1', callId: 'c1', name: 'lookup', outcome: 'success', durationMs: 12, stageId: 'greet' })
  t.equal(events[2]?.errorCode, 'LLMRTC_ERR_TOOL_TIMEOUT')
  t.notOk('stageId' in (events[3] ?? {}))
  t.notMatch(JSON.stringify(events), /4111|private/)
})

t.test('a stage change is published without its reason', async t => {
  const events = collect(t, 'llmrtc:stage:change')
  publishStageChange('s1', { from: 'greet', to: 'order', transitionId: 'x', reason: 'llm_decision: the user said so', clearHistory: false } as never, 'shop')
  publishStageChange('s1', { from: 'order', to: 'bye', transitionId: 'y' })
  t.same(events, [
    { sessionId: 's1', playbookId: 'shop', from: 'greet', to: 'order', transitionId: 'x' },
    { sessionId: 's1', from: 'order', to: 'bye', transitionId: 'y' }
  ])
})

t.test('every error reported to onError is published, with or without onError handlers', async t => {
  const events = collect(t, 'llmrtc:error')
  const hooks = new HookRegistry(silentLogger)
  await hooks.run('onError', new Error('x'), { code: 'STT_ERROR', component: 'stt', sessionId: 's1', turnId: 't1', timestamp: 1, details: { a: 1 } })
  hooks.addHook('onTurnStart', () => { throw new Error('hook bug') })
  await hooks.run('onTurnStart', { turnId: 't2', sessionId: 's1', startTime: 0 }, Buffer.alloc(0))
  t.same(events, [
    { code: 'STT_ERROR', component: 'stt', sessionId: 's1', turnId: 't1' },
    { code: 'INTERNAL_ERROR', component: 'hook' }
  ])
})

t.test('unsubscribing stops delivery', async t => {
  const events: unknown[] = []
  const stop = subscribeChannel('llmrtc:vad:batch', (event) => { events.push(event) })
  publishVadBatch(1, 2)
  stop()
  publishVadBatch(1, 2)
  t.same(events, [{ durationMs: 1, windows: 2 }])
  t.notOk(dc.hasSubscribers('llmrtc:vad:batch'))
})

function pipeline (t: Test, llm: ScriptedLLM): VoicePipeline {
  const p = new VoicePipeline({
    sessionId: 'session-1',
    providers: { stt: new ScriptedSTT(['hello', 'again']), llm, tts: new ScriptedTTS(1) },
    hooks: new HookRegistry(silentLogger),
    history: new ConversationHistory('Be brief.', 20),
    send: () => {},
    takeAttachments: () => [],
    clock: systemClock,
    log: silentLogger,
    turnOptions: DEFAULT_TURN_OPTIONS,
    streamingSTT: false
  })
  t.teardown(() => p.close())
  return p
}

const wav = (): Buffer => Buffer.alloc(44)

t.test('the voice pipeline publishes each turn end, and a barge-in on the turn it interrupts', async t => {
  const ends = collect(t, 'llmrtc:turn:end')
  const bargeIns = collect(t, 'llmrtc:barge-in')
  const llm = new ScriptedLLM(['hang', ['Hi there.']])
  const p = pipeline(t, llm)
  p.runUtterance(wav(), [])
  await until(() => llm.requests.length === 1, 'the first LLM call')
  p.runUtterance(wav(), [])
  await until(() => ends.length === 2, 'two turn ends')
  t.same(ends.map(e => e.outcome), ['cancelled', 'completed'])
  t.equal(bargeIns.length, 1)
  t.match(bargeIns[0], { sessionId: 'session-1', turnId: ends[0]?.turnId, speaking: false, at: Number })
  t.match(ends[1], { sessionId: 'session-1', providers: { stt: 'scripted-stt', llm: 'scripted-llm', tts: 'scripted-tts' } })
  t.ok((ends[1]?.timings.firstAudioOutMs ?? -1) >= 0)
  t.ok((ends[1]?.endedAt ?? 0) >= (ends[1]?.speechEndedAt ?? Infinity))
  p.cancelTurn()
  t.equal(bargeIns.length, 1, 'cancelling an idle pipeline is no barge-in')
})

t.test('the shared VAD model publishes one event per inference batch', async t => {
  const batches = collect(t, 'llmrtc:vad:batch')
  const vad = await SileroVad.acquire()
  t.teardown(() => vad.close())
  const a = vad.createState()
  const b = vad.createState()
  await Promise.all([vad.detect(a, new Int16Array(512)), vad.detect(b, new Int16Array(512))])
  t.equal(batches.length, 1, 'two windows submitted together run as one batch')
  t.equal(batches[0]?.windows, 2)
  t.ok((batches[0]?.durationMs ?? -1) >= 0)
})
