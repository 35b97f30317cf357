import t from 'tap'
import { ScriptedLLM, ScriptedSTT } from '../../fakes/scripted-providers.js'
import { pipelineHarness } from '../../helpers/pipeline-harness.js'
import { say, speech, until } from '../../helpers/speech-events.js'

t.test('every speech event wakes the track output, so a track stopped while idle runs again before the answer', async t => {
  const h = pipelineHarness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([['Hi there.']]) })
  const wakes: string[] = []
  let lastEvent = 'none'
  Object.assign(h.output, { wake: () => { wakes.push(lastEvent) } })
  const onSpeechEvent = h.pipeline.onSpeechEvent.bind(h.pipeline)
  h.pipeline.onSpeechEvent = (event) => { lastEvent = event.type; onSpeechEvent(event) }
  say(h.pipeline)
  t.same(wakes, ['speech-start', 'speech-audio', 'speech-end'], 'woken before each event is handled')
  await until(() => h.types().includes('llm'), 'llm')
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  t.equal(wakes.length, 4)
})

t.test('without a track (speech over the WebSocket) speech events wake nothing and the turn runs', async t => {
  const h = pipelineHarness(t, { stt: new ScriptedSTT(['hello']), llm: new ScriptedLLM([['Hi there.']]) }, { track: false })
  let woken = 0
  Object.assign(h.output, { wake: () => { woken++ } })
  say(h.pipeline)
  await until(() => h.types().includes('llm'), 'llm')
  t.equal(woken, 0)
})
