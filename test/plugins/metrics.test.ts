import * as dc from 'node:diagnostics_channel'
import { resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { LLMRTC_CHANNELS, publishStageChange, publishToolEnd } from '../../lib/observability/channels.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { connect, type RecordingSocket } from '../helpers/ws-client.js'

const examplePlaybook = resolve(import.meta.dirname, '../../examples/support-playbook.mjs')
const utterance = encodeWav(new Int16Array(8000).fill(1000), 16_000).toString('base64')

function scripted (stt: Array<string | Error | 'hang'>, llm: ConstructorParameters<typeof ScriptedLLM>[0]): LLMRTCPluginOptions {
  return { webrtc: false, providers: { stt: new ScriptedSTT(stt), llm: new ScriptedLLM(llm), tts: new ScriptedTTS(1) } }
}

async function scrape (app: FastifyInstance, path = '/metrics'): Promise<string> {
  const response = await app.inject({ method: 'GET', url: path })
  if (response.statusCode !== 200) throw new Error(`GET ${path}: ${response.statusCode}`)
  return response.body
}

/** The value of one sample (`name{labels} value`); undefined when absent. */
function sample (text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(labels === '' ? `${name} ` : `${name}{${labels}} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

/** Sends one utterance and waits for the turn's `metrics` (completed/cancelled) or `error`. */
async function turn (client: RecordingSocket, until: 'metrics' | 'error'): Promise<void> {
  const from = client.messages.length
  client.send({ type: 'audio', data: utterance })
  await client.next(until, from)
}

t.test('a turn over the audio message path is counted: outcome, stage latencies, sessions and connections', async t => {
  const app = await buildApp(t, scripted(['hello there'], [['Hi! Nice to meet you. ']]))
  const client = await connect(app)
  await client.next('ready')
  await turn(client, 'metrics')
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = response.body
  t.equal(sample(text, 'llmrtc_turns_total', 'outcome="completed",transport="websocket"'), 1)
  for (const outcome of ['empty', 'cancelled', 'failed', 'blocked']) t.equal(sample(text, 'llmrtc_turns_total', `outcome="${outcome}",transport="websocket"`), 0, `${outcome} starts at 0`)
  for (const name of ['llmrtc_stt_latency_seconds', 'llmrtc_llm_first_token_seconds', 'llmrtc_tts_first_audio_seconds']) {
    t.equal(sample(text, `${name}_count`), 1, `${name} observed once`)
  }
  t.equal(sample(text, 'llmrtc_voice_to_voice_seconds_count', 'transport="websocket"'), 1, 'llmrtc_voice_to_voice_seconds observed once, by transport')
  t.equal(sample(text, 'llmrtc_turn_duration_seconds_count', 'outcome="completed",transport="websocket"'), 1)
  t.equal(sample(text, 'llmrtc_active_sessions', 'transport="websocket"'), 1)
  t.equal(sample(text, 'llmrtc_active_connections'), 1)
  t.match(text, /# TYPE llmrtc_turns_total counter/)
  t.match(text, /# TYPE llmrtc_voice_to_voice_seconds histogram/)
  t.notMatch(text, /hello there|Nice to meet you/, 'no text of the conversation')
  t.notMatch(text, /process_cpu/, 'no default Node metrics unless asked')
  client.ws.terminate()
})

t.test('a failing provider is counted by protocol code, and its turn as failed', async t => {
  const app = await buildApp(t, scripted([new Error('speech service down')], [['Never said.']]))
  const client = await connect(app)
  await client.next('ready')
  await turn(client, 'error')
  await app.llmrtcPipeline.for(app.llmrtcSessions.list()[0]!).idle()
  const text = await scrape(app)
  t.equal(sample(text, 'llmrtc_errors_total', 'code="STT_ERROR",component="stt"'), 1)
  t.equal(sample(text, 'llmrtc_turns_total', 'outcome="failed",transport="websocket"'), 1)
  t.equal(sample(text, 'llmrtc_stt_latency_seconds_count'), 0)
  client.ws.terminate()
})

t.test('errors answered to a bad client message are counted as component signaling', async t => {
  const app = await buildApp(t, scripted([], []))
  const client = await connect(app)
  await client.next('ready')
  client.send('{oops')
  client.send({ type: 'ping' })
  client.send({ type: 'ping', timestamp: 1 })
  await client.next('pong')
  const text = await scrape(app)
  t.equal(sample(text, 'llmrtc_errors_total', 'code="INVALID_MESSAGE",component="signaling"'), 2)
  client.ws.terminate()
})

t.test('an utterance that interrupts a running turn counts as a barge-in while thinking', async t => {
  const app = await buildApp(t, scripted(['first', 'second'], ['hang', ['Done.']]))
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: utterance })
  await client.next('transcript')
  await turn(client, 'metrics')
  await app.llmrtcPipeline.for(app.llmrtcSessions.list()[0]!).idle()
  const text = await scrape(app)
  t.equal(sample(text, 'llmrtc_barge_ins_total', 'during="thinking"'), 1)
  t.equal(sample(text, 'llmrtc_barge_ins_total', 'during="speaking"'), 0)
  t.equal(sample(text, 'llmrtc_turns_total', 'outcome="cancelled",transport="websocket"'), 1)
  t.equal(sample(text, 'llmrtc_turns_total', 'outcome="completed",transport="websocket"'), 1)
  client.ws.terminate()
})

t.test('VAD inference is timed per batch, with the windows it scored', async t => {
  const app = await buildApp(t, { webrtc: false })
  const before = await scrape(app)
  const runs = sample(before, 'llmrtc_vad_inference_seconds_count') ?? 0
  const windows = sample(before, 'llmrtc_vad_windows_total') ?? 0
  const detector = app.llmrtcVad.createDetector({ onEvent: () => {}, onError: (err) => { t.error(err) } })
  const silence = new Int16Array(1600)
  for (let i = 0; i < 4; i++) detector.push({ samples: silence, channels: 1, sampleRateHz: 16_000, samplesPerChannel: silence.length })
  await detector.drain()
  const after = await scrape(app)
  t.ok((sample(after, 'llmrtc_vad_inference_seconds_count') ?? 0) > runs, 'inference runs observed')
  t.equal((sample(after, 'llmrtc_vad_windows_total') ?? 0) - windows, 12, '6400 samples are 12 windows of 512')
})

t.test('tool calls and stage changes are counted for this app\'s sessions only; unknown tools share one label', async t => {
  const app = await buildApp(t, { webrtc: false })
  const client = await connect(app)
  const { id } = await client.next('ready') as { id: string }
  const call = { callId: 'c', durationMs: 30, cancelled: false }
  publishToolEnd({ sessionId: id, turnId: 't' }, { ...call, name: 'lookup_order' })
  publishToolEnd({ sessionId: id, turnId: 't' }, { ...call, name: 'lookup_order', error: 'slow', errorCode: 'LLMRTC_ERR_TOOL_TIMEOUT' })
  publishToolEnd({ sessionId: id, turnId: 't' }, { ...call, name: 'made_up_by_the_model', error: 'no such tool', errorCode: 'LLMRTC_ERR_TOOL_UNKNOWN' })
  publishToolEnd({ sessionId: 'another-app', turnId: 't' }, { ...call, name: 'lookup_order' })
  publishStageChange(id, { from: 'greet', to: 'order', transitionId: 'x' })
  publishStageChange('another-app', { from: 'greet', to: 'order', transitionId: 'x' })
  const text = await scrape(app)
  t.equal(sample(text, 'llmrtc_tool_calls_total', 'name="lookup_order",outcome="success"'), 1)
  t.equal(sample(text, 'llmrtc_tool_calls_total', 'name="lookup_order",outcome="timeout"'), 1)
  t.equal(sample(text, 'llmrtc_tool_calls_total', 'name="(unknown)",outcome="error"'), 1)
  t.notMatch(text, /made_up_by_the_model/)
  t.equal(sample(text, 'llmrtc_tool_duration_seconds_count', 'name="lookup_order"'), 2)
  t.equal(sample(text, 'llmrtc_stage_transitions_total', 'from="greet",to="order"'), 1)
  client.ws.terminate()
})

t.test('a playbook turn counts its tool call and its stage change', async t => {
  const llm = new ScriptedLLM([
    { chunks: ['Let me look. '], toolCalls: [{ callId: 'c1', name: 'lookup_order', arguments: { orderId: '42' } }] },
    ['It ships Thursday.']
  ])
  const app = await buildApp(t, { webrtc: false, env: { PLAYBOOK: examplePlaybook }, providers: { llm, stt: new ScriptedSTT(['where is order 42']), tts: new ScriptedTTS(1) } })
  const client = await connect(app)
  await client.next('ready')
  await turn(client, 'metrics')
  const text = await scrape(app)
  t.equal(sample(text, 'llmrtc_tool_calls_total', 'name="lookup_order",outcome="success"'), 1)
  t.equal(sample(text, 'llmrtc_tool_duration_seconds_count', 'name="lookup_order"'), 1)
  t.equal(sample(text, 'llmrtc_stage_transitions_total', 'from="greet",to="resolve"'), 1)
  t.notMatch(text, /orderId|42"/, 'no tool arguments')
  client.ws.terminate()
})

t.test('two apps in one process count only their own sessions', async t => {
  const a = await buildApp(t, scripted(['one'], [['Answer one.']]))
  const b = await buildApp(t, scripted([], []))
  const client = await connect(a)
  await client.next('ready')
  await turn(client, 'metrics')
  const textA = await scrape(a)
  const textB = await scrape(b)
  t.equal(sample(textA, 'llmrtc_turns_total', 'outcome="completed",transport="websocket"'), 1)
  t.equal(sample(textB, 'llmrtc_turns_total', 'outcome="completed",transport="websocket"'), 0)
  t.equal(sample(textB, 'llmrtc_stt_latency_seconds_count'), 0)
  t.equal(sample(textA, 'llmrtc_active_sessions', 'transport="websocket"'), 1)
  t.equal(sample(textB, 'llmrtc_active_sessions', 'transport="websocket"'), 0)
  t.not(a.llmrtcMetrics.registry, b.llmrtcMetrics.registry)
  client.ws.terminate()
})

t.test('closing the app unsubscribes from the channels', async t => {
  const app = await buildApp(t, { webrtc: false, tracing: false })
  t.ok(dc.hasSubscribers(LLMRTC_CHANNELS.turnEnd))
  await app.close()
  for (const name of Object.values(LLMRTC_CHANNELS)) t.notOk(dc.hasSubscribers(name), `${name} has no subscriber left`)
})

t.test('metrics: false, or METRICS=false, serves no metrics route', async t => {
  for (const options of [{ metrics: false }, { env: { METRICS: 'false' } }] as LLMRTCPluginOptions[]) {
    const app = await buildApp(t, { webrtc: false, ...options })
    t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
    t.notOk(app.hasDecorator('llmrtcMetrics'))
  }
  const explicit = await buildApp(t, { webrtc: false, env: { METRICS: 'false' }, metrics: {} })
  t.equal((await explicit.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'an options object wins over the environment')
})

t.test('the path comes from the option, else METRICS_PATH; path: false keeps only the registry', async t => {
  const fromOption = await buildApp(t, { webrtc: false, metrics: { path: '/internal/metrics' }, env: { METRICS_PATH: '/env-metrics' } })
  t.ok(sample(await scrape(fromOption, '/internal/metrics'), 'llmrtc_active_sessions', 'transport="websocket"') === 0)
  t.equal((await fromOption.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  const fromEnv = await buildApp(t, { webrtc: false, env: { METRICS_PATH: '/env-metrics' } })
  t.match(await scrape(fromEnv, '/env-metrics'), /llmrtc_turns_total/)
  const noRoute = await buildApp(t, { webrtc: false, metrics: { path: false } })
  t.equal((await noRoute.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  t.match(await noRoute.llmrtcMetrics.registry.metrics(), /llmrtc_turns_total/)
})

t.test('defaultMetrics adds prom-client\'s Node metrics, prefixed', async t => {
  const app = await buildApp(t, { webrtc: false, metrics: { defaultMetrics: true } })
  const text = await scrape(app)
  t.match(text, /^llmrtc_process_cpu_user_seconds_total /m)
  t.match(text, /^llmrtc_nodejs_heap_size_used_bytes /m)
})

t.test('bad metrics options fail ready()', async t => {
  for (const [metrics, message] of [
    [{ path: 'metrics' }, /metrics\.path": expected a path starting with \/ \(or false\), instead got "metrics"/],
    [{ defaultMetrics: 'yes' }, /metrics\.defaultMetrics": expected a boolean/]
  ] as const) {
    await t.rejects(buildApp(t, { webrtc: false, metrics: metrics as never }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message })
  }
  await t.rejects(buildApp(t, { webrtc: false, metrics: { paht: '/m' } as never }), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /metrics\.paht": expected one of path, defaultMetrics/ })
})
