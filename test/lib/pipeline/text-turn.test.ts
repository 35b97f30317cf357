import t from 'tap'
import { ScriptedLLM, ScriptedSTT } from '../../fakes/scripted-providers.js'
import { pipelineHarness } from '../../helpers/pipeline-harness.js'
import { until } from '../../helpers/speech-events.js'

t.test('a text turn runs the same turn as speech, without calling the STT', async t => {
  const stt = new ScriptedSTT(['never used'])
  const h = pipelineHarness(t, { stt, llm: new ScriptedLLM([['Hi! ', 'How can I help?']]) })
  const stages: string[] = []
  h.hooks.addHook('onSTTEnd', (_ctx, result) => { stages.push(`stt-end:${result.text}`) })
  h.hooks.addHook('onLLMStart', () => { stages.push('llm-start') })
  const running = h.pipeline.runText('hello there')
  await until(() => h.output.writtenMs > 0, 'audio written')
  h.output.play()
  const result = await running
  t.equal(result?.outcome, 'completed')
  t.equal(result?.assistantText, 'Hi! How can I help?')
  t.equal(stt.calls.length, 0, 'no STT call')
  t.same(stages, ['stt-end:hello there', 'llm-start'], 'the STT hooks see the text as the transcript')
  t.same(h.types(), ['transcript', 'llm-chunk', 'llm-chunk', 'tts-start', 'llm-chunk', 'llm', 'tts-complete'])
  t.same(h.messages[0], { type: 'transcript', text: 'hello there', isFinal: true })
  t.same(h.history.messages, [{ role: 'user', content: 'hello there' }, { role: 'assistant', content: 'Hi! How can I help?' }])
})

t.test('a text turn interrupts a running turn, and one replaced before it started resolves undefined', async t => {
  const llm = new ScriptedLLM(['hang', ['Second. '], ['Third. ']])
  const h = pipelineHarness(t, { stt: new ScriptedSTT([]), llm }, { track: false })
  const first = h.pipeline.runText('one')
  await until(() => llm.requests.length === 1, 'the first LLM call')
  const second = h.pipeline.runText('two')
  const third = h.pipeline.runText('three')
  t.equal((await first)?.outcome, 'cancelled')
  t.equal(await second, undefined, 'replaced by a newer text before it started')
  t.equal((await third)?.assistantText, 'Second. ')
  t.same(h.history.messages.filter(m => m.role === 'user').map(m => m.content), ['one', 'three'])
})
