import t, { type Test } from 'tap'
import { HookRegistry } from '../../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../../lib/logger.js'
import { subscribeChannel, type SpeculationEvent } from '../../../lib/observability/channels.js'
import { VoicePipeline } from '../../../lib/pipeline/voice-pipeline.js'
import type { LoudnessListener } from '../../../lib/vad/loudness-onset.js'
import type { LLMProvider, STTProvider } from '../../../lib/providers/types.js'
import { HeuristicTurnDetector } from '../../../lib/turn-detection/heuristic-turn-detector.js'
import { resolveTurnTaking, type TurnTakingOptions } from '../../../lib/turn-taking/resolve-turn-taking.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../../fakes/scripted-providers.js'
import { FakeClock } from '../../helpers/fake-clock.js'
import { pipelineHarness, type PipelineHarness } from '../../helpers/pipeline-harness.js'
import { speech, until } from '../../helpers/speech-events.js'

interface Harness extends PipelineHarness {
  clock: FakeClock
  endpoints: number[]
}

function harness (t: Test, providers: { llm: LLMProvider, stt: STTProvider, tts?: ScriptedTTS }, turnTaking: TurnTakingOptions = {}, streamingSTT = false, hooks = new HookRegistry(silentLogger)): Harness {
  const clock = new FakeClock()
  const endpoints: number[] = []
  let endpoint = 550
  const h = pipelineHarness(t, providers, { clock, hooks, streamingSTT, turnTaking: resolveTurnTaking({ preemptive: false, turnDetection: false, ...turnTaking }) })
  h.pipeline.setEndpointControl({
    get endOfSpeechSilenceMs () { return endpoint },
    setEndOfSpeechSilenceMs: (ms: number) => { endpoint = ms; endpoints.push(ms) }
  })
  return { ...h, clock, endpoints }
}

/** A whole user utterance: start, confirmed audio, end. */
function utterance (pipeline: VoicePipeline, ms = 600): void {
  pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(ms - 100) })
  pipeline.onSpeechEvent({ type: 'speech-end', atMs: ms, utterance: speech(ms), durationMs: ms })
}

/** Runs a first turn until its answer is playing (audio queued, nothing played yet). */
async function answering (h: Harness): Promise<void> {
  utterance(h.pipeline)
  await until(() => h.types().includes('tts-start') && h.output.queuedMs > 0, 'the answer is playing')
  h.output.play(50)
}

const LONG_ANSWER = ['The first sentence of a long answer. ', 'The second sentence of it. ', 'And a third one to end.']

t.test('a cough while the assistant speaks pauses the answer at once, and it plays on from where it paused', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([LONG_ANSWER]) })
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  t.equal(h.output.paused, true, 'paused on the onset')
  t.same(h.types().slice(before), ['tts-paused'], 'ours: tts-paused; no speech-start')
  const playedAtPause = h.output.playedMs
  h.output.play(100)
  t.equal(h.output.playedMs, playedAtPause, 'nothing plays while paused')
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: undefined })
  t.equal(h.output.paused, false, 'a blip resumes after a short hold')
  t.same(h.types().slice(before), ['tts-paused', 'tts-resumed'])
  h.pipeline.onSpeechEvent({ type: 'speech-cancelled', atMs: 0 })
  h.output.play()
  await h.pipeline.idle()
  t.same(h.types().slice(before), ['tts-paused', 'tts-resumed', 'tts-complete'], 'no turn, no cancel')
  t.equal(h.results.length, 1)
  t.equal(h.results[0]?.outcome, 'completed')
  t.same(h.history.messages.map(m => m.content), ['hello', LONG_ANSWER.join('')], 'the whole answer was heard')
})

t.test('a gap early in an interruption (a burst of lost packets) does not resume the answer before the words come', async t => {
  const stt = new ScriptedSTT(['hello', 'wait stop please'])
  const h = harness(t, { stt, llm: new ScriptedLLM([LONG_ANSWER, ['Sure.']]) })
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  // The onset, then silence the VAD heard for 128 ms: still held, not judged a blip yet.
  for (const silenceMs of [32, 64, 96, 128]) h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs, utterance: undefined })
  t.equal(h.output.paused, true, 'still paused after 128 ms of silence')
  h.pipeline.onSpeechEvent({ type: 'speech-resume', atMs: 0, pauseMs: 128 })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 96, utterance: speech(400) })
  await until(() => h.types().slice(before).includes('speech-start'), 'the interruption is committed')
  t.same(h.types().slice(before), ['tts-paused', 'tts-cancelled', 'speech-start'], 'paused once, never resumed, then cancelled')
})

