import { SpanStatusCode, trace } from '@opentelemetry/api'
import t, { type Test } from 'tap'
import { publishBargeIn, publishError, publishTurnEnd } from '../../../lib/observability/channels.js'
import { traceTurns, type TurnTracingOptions } from '../../../lib/observability/turn-tracing.js'
import type { TurnOutcome, TurnResult, TurnTimings } from '../../../lib/pipeline/turn-types.js'
import type { Providers } from '../../../lib/providers/types.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../../fakes/scripted-providers.js'
import { FakeTracerProvider } from '../../helpers/fake-tracer.js'

const providers: Providers = { stt: new ScriptedSTT([]), llm: new ScriptedLLM([]), tts: new ScriptedTTS() }
const SPEECH_END = 1_700_000_000_000

function tracing (t: Test, options?: TurnTracingOptions): FakeTracerProvider {
  const provider = new FakeTracerProvider().install()
  const stop = traceTurns(options)
  t.teardown(() => {
    stop()
    provider.uninstall()
  })
  return provider
}

function endTurn (outcome: TurnOutcome, timings: TurnTimings, ids = { sessionId: 's1', turnId: 't1' }): void {
  const result: TurnResult = { outcome, ctx: { ...ids, startTime: SPEECH_END + 5 }, timings, assistantText: 'the answer text' }
  publishTurnEnd(result, SPEECH_END, providers)
}

t.test('a completed turn is one llmrtc.turn span with stt, llm and tts children at the turn\'s times', async t => {
  const spans = tracing(t)
  endTurn('completed', { transcriptMs: 200, firstTokenMs: 500, firstAudioMs: 700, firstAudioOutMs: 700, totalMs: 2000 })
  const [turn] = spans.named('llmrtc.turn')
  t.ok(turn?.ended)
  t.equal(spans.tracerNames.at(-1), 'llmrtc')
  t.equal(turn?.startTime, SPEECH_END)
  t.equal(turn?.endTime, SPEECH_END + 2000)
  t.match(turn?.attributes, {
    'llmrtc.session.id': 's1',
    'llmrtc.turn.id': 't1',
    'llmrtc.turn.outcome': 'completed',
    'llmrtc.stt.provider': 'scripted-stt',
    'llmrtc.llm.provider': 'scripted-llm',
    'llmrtc.tts.provider': 'scripted-tts',
    'llmrtc.turn.queued_ms': 5,
    'llmrtc.latency.transcript_ms': 200,
    'llmrtc.latency.voice_to_voice_ms': 700,
    'llmrtc.latency.total_ms': 2000
  })
  t.equal(turn?.status, undefined, 'no error status')
  t.same(turn?.events.map(e => e.name), ['llmrtc.first_audio_out'])
  const children = ['llmrtc.stt', 'llmrtc.llm', 'llmrtc.tts'].map(name => spans.named(name)[0])
  t.ok(children.every(c => c?.parentSpanId === turn?.spanId && c?.ended), 'children of the turn span, ended')
  t.same(children.map(c => [c?.startTime, c?.endTime]), [[SPEECH_END, SPEECH_END + 200], [SPEECH_END + 200, SPEECH_END + 500], [SPEECH_END + 500, SPEECH_END + 700]])
  t.same(children.map(c => c?.attributes['llmrtc.provider']), ['scripted-stt', 'scripted-llm', 'scripted-tts'])
  t.notMatch(JSON.stringify(spans.spans), /the answer text/, 'no text in spans')
})

t.test('a failed turn carries its error code; stages it never reached have no span', async t => {
  const spans = tracing(t)
  publishError({ code: 'LLM_TIMEOUT', component: 'llm', sessionId: 's1', turnId: 't1', timestamp: 0 })
  endTurn('failed', { transcriptMs: 100, totalMs: 60_100 })
  const [turn] = spans.named('llmrtc.turn')
  t.same(turn?.status, { code: SpanStatusCode.ERROR, message: 'LLM_TIMEOUT' })
  t.equal(turn?.attributes['error.type'], 'LLM_TIMEOUT')
  t.same(spans.spans.map(s => s.name), ['llmrtc.turn', 'llmrtc.stt'])
})

t.test('a barge-in is an event on the turn it interrupted', async t => {
  const spans = tracing(t)
  publishBargeIn('s1', 't1', SPEECH_END + 900, true)
  endTurn('cancelled', { transcriptMs: 100, firstTokenMs: 300, firstAudioMs: 400, firstAudioOutMs: 400, totalMs: 950 })
  const [turn] = spans.named('llmrtc.turn')
  t.equal(turn?.status, undefined, 'a cancelled turn is no error')
  t.match(turn?.events.find(e => e.name === 'llmrtc.barge_in'), { attributes: { 'llmrtc.barge_in.speaking': true }, time: SPEECH_END + 900 })
})

t.test('turns of sessions it does not own are not traced', async t => {
  const spans = tracing(t, { owns: (id) => id === 'mine' })
  endTurn('completed', { totalMs: 10 }, { sessionId: 'theirs', turnId: 'a' })
  endTurn('empty', { transcriptMs: 10, totalMs: 10 }, { sessionId: 'mine', turnId: 'b' })
  t.same(spans.spans.map(s => [s.name, s.attributes['llmrtc.turn.id']]), [['llmrtc.turn', 'b'], ['llmrtc.stt', 'b']])
})

t.test('without an OpenTelemetry SDK, tracing records nothing and throws nothing', async t => {
  trace.disable()
  const errors: unknown[] = []
  const stop = traceTurns({ onListenerError: (err) => { errors.push(err) } })
  t.teardown(stop)
  endTurn('completed', { transcriptMs: 200, firstTokenMs: 500, firstAudioMs: 700, firstAudioOutMs: 700, totalMs: 2000 })
  t.same(errors, [])
})

t.test('a tracer given in the options is used, and stopping ends tracing', async t => {
  const provider = new FakeTracerProvider()
  const stop = traceTurns({ tracer: provider.getTracer('mine') })
  endTurn('completed', { totalMs: 10 })
  stop()
  endTurn('completed', { totalMs: 10 })
  t.equal(provider.named('llmrtc.turn').length, 1)
})
