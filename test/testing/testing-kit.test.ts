import { strict as assert } from 'node:assert'
import t from 'tap'
import type { LLMProvider } from '../../lib/providers/types.js'
import { ScriptedLLM, ScriptedTTS, connect, llmConformance, ttsConformance, until } from '../../testing/index.js'
import { buildApp } from '../helpers/app.js'

t.test('next() rejects after its timeout, naming the type it waited for and what arrived', async t => {
  const app = await buildApp(t, { webrtc: false, demoPage: false })
  const socket = await connect(app)
  await socket.next('ready')
  await t.rejects(socket.next('transcript', 0, 50), {
    code: 'LLMRTC_ERR_TESTING_TIMEOUT',
    message: 'Timed out after 50 ms waiting for a "transcript" message (received since #0: ready)'
  })
  socket.ws.terminate()
})

t.test('next() without a timeout still gives up (default 5000 ms) instead of hanging the test', async t => {
  const app = await buildApp(t, { webrtc: false, demoPage: false })
  const socket = await connect(app)
  const started = { settled: false }
  const waiting = socket.next('never-sent').finally(() => { started.settled = true })
  await t.rejects(waiting, { code: 'LLMRTC_ERR_TESTING_TIMEOUT', message: /5000 ms waiting for a "never-sent" message/ })
  t.equal(started.settled, true)
  socket.ws.terminate()
})

t.test('until() names what it waited for', async t => {
  await t.rejects(until(() => false, 'the answer', 30), { code: 'LLMRTC_ERR_TESTING_TIMEOUT', message: 'Timed out after 30 ms waiting for the answer' })
})

t.test('the conformance suites pass the scripted fakes, with tap or node:assert', async t => {
  await llmConformance(t, new ScriptedLLM([['Hello ', 'there.'], ['Hello ', 'there.'], ['Hi ', 'you.']]))
  await ttsConformance(assert, new ScriptedTTS())
})

t.test('with node:assert, a provider that breaks the contract throws at the failed check', async t => {
  const broken: LLMProvider = {
    name: 'broken',
    async complete () { return { fullText: '' } }
  }
  await t.rejects(llmConformance(assert, broken), { name: 'AssertionError', message: 'complete() answers something' })
})
