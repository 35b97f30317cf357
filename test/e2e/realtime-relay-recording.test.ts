import type { FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { NoiseSuppressor } from '../../lib/audio/noise-suppressor.js'
import type { SessionTranscript, TranscriptAssistantTurn, TranscriptTurn } from '../../lib/recording/transcript-types.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { decodeRecording, loudShare, timelines, turnSpans } from '../helpers/channel-energy.js'
import { listenUrl, say, voiceClient, withUnbrokenSpeech } from '../helpers/e2e.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'
import { stdioFixture } from '../mcp/helpers.js'
import { startOpenAIRealtimeMock, type OpenAIRealtimeMock } from '../mocks/openai-realtime-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'

// Relay mode with the features the pipeline has: recording (the user's microphone and the model's audio as
// played, its transcripts), MCP tools and noise suppression. Real speech (espeak-ng) over a real WebRTC
// peer, through the relay, to the OpenAI Realtime mock (the real SDK over wss:).
const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
isolateNetwork()
const KEY = 'sk-test-realtime-features'

async function start (t: Test, options: LLMRTCPluginOptions): Promise<{ app: FastifyInstance, url: string, mock: OpenAIRealtimeMock }> {
  const mock = await startOpenAIRealtimeMock({ cert: tls as NonNullable<typeof tls>, apiKey: KEY, silenceMs: 700 })
  t.teardown(() => mock.close())
  const app = await buildApp(t, { ...options, realtime: { provider: 'openai', apiKey: KEY, baseURL: mock.baseURL } })
  return { app, url: await listenUrl(app), mock }
}

t.test('a relay session is recorded: the user on the left, the model\'s answers as played on the right (the cut one cut), its transcript with the MCP tool call it made', async t => {
  // The mock's energy VAD hears a stall of this process's microphone as the end of speech: such a run is
  // run again (withUnbrokenSpeech).
  const { client, transcript, update, called, ended, output, directory } = await withUnbrokenSpeech(t, async () => {
    const directory = scratchDir()
    let ended!: (transcript: SessionTranscript) => void
    const transcriptDone = new Promise<SessionTranscript>(resolve => { ended = resolve })
    const { app, url, mock } = await start(t, {
      mcpServers: { fx: stdioFixture() },
      recording: { directory, format: 'wav' },
      hooks: { onSessionEnd: (_id, transcript) => { ended(transcript) } }
    })
    mock.script(
      { toolCall: { name: 'fx_add', arguments: '{"a":2,"b":3}' } },
      { transcript: 'Two plus three is five, and that is all I have to say about it today.', audioMs: 6000 },
      { transcript: 'Goodbye.', audioMs: 1200 })
    const client = await voiceClient(t, url)
    t.equal(client.ready.mode, 'realtime')
    const update = await mock.waitFor('session.update') as { session: { tools?: Array<{ name: string }> } }
    await say(client, 'What is two plus three?', 900)
    const called = await client.waitFor('tool-call-start', { timeoutMs: 30_000 })
    const toolEnded = await client.waitFor('tool-call-end', { timeoutMs: 30_000 })
    const output = await mock.waitFor('conversation.item.create') as { item: { type: string, output: string } }
    await client.waitFor('tts-start', { timeoutMs: 20_000 })
    await client.audio.waitForSound(1000, 5000, 0)
    // Let a second and a half of the answer play, then interrupt it.
    await new Promise(resolve => setTimeout(resolve, 1500))
    const mark = client.wsMessages.length
    await say(client, 'Stop, stop. Thank you.')
    await client.waitFor('tts-cancelled', { from: mark, timeoutMs: 20_000 })
    await client.waitFor('tts-complete', { from: mark, timeoutMs: 20_000 })
    await new Promise(resolve => setTimeout(resolve, 1500))
    const session = app.llmrtcSessions.get(client.sessionId)
    if (session === undefined) throw new Error('no session')
    app.llmrtcSessions.end(session, 'closed')
    return { client, outcome: { client, transcript: await transcriptDone, update, called, ended: toolEnded, output, directory } }
  })
  t.ok(update.session.tools?.some(tool => tool.name === 'fx_add'), 'the model\'s session is offered the MCP server\'s tool')
  t.match(called, { name: 'fx_add', arguments: { a: 2, b: 3 } }, 'the model called the MCP server\'s tool')
  t.match(ended, { callId: called.callId, result: { sum: 5 } }, 'and it ran on the MCP server')
  t.match(output.item, { type: 'function_call_output', output: '{"result":{"sum":5}}' }, 'the MCP result went back to the model')

  t.match(transcript.turns.map((turn: TranscriptTurn) => turn.speaker), ['user', 'assistant', 'user', 'assistant'], 'two exchanges')
  const [user1, answer1, user2, answer2] = transcript.turns as [TranscriptTurn, TranscriptAssistantTurn, TranscriptTurn, TranscriptAssistantTurn]
  t.match(user1, { speaker: 'user', text: /I heard \d\.\d seconds of speech/ }, 'the user\'s words as the model transcribed them')
  t.match(answer1, { interrupted: true, outcome: 'cancelled', heard: String })
  t.ok(answer1.text.startsWith(answer1.heard ?? '-') && (answer1.heard ?? '').length < answer1.text.length, `the heard part is the start of the answer (${answer1.heard ?? ''} / ${answer1.text})`)
  t.match(answer2, { text: 'Goodbye.', interrupted: false, outcome: 'completed', latency: { firstAudioOutMs: Number } })
  t.match(transcript.toolCalls, [{ name: 'fx_add', arguments: { a: 2, b: 3 }, result: { sum: 5 } }], 'the tool call with its arguments and result')
  t.match(transcript.recording, { format: 'wav', sampleRateHz: 16_000, channels: ['user', 'assistant'], droppedMs: 0 })
  t.same(JSON.parse(readFileSync(join(directory, `${client.sessionId}.json`), 'utf8')), transcript, 'the transcript is stored beside the recording')

  const { left, right } = decodeRecording(transcript.recording?.file ?? '')
  const [[u1s, u1e], [a1s, a1e], [u2s, u2e], [a2s, a2e]] = turnSpans([user1, answer1, user2, answer2])
  t.comment(`user ${u1s}-${u1e}, answer ${a1s}-${a1e} (cut), user ${u2s}-${u2e}, answer ${a2s}-${a2e}, file ${left.length * 20} ms`)
  t.comment(timelines(left, right))
  t.ok(loudShare(left, u1s, u1e) > 0.3, `left: the user's first words at ${u1s}-${u1e} ms`)
  t.ok(loudShare(left, u2s, u2e) > 0.3, `left: the user's second words at ${u2s}-${u2e} ms`)
  t.ok(loudShare(left, a2s + 200, a2e - 200) < 0.05, 'left: quiet while the last answer played')
  t.ok(loudShare(right, u1s, u1e) < 0.05, 'right: quiet while the user first spoke')
  t.ok(loudShare(right, a1s, a1e) > 0.6, `right: the first answer at ${a1s}-${a1e} ms, until it was cut`)
  t.ok(loudShare(right, a1e + 300, a2s - 100) < 0.05, 'right: quiet from the cut to the next answer')
  t.ok(loudShare(right, a2s, a2e) > 0.6, `right: the second answer at ${a2s}-${a2e} ms`)
  t.ok(loudShare(right, a2e + 300, left.length * 20) < 0.05, 'right: quiet after the last answer')
})

t.test('noiseSuppression in relay mode: the microphone goes through RNNoise before the model hears it', async t => {
  let denoised = 0
  const process = NoiseSuppressor.prototype.process
  NoiseSuppressor.prototype.process = function (frame, emit) {
    process.call(this, frame, (out) => { denoised++; emit(out) })
  }
  t.teardown(() => { NoiseSuppressor.prototype.process = process })
  const { app, url, mock } = await start(t, { noiseSuppression: true })
  mock.script({ transcript: 'Hello.', audioMs: 500 })
  const client = await voiceClient(t, url)
  t.equal(client.ready.mode, 'realtime')
  t.equal(app.llmrtcVad.rnnoise?.liveStates, 1, 'the session\'s microphone has its denoiser')
  await say(client, 'Hello there, what time is it right now?')
  t.match(await client.waitFor('transcript', { timeoutMs: 20_000 }), { text: /I heard \d\.\d seconds of speech/ }, 'the model heard the speech')
  await client.waitFor('tts-complete', { timeoutMs: 20_000 })
  t.ok(denoised > 100, `the microphone's frames went through the denoiser (${denoised})`)
  t.ok(mock.appendedMs * 48 >= denoised * 480 * 0.9, 'and on to the model')
  const session = app.llmrtcSessions.get(client.sessionId)
  if (session === undefined) throw new Error('no session')
  app.llmrtcSessions.end(session, 'closed')
  t.equal(app.llmrtcVad.rnnoise?.liveStates, 0, 'the denoiser is freed when the session ends')
})
