import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import { runEval } from '../../bin/eval.js'
import { callMatches, checkExpectations, type StepObservation } from '../../lib/evals/expectations.js'
import { judgeAnswer, parseVerdict } from '../../lib/evals/judge.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../../testing/index.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { SupportDeskLLM } from './support-desk-llm.js'

const playbook = resolve(import.meta.dirname, '../../examples/support-playbook.mjs')

function seen (over: Partial<StepObservation> = {}): StepObservation {
  return { answer: 'Your order ships Thursday.', answerText: 'Your order ships Thursday.', toolCalls: [], stagesEntered: [], stage: undefined, errors: [], ...over }
}

t.test('tool arguments match as a subset: extra keys pass, nested objects and arrays compare deeply, types are strict', async t => {
  const call = { name: 'lookup', arguments: { orderId: '42', options: { fast: true, region: 'eu' }, tags: ['a', 'b'] } }
  t.ok(callMatches({ name: 'lookup' }, call))
  t.ok(callMatches({ name: 'lookup', arguments: { orderId: '42' } }, call))
  t.ok(callMatches({ name: 'lookup', arguments: { options: { fast: true } } }, call))
  t.ok(callMatches({ name: 'lookup', arguments: { tags: ['a', 'b'] } }, call))
  t.notOk(callMatches({ name: 'lookup', arguments: { tags: ['a'] } }, call), 'arrays need the same length')
  t.notOk(callMatches({ name: 'lookup', arguments: { orderId: 42 } }, call), '42 is not "42"')
  t.notOk(callMatches({ name: 'lookup', arguments: { missing: null } }, call), 'an expected key must be present')
  t.notOk(callMatches({ name: 'other' }, call))
  t.notOk(callMatches({ name: 'lookup', arguments: { orderId: '42' } }, { name: 'lookup', arguments: '{"orderId":"42"}' }), 'unparsed arguments match nothing')
})

t.test('each expectation says what was expected and what came', async t => {
  const outcomes = checkExpectations({
    toolCalls: [{ name: 'lookup', arguments: { orderId: '43' } }],
    notCalled: ['lookup'],
    stage: 'refund',
    contains: ['friday'],
    notContains: ['THURSDAY'],
    matches: /arrives/,
    latency: { firstAudioMs: 100, totalMs: 500 }
  }, seen({ toolCalls: [{ name: 'lookup', arguments: { orderId: '42' } }], stagesEntered: ['resolve'], stage: 'resolve', firstAudioMs: 250.4 }))
  t.same(outcomes.map(o => `${o.field}: expected ${o.expected}, instead got ${o.got}`), [
    'toolCalls[0]: expected a call of lookup with {"orderId":"43"}, instead got lookup({"orderId":"42"})',
    'notCalled: expected no call of lookup, instead got lookup({"orderId":"42"})',
    'stage: expected stage "refund" reached, instead got entered resolve, now in "resolve"',
    'contains: expected the answer contains "friday", instead got "Your order ships Thursday."',
    'notContains: expected the answer does not contain "THURSDAY", instead got "Your order ships Thursday."',
    'matches: expected the answer matches /arrives/, instead got "Your order ships Thursday."',
    'latency.firstAudioMs: expected at most 100 ms, instead got 250 ms',
    'latency.totalMs: expected at most 500 ms, instead got never reached'
  ])
  t.ok(outcomes.every(o => !o.pass))
})

t.test('a stage passes when entered during the step or current after it; contains ignores case and spacing', async t => {
  const pass = (expect: Parameters<typeof checkExpectations>[0], over: Partial<StepObservation>): boolean => checkExpectations(expect, seen(over)).every(o => o.pass)
  t.ok(pass({ stage: 'refund' }, { stagesEntered: ['refund', 'goodbye'], stage: 'goodbye' }), 'passed through')
  t.ok(pass({ stage: 'greet' }, { stage: 'greet' }), 'still in it')
  t.notOk(pass({ stage: 'greet' }, { stage: undefined }), 'no playbook')
  t.ok(pass({ contains: ['ships   THURSDAY'] }, {}))
  t.notOk(pass({}, { incomplete: 'the turn ended failed', errors: ['LLM_ERROR: down'] }), 'a failed turn fails whatever its expectations')
  t.same(checkExpectations({}, seen({ incomplete: 'the turn ended failed', errors: ['LLM_ERROR: down'] }))[0], { field: 'turn', pass: false, expected: 'a completed turn without errors', got: 'the turn ended failed; error: LLM_ERROR: down' })
})

