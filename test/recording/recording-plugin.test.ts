import Fastify from 'fastify'
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import { encodeWav } from '../../lib/audio/wav.js'
import type { Playbook } from '../../lib/playbooks/types.js'
import type { SessionTranscript } from '../../lib/recording/transcript-types.js'
import type { FrameListener, MediaTransportEvents, SessionMedia } from '../../lib/transport/media-transport.js'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcHooks from '../../plugins/hooks/index.js'
import llmrtcRecording, { type LLMRTCRecordingOptions } from '../../plugins/recording/index.js'
import llmrtcSessions from '../../plugins/sessions/index.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { ManualOutput } from '../fakes/manual-output.js'
import { buildApp } from '../helpers/app.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { connect } from '../helpers/ws-client.js'

const utterance = (): string => encodeWav(new Int16Array(16 * 600).fill(1000), 16_000).toString('base64')
// Loaded once here, not by each app (a PLAYBOOK module loads inside the plugin's start-up time limit).
const { playbook } = await import(pathToFileURL(resolve(import.meta.dirname, '../../examples/support-playbook.mjs')).href) as { playbook: Playbook }

t.test('the plugin registers alone with only its declared dependencies', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtcConfig, { env: false })
  await app.register(llmrtcHooks)
  await app.register(llmrtcSessions)
  await app.register(llmrtcRecording, {})
  await app.ready()
  t.type(app.llmrtcRecording.listen, 'function')
})

t.test('bad options fail ready() with "expected X, instead got Y"', async t => {
  for (const [options, message] of [
    [{ format: 'mp3' }, /recording.format.*expected "wav" or "ogg", instead got "mp3"/],
    [{ sampleRateHz: 44_100 }, /recording.sampleRateHz/],
    [{ directory: '/tmp/x', sink: () => ({}) }, /either directory or sink/],
    [{ shouldRecord: true }, /recording.shouldRecord.*a function/],
    [{ recordAll: true }, /only the keys/]
  ] as const) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await t.rejects((async () => {
      await app.register(llmrtcConfig, { env: false })
      await app.register(llmrtcHooks)
      await app.register(llmrtcSessions)
      await app.register(llmrtcRecording, options as unknown as LLMRTCRecordingOptions)
      await app.ready()
    })(), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message })
  }
})

