import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { RuleBasedLLM } from '../../lib/providers/builtin/index.js'
import type { LLMPluginOptions } from '../helpers/e2e-types.js'
import { buildApp } from '../helpers/app.js'
import { synthesizeSpeech } from '../helpers/speech.js'
import { expectVoiceTurn, listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { connect } from '../helpers/ws-client.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// Real speech (espeak-ng) over a real WebRTC peer, through the server's VAD, pipeline and paced track.
// Every packet stays on 127.0.0.1 (see the helper). Assertions are on order and content, not durations.
isolateNetwork()

async function startServer (t: Test, options: LLMPluginOptions = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildApp(t, options)
  return { app, url: await listenUrl(app) }
}

t.test('a spoken sentence over WebRTC gets a streamed, spoken answer', async t => {
  const { app, url } = await startServer(t)
  const client = await voiceClient(t, url)
  await say(client, 'Hello there, what time is it right now?')
  await expectVoiceTurn(t, client)
  const transcript = client.wsMessages.find(m => m.type === 'transcript')
  t.match(transcript, { isFinal: true, text: /I heard \d\.\d seconds of speech/ }, 'the placeholder STT heard the utterance')
  await client.audio.waitForSound(1000, 5000, 0)
  t.pass('non-silent audio arrived on the client\'s track')
  await client.waitFor('tts-complete', { source: 'channel' })
  t.same(client.channelMessages.map(m => m.type).filter(x => x === 'speech-start' || x === 'tts-complete'), ['speech-start', 'tts-complete'], 'payload events are mirrored on the data channel')
  const session = app.llmrtcSessions.get(client.sessionId)
  t.same(session?.history.messages.map(m => m.role), ['user', 'assistant'])
  t.match(client.wsMessages.find(m => m.type === 'metrics'), { type: 'metrics', timings: { firstAudioOutMs: Number } })
})

t.test('speaking during the answer interrupts it: tts-cancelled, then a new turn', async t => {
  // A slow, long answer so the user can interrupt it while it plays.
  const llm = new RuleBasedLLM({ wordDelayMs: 30 })
  const { app, url } = await startServer(t, { providers: { llm } })
  const client = await voiceClient(t, url)
  await say(client, 'Hello, what can you do for me?', 900)
  await client.waitFor('tts-start', { timeoutMs: 15_000 })
  await client.audio.waitForSound(1000, 5000)
  const mark = client.wsMessages.length
  await say(client, 'Stop, stop. Thank you.')
  await client.waitFor(m => m.type === 'tts-complete', { from: mark, timeoutMs: 20_000 })
  const after = client.wsMessages.slice(mark).map(m => m.type)
  t.ok(after.indexOf('tts-cancelled') >= 0, 'the answer was cancelled')
  t.ok(after.indexOf('tts-cancelled') < after.indexOf('speech-start'), 'tts-cancelled comes before speech-start')
  t.ok(after.indexOf('speech-start') < after.indexOf('transcript'), 'then a new turn')
  t.notOk(after.slice(0, after.indexOf('tts-cancelled')).includes('tts-complete'), 'the interrupted answer never completed')
  const history = app.llmrtcSessions.get(client.sessionId)?.history.messages ?? []
  t.same(history.map(m => m.role), ['user', 'assistant', 'user', 'assistant'])
  const full = llm.reply('what can you do')
  t.ok((history[1]?.content.length ?? Infinity) < full.length, 'only what was heard of the interrupted answer is in history')
})

t.test('without WebRTC, an utterance sent as an audio message is answered with tts-chunk messages', async t => {
  const { app } = await startServer(t, { webrtc: false })
  const client = await connect(app)
  await client.next('ready')
  const speech = await synthesizeSpeech('Hello there, how are you?', 16_000)
  client.send({ type: 'audio', data: encodeWav(speech, 16_000).toString('base64') })
  await client.next('tts-complete', 0, 60_000)
  const types = client.messages.map(m => m.type as string)
  t.same(types.filter(x => x !== 'tts-chunk' && x !== 'llm-chunk' && x !== 'metrics'), ['ready', 'transcript', 'tts-start', 'llm', 'tts-complete'])
  const chunk = client.messages.find(m => m.type === 'tts-chunk') as { sampleRate: number, data: string }
  t.equal(chunk.sampleRate, 24_000)
  t.ok(Buffer.from(chunk.data, 'base64').length > 0)

  client.send({ type: 'audio', data: Buffer.from('not audio at all').toString('base64') })
  t.match(await client.next('error'), { code: 'INVALID_AUDIO_FORMAT' })
  client.send({ type: 'audio', data: '!!!' })
  t.match(await client.next('error', client.messages.length), { code: 'INVALID_AUDIO_FORMAT', message: /not base64/ })
  client.ws.terminate()
})