t.test('words over the answer cancel it: tts-cancelled, speech-start, and a new turn', async t => {
  const stt = new ScriptedSTT(['hello', 'wait stop', 'wait stop please'])
  const h = harness(t, { stt, llm: new ScriptedLLM([LONG_ANSWER, ['Sure.']]) })
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(200) })
  t.same(h.types().slice(before), ['tts-paused'], 'confirmed speech without words yet: still paused')
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(460) })
  await until(() => h.types().slice(before).includes('speech-start'), 'the interruption is committed')
  t.same(h.types().slice(before), ['tts-paused', 'tts-cancelled', 'speech-start'])
  // 50 ms of the first sentence's 360 played before the pause: its first word.
  t.same(h.messages[before + 1], { type: 'tts-cancelled', heard: 'The' }, 'the words heard before the pause come with tts-cancelled')
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(400) })
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(900), durationMs: 900 })
  await until(() => h.types().lastIndexOf('tts-start') > before, 'the new answer')
  h.output.play()
  await h.pipeline.idle()
  t.same(h.results.map(r => r.outcome), ['cancelled', 'completed'])
  t.equal(h.history.messages.at(-2)?.content, 'wait stop please')
  t.equal(h.history.messages.at(-1)?.content, 'Sure.')
  t.ok((h.history.messages[1]?.content.length ?? 0) < LONG_ANSWER.join('').length, 'history keeps only the heard part of the first answer')
})

t.test('a backchannel over the answer resumes it and becomes no turn', async t => {
  const stt = new ScriptedSTT(['hello', 'mm-hmm'])
  const llm = new ScriptedLLM([LONG_ANSWER])
  const h = harness(t, { stt, llm })
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(560) })
  await until(() => h.types().includes('tts-resumed'), 'resumed')
  t.equal(h.output.paused, false)
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(900), durationMs: 900 })
  h.output.play()
  await h.pipeline.idle()
  t.same(h.types().slice(before), ['tts-paused', 'tts-resumed', 'tts-complete'])
  t.equal(stt.calls.length, 2, 'one quick transcription of the backchannel, not another at its end')
  t.equal(llm.requests.length, 1, 'no turn for it')
  t.same(h.history.messages.map(m => m.role), ['user', 'assistant'])
})

t.test('a pause that does not become an interruption resumes after resumeAfterMs', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello', 'hang']), llm: new ScriptedLLM([LONG_ANSWER]) }, { interruption: { resumeAfterMs: 1500 } })
  await answering(h)
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(560) })
  t.equal(h.output.paused, true, 'waiting for the words')
  h.clock.advance(1499)
  t.equal(h.output.paused, true)
  h.clock.advance(1)
  t.equal(h.output.paused, false, 'resumed')
  t.equal(h.types().at(-1), 'tts-resumed')
  t.notOk(h.types().includes('tts-cancelled'))
})

t.test('in confirm mode the answer plays on until the words interrupt it', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello', 'no no', 'no no']), llm: new ScriptedLLM([LONG_ANSWER, ['OK.']]) }, { interruption: { mode: 'confirm' } })
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  t.equal(h.output.paused, false, 'not paused')
  t.same(h.types().slice(before), [], 'nothing sent yet')
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(560) })
  await until(() => h.types().includes('tts-cancelled'), 'cancelled')
  t.same(h.types().slice(before), ['tts-cancelled', 'speech-start'])
})