/** A playbook session (a tool call, a stage change) recorded with `options`; resolves with what onSessionEnd got. */
async function recordedTurn (options: LLMRTCRecordingOptions, agentRecord?: boolean): Promise<{ ended: SessionTranscript[], stored: SessionTranscript[] }> {
  const ended: SessionTranscript[] = []
  const stored: SessionTranscript[] = []
  const llm = new ScriptedLLM([
    { chunks: ['Let me look. '], toolCalls: [{ callId: 'c1', name: 'lookup_order', arguments: { orderId: '42' } }] },
    ['It ships Thursday.']
  ])
  const app = await buildApp(t, {
    webrtc: false,
    playbook,
    providers: { llm, stt: new ScriptedSTT(['where is order 42']), tts: new ScriptedTTS() },
    ...(agentRecord !== undefined ? { agentForSession: () => ({ record: agentRecord }) } : {}),
    hooks: { onSessionEnd: (_id, transcript) => { ended.push(transcript) } }
  }, async (app) => {
    await app.register(llmrtcRecording, { sink: () => ({ transcript: (transcript) => { stored.push(transcript) } }), ...options })
  })
  const client = await connect(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  client.send({ type: 'audio', data: utterance() })
  await client.next('tts-complete')
  const session = app.llmrtcSessions.list()[0]
  if (session !== undefined) app.llmrtcSessions.end(session, 'closed')
  await app.close()
  return { ended, stored }
}

t.test('a session\'s transcript goes to onSessionEnd and the sink: turns, latencies, the tool call (redacted), the stage change', async t => {
  const { ended, stored } = await recordedTurn({ redactToolCall: (call) => ({ ...call, arguments: { orderId: '[redacted]' } }) })
  t.equal(ended.length, 1, 'onSessionEnd ran once')
  t.equal(stored[0], ended[0], 'the sink stored the same transcript')
  const transcript = ended[0] as SessionTranscript
  t.match(transcript.turns, [
    { speaker: 'user', text: 'where is order 42' },
    { speaker: 'assistant', text: /Let me look\.[\s\S]*It ships Thursday\./, interrupted: false, outcome: 'completed', latency: { transcriptMs: Number, firstTokenMs: Number, totalMs: Number } }
  ])
  t.equal(transcript.turns[0]?.turnId, transcript.turns[1]?.turnId, 'the answer belongs to the user\'s turn')
  t.match(transcript.toolCalls, [{ callId: 'c1', name: 'lookup_order', arguments: { orderId: '[redacted]' }, result: { found: true, status: 'shipped' } }])
  t.notMatch(JSON.stringify(transcript.toolCalls[0]?.arguments), /42/, 'the redacted argument is gone')
  t.match(transcript.stageChanges, [{ from: 'greet', to: 'resolve', reason: 'tool_call: lookup_order', turnId: transcript.turns[0]?.turnId }])
  t.equal(transcript.recording, undefined, 'no sink for audio: no recording')
})

t.test('the veto: shouldRecord false records nothing, not even the transcript', async t => {
  const seen: string[] = []
  const { ended, stored } = await recordedTurn({ shouldRecord: (info) => { seen.push(info.sessionId); return false } })
  t.equal(seen.length, 1, 'asked once per session')
  t.same(ended, [])
  t.same(stored, [])
})

t.test('opt-in: only sessions whose agent choice says record: true are recorded; record: false wins over all', async t => {
  t.equal((await recordedTurn({ sessions: 'opt-in' })).ended.length, 0, 'opt-in, no choice: not recorded')
  t.equal((await recordedTurn({ sessions: 'opt-in' }, true)).ended.length, 1, 'opt-in, record: true: recorded')
  t.equal((await recordedTurn({ sessions: 'all' }, false)).ended.length, 0, 'all, record: false: not recorded')
})

t.test('a sink function that throws is reported to onError and the call goes on', async t => {
  const errors: Array<{ code?: string, component: string }> = []
  const llm = new ScriptedLLM([['Hi there.']])
  const app = await buildApp(t, {
    webrtc: false,
    providers: { llm, stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() },
    hooks: { onError: (err, ctx) => { errors.push({ code: (err as { code?: string }).code, component: ctx.component }) } }
  }, async (app) => {
    await app.register(llmrtcRecording, { sink: () => { throw new Error('no bucket') } })
  })
  const client = await connect(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  client.send({ type: 'audio', data: utterance() })
  t.same(await client.next('llm'), { type: 'llm', text: 'Hi there.' }, 'the turn ran')
  await client.next('tts-complete')
  t.match(errors, [{ code: 'LLMRTC_ERR_RECORDING_SINK', component: 'recording' }])
})

t.test('a transport handed to the pipeline later (phone calls, devices) is recorded too: its microphone left, its output\'s frames right', async t => {
  const directory = scratchDir()
  const ended: SessionTranscript[] = []
  const app = await buildApp(t, {
    webrtc: false,
    providers: { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() },
    recording: { directory },
    hooks: { onSessionEnd: (_id, transcript) => { ended.push(transcript) } }
  })
  const session = app.llmrtcSessions.create()
  const transport = new EventEmitter<MediaTransportEvents>()
  app.llmrtcPipeline.listen(transport)
  let mic: ((frame: AudioFrame) => void) | undefined
  let output: FrameListener | undefined
  const speaker = Object.assign(new ManualOutput(), { onFrame: (listener: FrameListener) => { output = listener; return () => { output = undefined } } })
  const media: SessionMedia = {
    onAudio: (listener: (frame: AudioFrame) => void) => { mic = listener; return () => { mic = undefined } },
    output: speaker
  }
  transport.emit('media', session.id, media)
  await new Promise(resolve => setTimeout(resolve, 50))
  t.type(mic, 'function', 'the microphone is tapped')
  t.type(output, 'function', 'the output is tapped')
  const user = new Int16Array(160).fill(1000)
  const answer = new Int16Array(80).fill(2000)
  for (let i = 0; i < 20; i++) mic?.({ samples: user, sampleRateHz: 16_000, channels: 1, samplesPerChannel: 160 })
  for (let i = 0; i < 20; i++) output?.(answer, 8000)
  transport.emit('closed', session.id)
  t.equal(mic, undefined, 'the taps are removed when the media closes')
  app.llmrtcSessions.end(session, 'closed')
  await app.close()
  const wav = readFileSync(join(directory, `${session.id}.wav`))
  let left = 0
  let right = 0
  for (let i = 44; i + 3 < wav.length; i += 4) { if (wav.readInt16LE(i) === 1000) left++; if (Math.abs(wav.readInt16LE(i + 2) - 2000) < 50) right++ }
  t.ok(left >= 3000, `left: the caller's 200 ms (${left} samples)`)
  t.ok(right >= 2500, `right: the answer's 200 ms (${right} samples)`)
  t.equal(ended[0]?.recording?.file, join(directory, `${session.id}.wav`))
})