t.test('the judge asks the LLM for a strict JSON verdict and fails on anything else', async t => {
  const conversation = [{ user: 'Where is order 42?', assistant: 'It ships Thursday.' }]
  const llm = new ScriptedLLM([
    ['{"pass": true, "reason": "It says the day."}'],
    ['```json\n{"pass": false, "reason": "No carrier."}\n```'],
    ['Looks good to me!'],
    ['{"pass": "yes", "reason": 1}'],
    { chunks: [], error: new Error('judge unreachable') }
  ])
  t.match(await judgeAnswer(llm, 'Says the day.', conversation), { field: 'judge', pass: true, got: 'pass: It says the day.' })
  t.match(llm.requests[0]?.messages, [{ role: 'system', content: /Reply with exactly one JSON object/ }, { role: 'user', content: /User: Where is order 42\?\nAssistant: It ships Thursday\.\n\nRubric for the last answer:\nSays the day\./ }])
  t.match(await judgeAnswer(llm, 'Names the carrier.', conversation), { pass: false, got: 'fail: No carrier.' }, 'a fenced verdict is read')
  t.match(await judgeAnswer(llm, 'x', conversation), { pass: false, got: 'no JSON verdict {"pass", "reason"} in the judge\'s answer "Looks good to me!"' })
  t.match(await judgeAnswer(llm, 'x', conversation), { pass: false, got: /no JSON verdict/ }, 'wrong types are no verdict')
  t.match(await judgeAnswer(llm, 'x', conversation), { pass: false, got: 'the judge\'s call failed: judge unreachable' })
  t.equal(parseVerdict('[]'), undefined)
})

t.test('a deliberately broken scenario fails: the report names the step, what was expected and what came', async t => {
  const dir = scratchDir()
  const file = join(dir, 'broken.yaml')
  writeFileSync(file, `
name: Broken on purpose
steps:
  - user: Hello.
  - user: Where is order 42?
    expect:
      toolCalls: { name: lookup_order, arguments: { orderId: "43" } }
      stage: refund
      contains: Friday
  - user: Thanks, bye for now.
    expect:
      stage: goodbye
`)
  let output = ''
  const reports = await runEval({
    paths: [file],
    mode: 'text',
    env: { PLAYBOOK: playbook },
    options: { providers: { llm: new SupportDeskLLM(), stt: new ScriptedSTT([]), tts: new ScriptedTTS(1) } },
    logLevel: 'silent',
    write: (text) => { output += text }
  })
  t.equal(reports[0]?.pass, false)
  t.same(reports[0]?.steps.map(s => s.pass), [true, false, true], 'the steps after a failed one still run')
  const lines = output.split('\n')
  t.match(lines[0], /^FAIL {2}Broken on purpose \(.*broken\.yaml\)$/)
  t.match(lines[1], /^ {2}✓ step 1: "Hello\."/)
  t.match(lines[2], /^ {2}✗ step 2: "Where is order 42\?" {2}\[tools: lookup_order; stage -> resolve; first audio \d+ ms\]$/)
  t.same(lines.slice(3, 7), [
    '      toolCalls[0]: expected a call of lookup_order with {"orderId":"43"}, instead got lookup_order({"orderId":"42"})',
    '      stage: expected stage "refund" reached, instead got entered resolve, now in "resolve"',
    '      contains: expected the answer contains "Friday", instead got "Your order 42 is shipped and should arrive Thursday."',
    '      answer: "Your order 42 is shipped and should arrive Thursday."'
  ])
  t.match(lines[7], /^ {2}✓ step 3: "Thanks, bye for now\." {2}\[stage -> goodbye/)
  t.equal(lines.at(-2), '0 passed, 1 failed')
})

t.test('a turn that fails is a failed step, with the error the server sent', async t => {
  const dir = scratchDir()
  writeFileSync(join(dir, 'down.yaml'), 'steps:\n  - user: Hello?\n    expect: { contains: hello }\n')
  let output = ''
  const reports = await runEval({
    paths: [join(dir, 'down.yaml')],
    mode: 'text',
    env: {},
    options: { providers: { llm: new ScriptedLLM([{ chunks: [], error: new Error('model overloaded') }]), stt: new ScriptedSTT([]), tts: new ScriptedTTS(1) } },
    logLevel: 'silent',
    write: (text) => { output += text }
  })
  t.equal(reports[0]?.pass, false)
  t.match(output, /turn: expected a completed turn without errors, instead got the turn ended failed; error: LLM_ERROR: /)
  t.match(output, /contains: expected the answer contains "hello", instead got an empty answer/)
})