t.test('while a turn runs in pause mode, the speech detector starts speech at interruption.onsetThreshold and reports loudness onsets; otherwise neither', async t => {
  for (const [interruption, expected, loudness] of [[{}, 0.35, true], [{ onsetThreshold: 0.2 }, 0.2, true], [{ loudnessOnset: false }, 0.35, false], [{ mode: 'confirm' }, undefined, false], [{ mode: 'off' }, undefined, false]] as const) {
    const h = harness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([LONG_ANSWER]) }, { interruption })
    const thresholds: Array<number | undefined> = []
    const listeners: boolean[] = []
    h.pipeline.setOnsetControl({ setOnsetThreshold: (threshold) => { thresholds.push(threshold) }, setLoudnessOnset: (listener) => { listeners.push(listener !== undefined) } })
    t.same(thresholds, [undefined], `${JSON.stringify(interruption)}: the detector's own threshold while listening`)
    t.same(listeners, [false], `${JSON.stringify(interruption)}: no loudness onsets while listening`)
    await answering(h)
    t.equal(thresholds.at(-1), expected, `${JSON.stringify(interruption)}: while the answer runs`)
    t.equal(listeners.at(-1), loudness, `${JSON.stringify(interruption)}: loudness onsets while the answer runs`)
    h.output.play()
    await h.pipeline.idle()
    t.equal(thresholds.at(-1), undefined, `${JSON.stringify(interruption)}: back to the detector's own once the turn ended`)
    t.equal(listeners.at(-1), false, `${JSON.stringify(interruption)}: no loudness onsets once the turn ended`)
    h.pipeline.setOnsetControl(undefined)
    t.equal(thresholds.at(-1), undefined, 'a detached detector is left at its own threshold')
    t.equal(listeners.at(-1), false, 'and reports no loudness onsets')
  }
})

/** Attaches a fake detector; returns what reports its loudness onsets and lapses (false when the pipeline does not listen now). */
function loudnessControl (h: Harness): { onset: () => boolean, lapsed: () => boolean } {
  let listener: LoudnessListener | undefined
  h.pipeline.setOnsetControl({ setOnsetThreshold: () => {}, setLoudnessOnset: (l) => { listener = l } })
  return {
    onset: () => { listener?.onset(); return listener !== undefined },
    lapsed: () => { listener?.lapsed(); return listener !== undefined }
  }
}

t.test('a loudness onset over the answer pauses it at once; when the VAD starts no speech in it, it plays on from there', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([LONG_ANSWER]) })
  const loud = loudnessControl(h)
  await answering(h)
  const before = h.messages.length
  t.ok(loud.onset(), 'the pipeline listens while the answer plays')
  t.equal(h.output.paused, true, 'paused before the VAD said anything')
  t.same(h.types().slice(before), ['tts-paused'])
  const playedAtPause = h.output.playedMs
  h.output.play(100)
  t.equal(h.output.playedMs, playedAtPause, 'nothing plays while paused')
  loud.onset()
  t.same(h.types().slice(before), ['tts-paused'], 'a second onset pauses nothing more')
  loud.lapsed()
  t.equal(h.output.paused, false, 'a knock: the answer plays on')
  t.same(h.types().slice(before), ['tts-paused', 'tts-resumed'])
  loud.lapsed()
  h.output.play()
  await h.pipeline.idle()
  t.same(h.types().slice(before), ['tts-paused', 'tts-resumed', 'tts-complete'], 'no turn, no cancel')
  t.same(h.history.messages.map(m => m.content), ['hello', LONG_ANSWER.join('')], 'the whole answer was heard')
})

t.test('a loudness onset that the VAD then starts as speech stays paused until the speech is judged: words cancel the answer', async t => {
  const stt = new ScriptedSTT(['hello', 'wait stop please'])
  const h = harness(t, { stt, llm: new ScriptedLLM([LONG_ANSWER, ['Sure.']]) })
  const loud = loudnessControl(h)
  await answering(h)
  const before = h.messages.length
  loud.onset()
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  t.ok(loud.onset() && h.output.paused, 'onsets during the speech change nothing')
  loud.lapsed()
  t.equal(h.output.paused, true, 'a lapse no longer resumes it: the VAD heard speech')
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 96, utterance: speech(400) })
  await until(() => h.types().slice(before).includes('speech-start'), 'the interruption is committed')
  t.same(h.types().slice(before), ['tts-paused', 'tts-cancelled', 'speech-start'], 'paused once, never resumed, then cancelled')
})

t.test('a loudness onset before the answer makes a sound pauses nothing', async t => {
  const llm = new ScriptedLLM(['hang'])
  const h = harness(t, { stt: new ScriptedSTT(['hello']), llm })
  const loud = loudnessControl(h)
  utterance(h.pipeline)
  await until(() => llm.requests.length === 1, 'the turn is thinking')
  t.ok(loud.onset(), 'the pipeline listens while the turn runs')
  t.equal(h.output.paused, false, 'nothing to pause yet')
  loud.lapsed()
  h.pipeline.cancelTurn()
  await h.pipeline.idle()
  t.notOk(h.types().includes('tts-paused'))
  t.notOk(loud.onset(), 'nor once the turn ended')
})

