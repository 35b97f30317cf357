import t, { type Test } from 'tap'
import type { TurnOptions } from '../../../lib/pipeline/turn-types.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../../../lib/providers/types.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../../fakes/scripted-providers.js'
import { pipelineHarness, type PipelineHarness } from '../../helpers/pipeline-harness.js'
import { say, speech, until } from '../../helpers/speech-events.js'

function harness (t: Test, providers: { llm: LLMProvider, stt: STTProvider, tts?: TTSProvider }, options: Partial<TurnOptions> & { streamingSTT?: boolean, track?: boolean } = {}): PipelineHarness {
  const { streamingSTT, track, ...turn } = options
  return pipelineHarness(t, providers, { turn, ...(streamingSTT !== undefined ? { streamingSTT } : {}), ...(track !== undefined ? { track } : {}) })
}

t.test('a voice turn sends the protocol messages in order and records both sides in history', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello there']), llm: new ScriptedLLM([['Hi! ', 'Nice to ', 'meet you. ', 'How can I help?']]) })
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'llm')
  t.equal(h.pipeline.state, 'speaking')
  h.output.play()
  await h.pipeline.idle()
  t.same(h.types(), ['speech-start', 'speech-end', 'transcript', 'llm-chunk', 'llm-chunk', 'llm-chunk', 'tts-start', 'llm-chunk', 'llm-chunk', 'llm', 'tts-complete'], 'tts-start once "Hi! Nice to meet you." is a whole sentence')
  t.same(h.messages[2], { type: 'transcript', text: 'hello there', isFinal: true })
  t.same(h.messages.at(-3), { type: 'llm-chunk', content: '', done: true })
  t.same(h.messages.at(-2), { type: 'llm', text: 'Hi! Nice to meet you. How can I help?' })
  t.same(h.history.messages, [{ role: 'user', content: 'hello there' }, { role: 'assistant', content: 'Hi! Nice to meet you. How can I help?' }])
  t.equal(h.pipeline.state, 'listening')
  t.equal(h.results[0]?.outcome, 'completed')
  t.ok((h.results[0]?.timings.firstAudioOutMs ?? -1) >= 0, 'timings recorded')
})

t.test('tts-start comes as soon as the first sentence is ready, while the LLM still streams', async t => {
  const llm = new ScriptedLLM([{ chunks: ['First sentence here. ', 'Second'], hangAfter: true }])
  const h = harness(t, { stt: new ScriptedSTT(['go']), llm })
  say(h.pipeline)
  await until(() => h.types().includes('tts-start'), 'tts-start')
  t.notOk(h.types().includes('llm'), 'the LLM has not finished')
  await until(() => h.output.writtenMs > 0, 'audio written')
  t.pass('audio of the first sentence is on the output while the LLM streams')
  h.pipeline.cancelTurn()
  await h.pipeline.idle()
})

t.test('an empty transcript ends the turn with no answer', async t => {
  const llm = new ScriptedLLM([])
  const h = harness(t, { stt: new ScriptedSTT(['  ']), llm })
  say(h.pipeline)
  await h.pipeline.idle()
  t.same(h.types(), ['speech-start', 'speech-end'])
  t.equal(llm.requests.length, 0)
  t.equal(h.results[0]?.outcome, 'empty')
  t.equal(h.history.length, 0)
})

t.test('a false start is cancelled and starts no turn', async t => {
  const stt = new ScriptedSTT(['x'])
  const h = harness(t, { stt, llm: new ScriptedLLM([]) })
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  t.equal(h.pipeline.state, 'user-speaking')
  h.pipeline.onSpeechEvent({ type: 'speech-cancelled', atMs: 150 })
  await h.pipeline.idle()
  t.same(h.types(), ['speech-start', 'speech-cancelled'])
  t.equal(stt.calls.length, 0)
  t.equal(h.pipeline.state, 'listening')
})

t.test('a cough while the assistant speaks neither interrupts it nor reaches the client', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hi']), llm: new ScriptedLLM([['Hello to you. ', 'All good here.']]) })
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'answer')
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(50) })
  h.pipeline.onSpeechEvent({ type: 'speech-cancelled', atMs: 100 })
  t.equal(h.messages.length, before, 'nothing sent for the cough')
  h.output.play()
  await h.pipeline.idle()
  t.equal(h.types().at(-1), 'tts-complete')
  t.equal(h.results[0]?.outcome, 'completed')
})

