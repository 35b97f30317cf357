import { resolve } from 'node:path'
import t from 'tap'
import { runEval } from '../../bin/eval.js'
import { ScriptedSTT, ScriptedTTS } from '../../testing/index.js'
import { SupportDeskLLM } from './support-desk-llm.js'

// The scenario suite shipped for examples/support-playbook.mjs, in text mode with scripted providers:
// the same files run against a real model with `llmrtc-backend eval examples/scenarios`.
const root = resolve(import.meta.dirname, '../..')
const scenarios = resolve(root, 'examples/scenarios')
const playbook = resolve(root, 'examples/support-playbook.mjs')

t.test('the support playbook\'s scenario suite passes in text mode', async t => {
  let output = ''
  const llm = new SupportDeskLLM()
  const reports = await runEval({
    paths: [scenarios],
    mode: 'text',
    env: { PLAYBOOK: playbook },
    options: { providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS(1) } },
    logLevel: 'silent',
    write: (text) => { output += text }
  })
  t.same(reports.map(r => [r.scenario.name, r.pass]), [
    ['Delayed order (faked lookup)', true],
    ['Unknown order', true],
    ['Order status', true],
    ['Refund', true]
  ], reports.every(r => r.pass) ? 'each scenario passes' : output)
  t.match(output, /^PASS {2}Refund \(.*examples\/scenarios\/refund\.yaml\)$/m)
  t.match(output, /✓ step 3: "Yes, please file the refund.*\[tools: request_refund; stage -> goodbye; first audio \d+ ms\]/)
  t.ok(output.endsWith('4 passed, 0 failed\n'), 'the summary line comes last')
  const delayed = reports[0]?.steps ?? []
  t.match(delayed[0]?.seen?.toolCalls, [{ name: 'lookup_order', result: { eta: 'Monday', status: 'delayed' } }], 'the faked result reached the LLM')
  t.match(delayed[1]?.seen?.toolCalls, [{ name: 'lookup_order', error: /the order database is not answering/ }], 'a step\'s fake error overrides the scenario\'s result')
  t.match(reports[1]?.steps[0]?.seen?.toolCalls, [{ result: { found: false, orderId: '999' } }], 'a tool without a fake runs its real handler')
  t.ok(llm.requests.some(r => r.messages[0]?.content.startsWith('You are a strict evaluator')), 'the refund\'s judge asked the configured LLM')
})