t.test('an answer that ends while a loudness onset holds it paused leaves no pause behind for the next one', async t => {
  const llm = new ScriptedLLM([LONG_ANSWER, ['Second answer.']])
  const h = harness(t, { stt: new ScriptedSTT(['hello', 'again']), llm })
  const loud = loudnessControl(h)
  await answering(h)
  loud.onset()
  t.equal(h.output.paused, true)
  h.pipeline.cancelTurn()
  await h.pipeline.idle()
  t.equal(h.output.paused, false, 'the pause ended with its answer')
  utterance(h.pipeline)
  await until(() => h.types().filter(type => type === 'tts-start').length === 2 && h.output.queuedMs > 0, 'the next answer is queued')
  h.output.play()
  await h.pipeline.idle()
  t.equal(h.results.at(-1)?.outcome, 'completed', 'and it plays')
})

t.test('with interruptions off the user cannot interrupt, and what they say meanwhile is not heard', async t => {
  const stt = new ScriptedSTT(['hello'])
  const llm = new ScriptedLLM([LONG_ANSWER])
  const h = harness(t, { stt, llm }, { interruption: { mode: 'off' } })
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(2000) })
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(2100), durationMs: 2100 })
  t.equal(h.output.paused, false)
  h.output.play()
  await h.pipeline.idle()
  t.same(h.types().slice(before), ['tts-complete'])
  t.equal(stt.calls.length, 1)
  t.equal(llm.requests.length, 1)
})

t.test('preemptive generation: an answer started in the pause is used when the turn ends with the same words', async t => {
  const stt = new ScriptedSTT(['what time is it'])
  const llm = new ScriptedLLM([['It is noon.']])
  const h = harness(t, { stt, llm }, { preemptive: { afterMs: 200 } })
  const events: SpeculationEvent[] = []
  t.teardown(subscribeChannel('llmrtc:speculation', (e) => { events.push(e) }))
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(500) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 192, utterance: speech(792) })
  t.equal(stt.calls.length, 0, 'not before afterMs')
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(824) })
  await until(() => llm.requests.length === 1, 'the LLM was started in the pause')
  t.same(h.types(), ['speech-start'], 'nothing of it reaches the client')
  t.same(h.history.messages, [], 'nor the history')
  t.equal(llm.requests[0]?.messages.at(-1)?.content, 'what time is it')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(1100), durationMs: 1100 })
  await until(() => h.types().includes('tts-start'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.equal(stt.calls.length, 1, 'the words of the pause are the transcript: no second STT call')
  t.equal(llm.requests.length, 1, 'the answer was not asked twice')
  t.same(h.types(), ['speech-start', 'speech-end', 'transcript', 'llm-chunk', 'tts-start', 'llm-chunk', 'llm', 'tts-complete', 'metrics'].filter(type => type !== 'metrics'))
  t.same(h.history.messages.map(m => m.content), ['what time is it', 'It is noon.'])
  t.same(events.filter(e => e.sessionId === 'session-1').map(e => e.outcome), ['started', 'used'])
})

t.test('preemptive generation: speech again discards the speculative answer, nothing leaks', async t => {
  const stt = new ScriptedSTT(['I would like to book a table for', 'I would like to book a table for four'])
  const llm = new ScriptedLLM(['hang', ['For four, sure.']])
  const h = harness(t, { stt, llm }, { preemptive: { afterMs: 200 } })
  const events: SpeculationEvent[] = []
  t.teardown(subscribeChannel('llmrtc:speculation', (e) => { events.push(e) }))
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(900) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(1224) })
  await until(() => llm.requests.length === 1, 'speculation started')
  h.pipeline.onSpeechEvent({ type: 'speech-resume', atMs: 0, pauseMs: 600 })
  await until(() => llm.aborted === 1, 'the speculative LLM call is aborted')
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(400) })
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(2200), durationMs: 2200 })
  await until(() => h.types().includes('tts-start'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.equal(llm.requests.length, 2)
  t.equal(llm.requests[1]?.messages.at(-1)?.content, 'I would like to book a table for four')
  t.same(h.history.messages.map(m => m.content), ['I would like to book a table for four', 'For four, sure.'], 'one turn, the speculative words never in history')
  t.equal(h.types().filter(type => type === 'transcript').length, 1)
  t.same(events.filter(e => e.sessionId === 'session-1').map(e => e.outcome), ['started', 'wasted'])
})