t.test('barge-in while speaking: tts-cancelled, then speech-start, and history keeps only what was heard', async t => {
  const llm = new ScriptedLLM([['The first sentence is here. ', 'The second sentence is longer than the first one.'], ['Sure.']])
  const h = harness(t, { stt: new ScriptedSTT(['tell me', 'stop']), llm })
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'answer streamed')
  await until(() => h.output.writtenMs >= 'The first sentence is here.'.length * 10 + 300, 'second sentence audio')
  // The first sentence (27 chars = 270 ms) plays out, and 40% of the second.
  h.output.play(270 + 0.4 * 'The second sentence is longer than the first one.'.length * 10)
  const mark = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  t.equal(h.messages.length, mark, 'speech-start is held until the speech is confirmed')
  // The segmenter's first confirmed audio: 7 windows after the onset window (256 ms of speech).
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(224) })
  t.same(h.types().slice(mark), ['tts-cancelled', 'speech-start'])
  t.same(h.messages[mark], { type: 'tts-cancelled', heard: 'The first sentence is here. The second sentence' }, 'tts-cancelled carries the words heard, at once')
  t.equal(h.output.queuedMs, 0, 'queued audio dropped at once')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 600, utterance: speech(600), durationMs: 600 })
  await until(() => h.types().filter(x => x === 'llm').length === 2, 'second answer')
  h.output.play()
  await h.pipeline.idle()
  t.same(h.results.map(r => r.outcome), ['cancelled', 'completed'])
  t.same(h.history.messages.map(m => m.content), ['tell me', 'The first sentence is here. The second sentence', 'stop', 'Sure.'])
  t.notOk(h.types().slice(mark).includes('tts-complete') && h.types().slice(mark).indexOf('tts-complete') < h.types().slice(mark).indexOf('speech-end'), 'the interrupted turn never completes')
})

t.test('barge-in while thinking aborts the LLM stream without tts-cancelled', async t => {
  const llm = new ScriptedLLM(['hang', ['Answer two.']])
  const h = harness(t, { stt: new ScriptedSTT(['first', 'second']), llm })
  say(h.pipeline)
  await until(() => llm.requests.length === 1, 'LLM called')
  t.equal(h.pipeline.state, 'thinking')
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'second answer')
  h.output.play()
  await h.pipeline.idle()
  t.equal(llm.aborted >= 1, true, 'the first LLM request saw its signal abort')
  t.notOk(h.types().includes('tts-cancelled'))
  t.same(h.results.map(r => r.outcome), ['cancelled', 'completed'])
  t.same(h.history.messages.map(m => m.content), ['first second', 'Answer two.'], 'nothing of the unheard answer enters history, and the cut-off words open the next turn')
})

t.test('barge-in during transcription cancels the STT call', async t => {
  const stt = new ScriptedSTT(['hang', 'again'])
  const h = harness(t, { stt, llm: new ScriptedLLM([['Done.']]) })
  say(h.pipeline)
  await until(() => stt.calls.length === 1, 'STT called')
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.same(h.results.map(r => r.outcome), ['cancelled', 'completed'])
  t.notOk(h.types().includes('error'), 'a cancelled call is not an error')
})

t.test('an STT failure sends STT_ERROR and the next turn still works', async t => {
  const errors: string[] = []
  const h = harness(t, { stt: new ScriptedSTT([new Error('503 from provider'), 'hello']), llm: new ScriptedLLM([['Hi.']]) })
  h.hooks.addHook('onSTTError', (_ctx, err) => { errors.push(`stt:${err.message}`) })
  h.hooks.addHook('onError', (_err, ctx) => { errors.push(`error:${ctx.code}:${ctx.component}`) })
  say(h.pipeline)
  await h.pipeline.idle()
  t.match(h.messages.at(-1), { type: 'error', code: 'STT_ERROR', message: 'Speech-to-text provider "scripted-stt" failed: 503 from provider' })
  t.same(errors, ['stt:Speech-to-text provider "scripted-stt" failed: 503 from provider', 'error:STT_ERROR:stt'])
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.same(h.results.map(r => r.outcome), ['failed', 'completed'])
})

