import t, { type Test } from 'tap'
import { HookRegistry } from '../../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../../lib/logger.js'
import { DeepgramSTT } from '../../../lib/providers/deepgram/index.js'
import { OpenAISTT } from '../../../lib/providers/openai/index.js'
import type { STTProvider, STTResult } from '../../../lib/providers/types.js'
import { TranscriptBuilder } from '../../../lib/recording/transcript-builder.js'
import { resolveTurnTaking } from '../../../lib/turn-taking/resolve-turn-taking.js'
import { ScriptedLLM } from '../../fakes/scripted-providers.js'
import { pipelineHarness, type PipelineHarness } from '../../helpers/pipeline-harness.js'
import { say, speech, until } from '../../helpers/speech-events.js'
import { startDeepgramMock, type DeepgramMock } from '../../mocks/deepgram-mock.js'
import { startOpenAIMock } from '../../mocks/openai-mock.js'

// The real SDKs against loopback mocks of Deepgram and OpenAI: the turn's STT result (what onSTTEnd and
// the recording's transcript get) carries the provider's words, timed from the utterance's first sample.

const SAID = 'Hello, world. How are you today?'
/** The mock's words for a 600 ms utterance: one per 100 ms from its first byte. */
const TIMED = SAID.split(' ').map((word, i) => [word, i * 100, (i + 1) * 100])

async function deepgram (t: Test): Promise<{ mock: DeepgramMock, stt: DeepgramSTT }> {
  const mock = await startDeepgramMock({ transcript: SAID })
  t.teardown(mock.close)
  return { mock, stt: new DeepgramSTT({ apiKey: mock.apiKey, baseUrl: mock.url, retryBaseDelayMs: 1 }) }
}

/** A pipeline whose onSTTEnd results are collected. */
function harness (t: Test, stt: STTProvider, options: { streamingSTT?: boolean, preemptive?: boolean } = {}): PipelineHarness & { stt: STTResult[] } {
  const hooks = new HookRegistry(silentLogger)
  const results: STTResult[] = []
  hooks.addHook('onSTTEnd', (_ctx, result) => { results.push(result) })
  const h = pipelineHarness(t, { stt, llm: new ScriptedLLM([['Fine, thanks.']]) }, {
    hooks,
    streamingSTT: options.streamingSTT ?? false,
    turnTaking: resolveTurnTaking({ preemptive: options.preemptive === true ? { afterMs: 200 } : false, turnDetection: false })
  })
  return { ...h, stt: results }
}

const timed = (result: STTResult | undefined): unknown => result?.words?.map(w => [w.word, w.startMs, w.endMs])

t.test('Deepgram prerecorded: the utterance\'s turn gets the words with their timings', async t => {
  const { stt } = await deepgram(t)
  const h = harness(t, stt)
  say(h.pipeline, 600)
  await until(() => h.stt.length === 1, 'onSTTEnd')
  t.equal(h.stt[0]?.text, SAID)
  t.same(timed(h.stt[0]), TIMED)
  h.output.play()
  await h.pipeline.idle()
})

t.test('Deepgram live: the turn gets the words of every final, timed from the utterance\'s first sample', async t => {
  const { mock, stt } = await deepgram(t)
  const h = harness(t, stt, { streamingSTT: true })
  say(h.pipeline, 600)
  await until(() => h.stt.length === 1, 'onSTTEnd')
  t.equal(mock.live.length, 1, 'streamed, not posted')
  t.equal(mock.requests.length, 0)
  t.equal(h.stt[0]?.text, SAID)
  t.same(timed(h.stt[0]), TIMED, 'two finals (three words each), one timeline')
  h.output.play()
  await h.pipeline.idle()
})

t.test('preemptive: the words transcribed in the pause are the turn\'s, timings included (no second STT call)', async t => {
  const { mock, stt } = await deepgram(t)
  const h = harness(t, stt, { preemptive: true })
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(500) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(824) })
  await until(() => mock.requests.length === 1, 'transcribed in the pause')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(1100), durationMs: 1100 })
  await until(() => h.stt.length === 1, 'onSTTEnd')
  t.equal(mock.requests.length, 1)
  t.same(timed(h.stt[0]), TIMED)
  h.output.play()
  await h.pipeline.idle()
})

t.test('OpenAI whisper-1 with wordTimestamps: the turn gets the verbose answer\'s words', async t => {
  const mock = await startOpenAIMock()
  t.teardown(() => mock.close())
  mock.script('transcriptions', { type: 'transcript', text: 'Hi there.', words: [{ word: 'Hi', start: 0.14, end: 0.3 }, { word: 'there', start: 0.32, end: 0.58 }] })
  const h = harness(t, new OpenAISTT({ apiKey: 'sk-test', baseURL: mock.baseURL, model: 'whisper-1', wordTimestamps: true }))
  say(h.pipeline, 600)
  await until(() => h.stt.length === 1, 'onSTTEnd')
  t.same(timed(h.stt[0]), [['Hi', 140, 300], ['there', 320, 580]])
  h.output.play()
  await h.pipeline.idle()
})

t.test('the transcript built from the pipeline\'s hooks has the words on the user\'s turn, from its start', async t => {
  const { stt } = await deepgram(t)
  const h = harness(t, stt, { streamingSTT: true })
  const builder = new TranscriptBuilder({ sessionId: 'session-1', startedAt: 0 })
  h.hooks.addHook('onSpeechEnd', (_id, at, durationMs) => { builder.speechEnded(at, durationMs) })
  h.hooks.addHook('onSTTEnd', (ctx, result) => { builder.userSaid(ctx.turnId, result.text, Date.now(), result.words) })
  say(h.pipeline, 600)
  await until(() => h.stt.length === 1, 'onSTTEnd')
  const [turn] = (await builder.build(Date.now())).turns
  t.match(turn, { speaker: 'user', text: SAID })
  t.same(turn?.speaker === 'user' ? turn.words?.map(w => [w.word, w.startMs, w.endMs]) : undefined, TIMED)
  h.output.play()
  await h.pipeline.idle()
})