t.test('adaptive end of turn: unfinished words hold the turn open, a finished question ends it soon', async t => {
  const stt = new ScriptedSTT(['I would like to book a table for', 'what is the weather in Paris?'])
  const h = harness(t, { stt, llm: new ScriptedLLM([]) }, { turnDetection: { detector: new HeuristicTurnDetector(), minEndpointMs: 250, maxEndpointMs: 1600, dynamic: false } })
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(900) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(1224) })
  t.same(h.endpoints, [1600], 'held at the longest wait while the words are transcribed')
  await until(() => h.endpoints.length === 2, 'decided')
  t.ok((h.endpoints[1] ?? 0) >= 1000, `a trailing "for" waits long (${String(h.endpoints[1])} ms)`)
  h.pipeline.onSpeechEvent({ type: 'speech-resume', atMs: 0, pauseMs: 700 })
  t.equal(h.endpoints.at(-1), 550, 'speech again: back to the starting wait')
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(2224) })
  await until(() => h.endpoints.length === 5, 'decided again')
  t.ok((h.endpoints[4] ?? Infinity) <= 400, `a finished question ends soon (${String(h.endpoints[4])} ms)`)
})

t.test('a turn cut off before it answered joins the next one: one user message with all the words', async t => {
  const stt = new ScriptedSTT(['book a table for', 'four people', 'four people'])
  const llm = new ScriptedLLM(['hang', ['A table for four.']])
  const h = harness(t, { stt, llm })
  utterance(h.pipeline)
  await until(() => llm.requests.length === 1, 'first turn thinking')
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(560) })
  await until(() => h.types().filter(type => type === 'speech-start').length === 2, 'interruption committed')
  t.notOk(h.types().includes('tts-cancelled'), 'nothing was playing')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(700), durationMs: 700 })
  await until(() => h.types().includes('tts-start'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.equal(llm.requests[1]?.messages.at(-1)?.content, 'book a table for four people')
  t.same(h.history.messages.map(m => m.content), ['book a table for four people', 'A table for four.'])
})

t.test('a turn cut off while its onSTTEnd hook runs joins the next one without its own user message', async t => {
  // The first turn, the quick check of the pause, the cut-off turn's words again, the new speech.
  const stt = new ScriptedSTT(['book a table for', 'four people', 'book a table for', 'four people'])
  const llm = new ScriptedLLM([['A table for four.']])
  const hooks = new HookRegistry(silentLogger)
  let release = (): void => {}
  let hookCalls = 0
  hooks.addHook('onSTTEnd', async () => {
    // The first turn's hook holds until the user has spoken again.
    if (hookCalls++ === 0) await new Promise<void>(resolve => { release = resolve })
  })
  const h = harness(t, { stt, llm }, {}, false, hooks)
  utterance(h.pipeline)
  await until(() => hookCalls === 1, 'first turn in its onSTTEnd hook')
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(560) })
  await until(() => h.types().filter(type => type === 'speech-start').length === 2, 'interruption committed')
  release()
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(700), durationMs: 700 })
  await until(() => h.types().includes('tts-start'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.equal(llm.requests.length, 1, 'the cut-off turn never asked the LLM')
  t.same(h.history.messages.map(m => m.content), ['book a table for four people', 'A table for four.'])
})

t.test('say() speaks a text as an answer, interruptible, and keeps it in the history', async t => {
  const llm = new ScriptedLLM([])
  const h = harness(t, { stt: new ScriptedSTT([]), llm })
  const said = h.pipeline.say('Hello! How can I help you today?')
  await until(() => h.types().includes('tts-start'), 'speaking')
  h.output.play()
  const result = await said
  t.equal(result?.outcome, 'completed')
  t.equal(llm.requests.length, 0, 'no LLM call')
  t.same(h.types(), ['llm-chunk', 'tts-start', 'llm-chunk', 'llm', 'tts-complete'])
  t.same(h.history.messages, [{ role: 'assistant', content: 'Hello! How can I help you today?' }])
})