t.test('an LLM failure mid-stream sends LLM_ERROR and keeps the session usable', async t => {
  const llm = new ScriptedLLM([{ chunks: ['Partial '], error: new Error('socket hang up') }])
  const h = harness(t, { stt: new ScriptedSTT(['q']), llm })
  say(h.pipeline)
  await h.pipeline.idle()
  t.match(h.messages.at(-1), { type: 'error', code: 'LLM_ERROR' })
  t.same(h.history.messages, [{ role: 'user', content: 'q' }], 'a failed answer is not recorded')
})

t.test('an LLM that does not answer in time gets LLM_TIMEOUT', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['q']), llm: new ScriptedLLM(['hang']) }, { llmTimeoutMs: 30 })
  // AbortSignal.timeout's timer does not keep a process alive; a server always has sockets that do.
  const keepAlive = setTimeout(() => {}, 5000)
  say(h.pipeline)
  await h.pipeline.idle()
  clearTimeout(keepAlive)
  t.match(h.messages.at(-1), { type: 'error', code: 'LLM_TIMEOUT', message: 'LLM provider "scripted-llm" did not answer within 30 ms' })
})

t.test('a TTS failure stops the turn with TTS_ERROR, reported once', async t => {
  const tts = new ScriptedTTS()
  tts.failOn = 'boom'
  const h = harness(t, { stt: new ScriptedSTT(['q']), llm: new ScriptedLLM([{ chunks: ['This will go boom. ', 'More text follows here.'], hangAfter: true }]), tts })
  say(h.pipeline)
  await h.pipeline.idle()
  t.same(h.messages.filter(m => m.type === 'error').map(m => (m as { code: string }).code), ['TTS_ERROR'])
  t.equal(h.results[0]?.outcome, 'failed')
})

t.test('streaming STT sends interim transcripts while the user speaks, then the final', async t => {
  const stt = new ScriptedSTT(['what time is it'], { interims: ['what', 'what time'] })
  const h = harness(t, { stt, llm: new ScriptedLLM([['Noon.']]) }, { streamingSTT: true })
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  const transcripts = h.messages.filter(m => m.type === 'transcript')
  t.same(transcripts, [
    { type: 'transcript', text: 'what', isFinal: false },
    { type: 'transcript', text: 'what time', isFinal: false },
    { type: 'transcript', text: 'what time is it', isFinal: true }
  ])
  t.equal(stt.calls.length, 0, 'no buffered call was made')
})

t.test('a blip opens no streaming STT: nothing reaches the client while the assistant speaks', async t => {
  const stt = new ScriptedSTT(['hi'], { interims: ['hel'] })
  let streams = 0
  const original = stt.transcribeStream?.bind(stt)
  stt.transcribeStream = (audio, config) => { streams++; return (original as NonNullable<typeof original>)(audio, config) }
  const h = harness(t, { stt, llm: new ScriptedLLM([['Hello to you. ', 'All good here.']]) }, { streamingSTT: true })
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'answer')
  t.equal(streams, 1)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(50) })
  await new Promise(resolve => setImmediate(resolve))
  h.pipeline.onSpeechEvent({ type: 'speech-cancelled', atMs: 100 })
  t.equal(h.messages.length, before, 'no interim transcript of a cough')
  t.equal(streams, 1, 'no STT stream was opened for it')
  h.output.play()
  await h.pipeline.idle()
})

t.test('a guardrail on the LLM answer blocks it: audio stops and nothing enters history', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['q']), llm: new ScriptedLLM([['Forbidden answer here. ', 'More.']]) })
  h.hooks.addHook('onLLMEnd', (_ctx, result) => { if (result.fullText.includes('Forbidden')) throw new Error('policy') })
  say(h.pipeline)
  await h.pipeline.idle()
  t.ok(h.types().includes('tts-cancelled'), 'audio already queued is cancelled')
  t.notOk(h.types().includes('llm'), 'the whole answer is not sent as llm')
  t.equal(h.results[0]?.outcome, 'blocked')
  t.same(h.history.messages, [{ role: 'user', content: 'q' }])
})

