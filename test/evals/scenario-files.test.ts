import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadScenarios, parseScenario } from '../../lib/evals/load-scenarios.js'
import { checkFakedTools } from '../../lib/evals/fake-tools.js'
import { scratchDir } from '../helpers/scratch-dir.js'

/** The message of what `fn` throws. */
function thrown (fn: () => unknown): { code?: string, message: string } {
  try {
    fn()
  } catch (err) {
    return err as { code?: string, message: string }
  }
  throw new Error('did not throw')
}

t.test('a YAML scenario is read with its steps, fakes and expectations; a bare tool name and a single string are lists of one', async t => {
  const scenario = parseScenario(`
name: Refund
tools:
  lookup_order: { result: { found: true } }
steps:
  - user: Where is order 42?
    tools:
      lookup_order: { error: down }
    expect:
      toolCalls: lookup_order
      notCalled: request_refund
      stage: resolve
      contains: Thursday
      matches: /thurs/i
      latency: { firstAudioMs: 800 }
      judge: Says when the order arrives.
  - user: Thanks.
`, 'refund.yaml')
  t.equal(scenario.name, 'Refund')
  t.same(scenario.tools, { lookup_order: { result: { found: true } } })
  t.same(scenario.steps[0]?.tools, { lookup_order: { error: 'down' } })
  t.match(scenario.steps[0]?.expect, { toolCalls: [{ name: 'lookup_order' }], notCalled: ['request_refund'], stage: 'resolve', contains: ['Thursday'], latency: { firstAudioMs: 800 }, judge: 'Says when the order arrives.' })
  t.ok(scenario.steps[0]?.expect.matches?.test('THURSDAY'), '/pattern/flags keeps its flags')
  t.same(scenario.steps[1]?.expect, {}, 'a step without expectations only has to complete')
})

t.test('a JSON scenario is read as JSON, named after its file without a name', async t => {
  const scenario = parseScenario(JSON.stringify({ steps: [{ user: 'Hello', expect: { matches: 'hel+o' } }] }), 'dir/greeting.json')
  t.equal(scenario.name, 'greeting')
  t.ok(scenario.steps[0]?.expect.matches?.test('hello'))
})