t.test('generateReply() asks the LLM with the instructions and speaks its answer', async t => {
  const llm = new ScriptedLLM([['Welcome back!']])
  const h = harness(t, { stt: new ScriptedSTT([]), llm })
  const reply = h.pipeline.generateReply('Greet the caller warmly.')
  await until(() => h.types().includes('tts-start'), 'speaking')
  h.output.play()
  t.equal((await reply)?.outcome, 'completed')
  t.equal(llm.requests[0]?.messages.at(-1)?.content, 'Greet the caller warmly.')
  t.same(h.history.messages, [{ role: 'assistant', content: 'Welcome back!' }])
})

t.test('user idle: a prompt after the silence, then goodbye and the end of the session', async t => {
  const h = harness(t, { stt: new ScriptedSTT([]), llm: new ScriptedLLM([]) }, { userIdle: { afterMs: 5000, prompts: ['Are you still there?'], maxPrompts: 1, goodbye: 'Bye now.' } })
  h.clock.advance(4999)
  t.same(h.types(), [])
  h.clock.advance(1)
  await until(() => h.types().includes('tts-start'), 'prompt')
  h.output.play()
  await h.pipeline.idle()
  t.equal(h.history.messages.at(-1)?.content, 'Are you still there?')
  h.clock.advance(5000)
  await until(() => h.history.messages.length === 2 || h.types().filter(x => x === 'tts-start').length === 2, 'goodbye')
  h.output.play()
  await until(() => h.idleEnded(), 'session ended')
  t.equal(h.history.messages.at(-1)?.content, 'Bye now.')
})

t.test('user idle: speech starts the count over', async t => {
  const h = harness(t, { stt: new ScriptedSTT(['hi']), llm: new ScriptedLLM([['Hello.']]) }, { userIdle: { afterMs: 5000, maxPrompts: 1 } })
  h.clock.advance(4000)
  utterance(h.pipeline)
  await until(() => h.types().includes('tts-start'), 'answer')
  h.clock.advance(4000)
  h.output.play()
  await h.pipeline.idle()
  h.clock.advance(4999)
  t.notOk(h.history.messages.some(m => m.content === 'Are you still there?'), 'no prompt before afterMs of quiet after the turn')
  h.clock.advance(1)
  await until(() => h.history.messages.length === 3 || h.types().filter(x => x === 'tts-start').length === 2, 'prompt')
  t.notOk(h.idleEnded())
})

t.test('streaming STT: interim words of a backchannel resume the answer and never reach the client', async t => {
  const stt = new ScriptedSTT(['hello', 'uh huh'], { interims: ['uh', 'uh huh'] })
  const llm = new ScriptedLLM([LONG_ANSWER])
  const h = harness(t, { stt, llm }, {}, true)
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(224) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(32) })
  await new Promise(resolve => setImmediate(resolve))
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(700) })
  await until(() => h.types().includes('tts-resumed'), 'resumed on the interim words')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(900), durationMs: 900 })
  h.output.play()
  await h.pipeline.idle()
  t.same(h.types().slice(before), ['tts-paused', 'tts-resumed', 'tts-complete'], 'no transcript, no speech-start')
  t.equal(llm.requests.length, 1)
})

t.test('streaming STT: interim words that are not a backchannel interrupt at once and are forwarded', async t => {
  const stt = new ScriptedSTT(['hello', 'stop that now'], { interims: ['stop', 'stop that'] })
  const h = harness(t, { stt, llm: new ScriptedLLM([LONG_ANSWER, ['Stopped.']]) }, {}, true)
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(224) })
  await until(() => h.types().slice(before).includes('speech-start'), 'interrupted')
  t.same(h.messages.slice(before, before + 4), [{ type: 'tts-paused' }, { type: 'tts-cancelled', heard: 'The' }, { type: 'speech-start' }, { type: 'transcript', text: 'stop', isFinal: false }])
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(900), durationMs: 900 })
  await until(() => h.types().lastIndexOf('tts-start') > before, 'the new answer')
  h.output.play()
  await h.pipeline.idle()
  t.equal(h.history.messages.at(-2)?.content, 'stop that now')
})