t.test('turn hooks run in order with the turn context', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([['One sentence only.']]) })
  const calls: string[] = []
  for (const name of ['onSpeechStart', 'onSpeechEnd', 'onTurnStart', 'onSTTStart', 'onSTTEnd', 'onLLMStart', 'onLLMChunk', 'onLLMEnd', 'onTTSStart', 'onTTSEnd', 'onTurnEnd'] as const) {
    h.hooks.addHook(name, (() => { if (calls.at(-1) !== name) calls.push(name) }) as never)
  }
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.same(calls, ['onSpeechStart', 'onSpeechEnd', 'onTurnStart', 'onSTTStart', 'onSTTEnd', 'onLLMStart', 'onLLMChunk', 'onLLMEnd', 'onTTSStart', 'onTTSEnd', 'onTurnEnd'])
})

t.test('without a track, an utterance over the WebSocket is answered with tts-chunk messages', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([['Hi there friend.']]) }, { track: false })
  h.pipeline.runUtterance(Buffer.from('RIFF fake wav'), [])
  await h.pipeline.idle()
  const types = h.types()
  t.same(types.filter(x => x !== 'tts-chunk'), ['transcript', 'llm-chunk', 'tts-start', 'llm-chunk', 'llm', 'tts-complete'], 'a last sentence without trailing space is spoken when the stream ends, before llm')
  const chunk = h.messages.find(m => m.type === 'tts-chunk') as { format: string, sampleRate: number, data: string }
  t.same({ format: chunk.format, sampleRate: chunk.sampleRate }, { format: 'pcm', sampleRate: 16000 })
  t.ok(Buffer.from(chunk.data, 'base64').length > 0)
})

t.test('a flood of utterances interrupts the running turn and runs the newest only: those still waiting are dropped', async t => {
  const llm = new ScriptedLLM(['hang', ['The last one.']])
  const stt = new ScriptedSTT(['first', 'newest'])
  const h = harness(t, { stt, llm }, { track: false })
  h.pipeline.runUtterance(Buffer.from('RIFF 0'), [])
  await until(() => llm.requests.length === 1, 'the first turn reaches the LLM')
  for (let i = 1; i <= 50; i++) h.pipeline.runUtterance(Buffer.from(`RIFF ${i}`), [])
  await h.pipeline.idle()
  t.same(stt.calls.map(wav => wav.toString()), ['RIFF 0', 'RIFF 50'], 'only the running and the newest utterance were transcribed')
  t.same(h.results.map(r => r.outcome), ['cancelled', 'completed'])
  t.same(h.history.messages.filter(m => m.role === 'user').map(m => m.content), ['first', 'newest'])
})

t.test('without a track and without streaming TTS, the answer comes as one tts message', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([['Hi there friend.']]) }, { track: false, streamingTTS: false })
  h.pipeline.runUtterance(Buffer.from('RIFF fake wav'), [])
  await h.pipeline.idle()
  t.same(h.types(), ['transcript', 'llm-chunk', 'llm-chunk', 'llm', 'tts-start', 'tts', 'tts-complete'])
})

t.test('with a track and without streaming TTS, the whole answer is spoken on the track', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([['Hi there. Two sentences.']]) }, { streamingTTS: false })
  say(h.pipeline)
  await until(() => h.output.writtenMs > 0, 'audio')
  h.output.play()
  await h.pipeline.idle()
  t.equal(h.types().at(-1), 'tts-complete')
  t.equal(h.output.writtenMs, 'Hi there. Two sentences.'.length * 10)
})

t.test('closing the pipeline cancels the running turn', async t => {
  const llm = new ScriptedLLM(['hang'])
  const h = harness(t, { stt: new ScriptedSTT(['q']), llm })
  say(h.pipeline)
  await until(() => llm.requests.length === 1, 'LLM called')
  await h.pipeline.close()
  t.equal(h.results[0]?.outcome, 'cancelled')
  say(h.pipeline)
  t.equal(llm.requests.length, 1, 'a closed pipeline starts no turn')
})