t.test('a bad scenario is rejected naming the file, the step and the field, what was expected and what it holds', async t => {
  const cases: Array<[string, string, RegExp]> = [
    ['steps: []', 'a.yaml', /^Invalid scenario a\.yaml: steps: expected a non-empty list of steps, instead got a list of 0$/],
    ['- user: hi', 'a.yaml', /^Invalid scenario a\.yaml: the file: expected an object with "steps", instead got a list of 1$/],
    ['steps:\n  - user: hi\n  - user: ""', 'b.yaml', /b\.yaml: step 2, user: expected the user's line as a non-empty string, instead got ""/],
    ['steps:\n  - user: hi\n    expects: { stage: x }', 'c.yaml', /c\.yaml: step 1, expects: expected one of the keys user, tools, expect, instead got an unknown key "expects"/],
    ['steps:\n  - user: hi\n    expect: { toolCalls: [{ name: 42 }] }', 'd.yaml', /d\.yaml: step 1, expect\.toolCalls\[0\]\.name: expected a tool name, instead got 42/],
    ['steps:\n  - user: hi\n    expect: { latency: { firstAudioMs: -5 } }', 'e.yaml', /e\.yaml: step 1, expect\.latency\.firstAudioMs: expected a positive number of ms, instead got -5/],
    ['steps:\n  - user: hi\n    expect: { matches: "(" }', 'f.yaml', /f\.yaml: step 1, expect\.matches: expected a valid regular expression \(.*\), instead got "\("/],
    ['steps:\n  - user: hi\n    expect: { contain: x }', 'g.yaml', /g\.yaml: step 1, expect\.contain: expected one of the keys toolCalls, notCalled, stage, contains, notContains, matches, latency, judge/],
    ['tools: { lookup: { result: 1, error: x } }\nsteps:\n  - user: hi', 'h.yaml', /h\.yaml: tools\.lookup: expected an object with exactly one of "result" or "error"/],
    ['steps:\n  - user: hi\n    expect: { judge: 3 }', 'i.yaml', /i\.yaml: step 1, expect\.judge: expected a rubric as a non-empty string, instead got 3/],
    ['steps: [\n', 'j.yaml', /^Invalid scenario j\.yaml: it does not parse as YAML: /],
    ['{"steps": ', 'k.json', /^Invalid scenario k\.json: it does not parse as JSON: /]
  ]
  for (const [text, file, message] of cases) {
    const err = thrown(() => parseScenario(text, file))
    t.equal(err.code, 'LLMRTC_ERR_EVAL_SCENARIO', file)
    t.match(err.message, message)
  }
})

t.test('a directory gives its scenario files in name order, subdirectories included; other files are skipped', async t => {
  const dir = scratchDir()
  mkdirSync(join(dir, 'more'))
  writeFileSync(join(dir, 'b.yaml'), 'steps: [{ user: b }]')
  writeFileSync(join(dir, 'a.json'), '{ "steps": [{ "user": "a" }] }')
  writeFileSync(join(dir, 'more', 'c.yml'), 'steps: [{ user: c }]')
  writeFileSync(join(dir, 'notes.md'), '# not a scenario')
  const scenarios = await loadScenarios(['.'], dir)
  t.same(scenarios.map(s => [s.file, s.steps[0]?.user]), [['a.json', 'a'], ['b.yaml', 'b'], ['more/c.yml', 'c']])
})

t.test('a missing path, an empty directory and a bad file among good ones are rejected before anything runs', async t => {
  const dir = scratchDir()
  await t.rejects(loadScenarios(['nope.yaml'], dir), { code: 'LLMRTC_ERR_EVAL_SCENARIO', message: 'Invalid scenario nope.yaml: no such file or directory' })
  await t.rejects(loadScenarios(['.'], dir), { message: /the directory holds no \.yaml, \.yml or \.json file/ })
  writeFileSync(join(dir, 'good.yaml'), 'steps: [{ user: hi }]')
  writeFileSync(join(dir, 'bad.yaml'), 'steps: [{ usr: hi }]')
  await t.rejects(loadScenarios(['.'], dir), { message: /^Invalid scenario bad\.yaml: step 1, usr: expected one of the keys/ })
})

t.test('faking a tool the server does not have is rejected, naming the tools it has', async t => {
  const scenario = parseScenario('steps:\n  - user: hi\n    tools: { lookup_ordr: { result: 1 } }', 'typo.yaml')
  const err = thrown(() => { checkFakedTools([scenario], new Set(['lookup_order', 'request_refund'])) })
  t.equal(err.message, 'Invalid scenario typo.yaml: step 1, tools.lookup_ordr: the configured server has no tool "lookup_ordr" to fake (its tools: lookup_order, request_refund; tools of MCP servers cannot be faked)')
  t.doesNotThrow(() => { checkFakedTools([parseScenario('tools: { lookup_order: { result: 1 } }\nsteps: [{ user: hi }]', 'ok.yaml')], new Set(['lookup_order'])) })
})

t.test('the full example in docs/evals.md is examples/scenarios/delayed-order.yaml, word for word, and the shipped scenarios load', async t => {
  const root = new URL('../../', import.meta.url)
  const page = readFileSync(new URL('docs/evals.md', root), 'utf8')
  const block = /This is `examples\/scenarios\/delayed-order\.yaml`[\s\S]*?```yaml\n([\s\S]*?)```\n/.exec(page)?.[1]
  t.equal(block, readFileSync(new URL('examples/scenarios/delayed-order.yaml', root), 'utf8'))
  const scenarios = await loadScenarios([fileURLToPath(new URL('examples/scenarios', root))])
  t.ok(scenarios.length >= 4)
})