t.test('preemptive generation synthesizes the first sentence ahead: the turn plays it without asking the TTS again', async t => {
  const tts = new ScriptedTTS()
  const llm = new ScriptedLLM([['It is twelve noon now. ', 'Anything else I can do?']])
  const h = harness(t, { stt: new ScriptedSTT(['what time is it']), llm, tts }, { preemptive: { afterMs: 200 } })
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(500) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(824) })
  await until(() => tts.spoken.length === 1, 'the first sentence is synthesized during the pause')
  t.same(tts.spoken, ['It is twelve noon now.'])
  t.equal(h.output.writtenMs, 0, 'nothing was played')
  t.same(h.types(), ['speech-start'])
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(1100), durationMs: 1100 })
  await until(() => h.types().includes('tts-start'), 'answer')
  await until(() => h.types().includes('llm'), 'llm')
  h.output.play()
  await h.pipeline.idle()
  t.same(tts.spoken, ['It is twelve noon now.', 'Anything else I can do?'], 'each sentence synthesized once')
  t.equal(Math.round(h.output.writtenMs), Math.round(('It is twelve noon now.'.length + 'Anything else I can do?'.length) * tts.msPerChar), 'all of both sentences played')
  t.equal(h.results[0]?.ctx.turnId.length, 36, 'the turn carries the speculation\'s id (its TTS context)')
})

t.test('a failed transcription of the pause leaves the starting wait, and the turn asks the STT again', async t => {
  const stt = new ScriptedSTT([new Error('stt down'), 'what time is it'])
  const llm = new ScriptedLLM([['Noon.']])
  const h = harness(t, { stt, llm }, { preemptive: { afterMs: 200 }, turnDetection: { detector: new HeuristicTurnDetector(), dynamic: false } })
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(500) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(824) })
  await until(() => h.endpoints.length === 2, 'back to the starting wait')
  t.same(h.endpoints, [1600, 550])
  t.equal(llm.requests.length, 0, 'no answer was started for words that never came')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(1100), durationMs: 1100 })
  await until(() => h.types().includes('tts-start'), 'answer')
  h.output.play()
  await h.pipeline.idle()
  t.notOk(h.types().includes('error'))
  t.same(h.history.messages.map(m => m.content), ['what time is it', 'Noon.'])
})

t.test('a backchannel is let through while it is still being said, and more of it does not pause the answer again', async t => {
  const stt = new ScriptedSTT(['hello', 'mm-hmm', 'mm-hmm yeah'])
  const llm = new ScriptedLLM([LONG_ANSWER])
  const h = harness(t, { stt, llm })
  await answering(h)
  const before = h.messages.length
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(224) })
  t.equal(h.output.paused, true)
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(160) })
  await until(() => h.types().includes('tts-resumed'), 'resumed while the user still speaks')
  t.equal(stt.calls.length, 2, 'one early transcription of the speech so far')
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(32) })
  t.equal(h.output.paused, false, 'more of the same speech does not pause it again')
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 96, utterance: speech(600) })
  await until(() => stt.calls.length === 3, 'the whole of it judged at its pause')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(900), durationMs: 900 })
  h.output.play()
  await h.pipeline.idle()
  t.same(h.types().slice(before), ['tts-paused', 'tts-resumed', 'tts-complete'])
  t.equal(llm.requests.length, 1, 'no turn for it')
})

t.test('an answer that ends in the very frame the user starts over it: the pause ends with it, and the next answer plays (the chaos bench found the next turn hung on a paused output)', async t => {
  const stt = new ScriptedSTT(['hello', 'wait stop please'])
  const h = harness(t, { stt, llm: new ScriptedLLM([['Short.'], ['Sure.']]) })
  utterance(h.pipeline)
  await until(() => h.types().includes('tts-start') && h.output.queuedMs > 0, 'the answer is playing')
  const before = h.messages.length
  // The last of the answer plays, and the user's onset comes before the turn saw its audio drained.
  h.output.play()
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  await until(() => h.types().slice(before).includes('tts-complete'), 'the answer completed, paused')
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 160, utterance: speech(560) })
  await until(() => h.types().slice(before).includes('speech-start'), 'the speech is a turn')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(900), durationMs: 900 })
  await until(() => h.types().lastIndexOf('tts-start') > before, 'the new answer')
  t.equal(h.output.paused, false, 'the output is not left paused')
  h.output.play()
  await h.pipeline.idle()
  t.same(h.results.map(r => r.outcome), ['completed', 'completed'])
  t.equal(h.history.messages.at(-1)?.content, 'Sure.')
})
