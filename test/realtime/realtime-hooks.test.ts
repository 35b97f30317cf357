import t from 'tap'
import { Type } from '@sinclair/typebox'
import { HookRegistry } from '../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../lib/logger.js'
import type { RealtimeRelay } from '../../lib/realtime/realtime-relay.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { until } from '../helpers/ws-client.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { mockFor, openOn, relayOn } from './relay-harness.js'

const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const cert = tls as NonNullable<typeof tls>

/** 10 ms frames at 48 kHz: a loud tone (speech to the mock's server VAD), then silence. */
function speak (relay: RealtimeRelay, speechMs: number, silenceMs: number): void {
  for (let ms = 0; ms < speechMs + silenceMs; ms += 10) {
    const samples = new Int16Array(480)
    if (ms < speechMs) for (let i = 0; i < 480; i++) samples[i] = Math.round(6000 * Math.sin(2 * Math.PI * 300 * (ms * 48 + i) / 48_000))
    relay.pushAudio({ samples, sampleRateHz: 48_000, channels: 1, samplesPerChannel: 480 })
  }
}

function recorder (): { hooks: HookRegistry, fired: string[], settled: () => Promise<void> } {
  const fired: string[] = []
  const hooks = new HookRegistry(silentLogger)
  hooks.addHooks({
    onSpeechStart: (sessionId) => { fired.push(`speech-start ${sessionId}`) },
    onSpeechEnd: (_s, _at, durationMs) => { fired.push(`speech-end ${durationMs >= 0 ? 'timed' : 'untimed'}`) },
    onSTTEnd: (ctx, result) => { fired.push(`stt ${result.text} (${ctx.sessionId})`) },
    onLLMEnd: (ctx, result) => { fired.push(`llm ${result.fullText} (${ctx.turnId.startsWith('resp_') ? 'response id' : ctx.turnId})`) },
    onToolStart: (ctx, call) => { fired.push(`tool-start ${call.name} (${ctx.turnId.startsWith('resp_') ? 'response id' : ctx.turnId})`) },
    onToolEnd: (_ctx, result) => { fired.push(`tool-end ${result.name} ${result.error ?? 'ok'}`) },
    onToolError: (_ctx, call, error) => { fired.push(`tool-error ${call.name}: ${error.message}`) },
    onError: (error, ctx) => { fired.push(`error ${ctx.component} ${ctx.code}: ${error.message}`) }
  })
  return { hooks, fired, settled: async () => { await new Promise(resolve => setImmediate(resolve)) } }
}

t.test('with the provider\'s turn detection: speech, transcript and answer hooks fire', async t => {
  const mock = await mockFor(t, cert)
  mock.script({ transcript: 'Sure thing.', audioMs: 200 })
  const { hooks, fired, settled } = recorder()
  const h = relayOn(t, await openOn(mock), { hooks })
  speak(h.relay, 600, 600)
  await h.next('usage')
  await settled()
  t.same(fired, ['speech-start s1', 'speech-end timed', 'stt I heard 0.6 seconds of speech (s1)', 'llm Sure thing. (response id)'])
})

t.test('tool hooks fire with the response as the turn, onToolError for a failing tool', async t => {
  const mock = await mockFor(t, cert)
  const broken = defineTool({ name: 'broken', description: 'Fails', parameters: Type.Object({}) }, () => { throw new Error('the backend is down') })
  mock.script({ toolCall: { name: 'broken', arguments: '{}' } }, { transcript: 'Sorry.', audioMs: 100 })
  const { hooks, fired, settled } = recorder()
  const h = relayOn(t, await openOn(mock), { hooks, tools: [broken] })
  h.relay.sendText('Try it.')
  await h.next('tool-call-end')
  await h.next('usage', 1)
  await settled()
  t.same(fired.filter(f => f.startsWith('tool')), ['tool-start broken (response id)', 'tool-error broken: Tool "broken" failed: the backend is down', 'tool-end broken Tool "broken" failed: the backend is down'])
})

t.test('provider errors and a dropped provider session reach onError as realtime errors', async t => {
  const mock = await mockFor(t, cert)
  const { hooks, fired, settled } = recorder()
  relayOn(t, await openOn(mock), { hooks })
  mock.broadcast({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_value', message: 'bad value' } })
  await until(() => fired.length === 1, 'the provider error')
  mock.dropConnections()
  await until(() => fired.length === 2, 'the dropped session')
  await settled()
  t.equal(fired.length, 2)
  t.match(fired[0], /^error realtime REALTIME_ERROR: bad value/)
  t.match(fired[1], /^error realtime REALTIME_ERROR: .*socket closed \(1011/)
})

t.test('a hook that throws is reported to onError and the relay goes on', async t => {
  const mock = await mockFor(t, cert)
  mock.script({ transcript: 'First.', audioMs: 100 }, { transcript: 'Second.', audioMs: 100 })
  const { hooks, fired, settled } = recorder()
  hooks.addHook('onLLMEnd', () => { throw new Error('guardrail says no') })
  const h = relayOn(t, await openOn(mock), { hooks })
  h.relay.sendText('One.')
  await h.next('usage')
  h.relay.sendText('Two.')
  await h.next('usage', 1)
  await settled()
  t.same(fired.filter(f => f.startsWith('error')), ['error hook INTERNAL_ERROR: guardrail says no', 'error hook INTERNAL_ERROR: guardrail says no'])
  t.match(h.messages.filter(m => m.type === 'assistant-transcript' && m.isFinal), [{ text: 'First.' }, { text: 'Second.' }], 'both answers went through')
})
