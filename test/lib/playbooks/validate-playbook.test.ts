import t from 'tap'
import { validatePlaybook } from '../../../lib/playbooks/validate-playbook.js'
import type { Playbook } from '../../../lib/playbooks/types.js'
import type { Tool } from '../../../lib/tools/types.js'

function tool (name: string): Tool {
  return { definition: { name, description: `the ${name} tool`, parameters: { type: 'object', properties: {} } }, handler: () => ({ ok: true }) }
}

/** greet → lookup (tool lookup_order) → resolve, plus a '*' escape to human. */
function playbook (): Playbook {
  return {
    id: 'support',
    name: 'Support',
    initialStage: 'greet',
    globalTools: [tool('get_time')],
    stages: [
      { id: 'greet', name: 'Greeting', systemPrompt: 'Greet.' },
      { id: 'lookup', name: 'Lookup', systemPrompt: 'Find the order.', tools: [tool('lookup_order')], maxTurns: 5 },
      { id: 'resolve', name: 'Resolve', systemPrompt: 'Resolve it.' },
      { id: 'human', name: 'Human', systemPrompt: 'Hand over.' }
    ],
    transitions: [
      { id: 'to-lookup', from: 'greet', condition: { type: 'llm_decision' }, action: { targetStage: 'lookup' } },
      { id: 'found', from: 'lookup', condition: { type: 'tool_call', toolName: 'lookup_order' }, action: { targetStage: 'resolve' } },
      { id: 'stuck', from: 'lookup', condition: { type: 'max_turns', count: 8 }, action: { targetStage: 'human' } },
      { id: 'escape', from: '*', condition: { type: 'keyword', keywords: ['human agent'] }, action: { targetStage: 'human' } }
    ]
  }
}

// The cases below break the types on purpose, as a JavaScript playbook module can.
type Loose = any

function invalid (mutate: (p: Loose) => void): unknown {
  const p = playbook()
  mutate(p)
  return p
}

function transition (p: Playbook, id: string): Loose {
  const found = p.transitions.find(x => x.id === id)
  if (found === undefined) throw new Error(`no transition ${id}`)
  return found
}

t.test('a valid playbook passes and comes back as the same object, without warnings', async t => {
  const input = playbook()
  const { playbook: checked, warnings } = validatePlaybook(input)
  t.equal(checked, input)
  t.same(warnings, [])
})

t.test('each problem is refused with LLMRTC_ERR_PLAYBOOK_INVALID naming the playbook and the problem', async t => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an object', 'support.js', /Invalid playbook "\(no id\)": expected a playbook object, instead got "support.js"/],
    ['no id', invalid(p => { delete p.id }), /Invalid playbook "\(no id\)": the playbook: id: expected a non-empty string, instead got undefined/],
    ['no name', invalid(p => { p.name = '' }), /"support": the playbook: name: expected a non-empty string/],
    ['no stages', invalid(p => { p.stages = [] }), /"support": stages: expected a non-empty array/],
    ['unknown initial stage', invalid(p => { p.initialStage = 'welcome' }), /"support": initialStage: expected one of the stage ids \(greet, lookup, resolve, human\), instead got "welcome"/],
    ['duplicate stage ids', invalid(p => { p.stages.push({ id: 'greet', name: 'Again', systemPrompt: '' }) }), /"support": duplicate stage id "greet"/],
    ['a stage named *', invalid(p => { p.stages.push({ id: '*', name: 'Any', systemPrompt: '' }) }), /stage "\*": "\*" is reserved/],
    ['a stage without a prompt', invalid(p => { delete p.stages[0].systemPrompt }), /stage "greet": systemPrompt: expected a string, instead got undefined/],
    ['a bad maxTurns', invalid(p => { p.stages[1].maxTurns = 0 }), /stage "lookup": maxTurns: expected an integer >= 1, instead got 0/],
    ['a bad timeoutMs', invalid(p => { p.stages[1].timeoutMs = -5 }), /stage "lookup": timeoutMs: expected a number of ms > 0, instead got -5/],
    ['an onEnter that is not a function', invalid(p => { p.stages[0].onEnter = 'hello' }), /stage "greet": onEnter: expected a function/],
    ['a bad toolChoice', invalid(p => { p.stages[1].toolChoice = 'always' }), /stage "lookup": toolChoice: expected 'auto', 'none', 'required' or \{ type: 'function', name \}, instead got "always"/],
    ['a toolChoice naming a tool the stage lacks', invalid(p => { p.stages[0].toolChoice = { type: 'function', name: 'lookup_order' } }), /stage "greet": toolChoice names the tool "lookup_order", which the stage does not offer/],
    ['a tool that is not a tool', invalid(p => { p.stages[1].tools = [{ name: 'x' }] }), /stage "lookup": tools\[0\]: expected a tool/],
    ['two stage tools with one name', invalid(p => { p.stages[1].tools.push(tool('lookup_order')) }), /stage "lookup": tools: two tools are named "lookup_order"/],
    ['a stage tool named like a global tool', invalid(p => { p.stages[1].tools.push(tool('get_time')) }), /stage "lookup": the tool "get_time" is also a global tool/],
    ['two global tools with one name', invalid(p => { p.globalTools.push(tool('get_time')) }), /"support": globalTools: two tools are named "get_time"/],
    ['a stage tool named playbook_transition', invalid(p => { p.stages[0].tools = [tool('playbook_transition')] }), /stage "greet": tools: "playbook_transition" is the built-in transition tool's name/],
    ['no transitions list', invalid(p => { delete p.transitions }), /"support": transitions: expected an array, instead got undefined/],
    ['duplicate transition ids', invalid(p => { p.transitions.push({ ...transition(p, 'found') }) }), /"support": duplicate transition id "found"/],
    ['a transition from an unknown stage', invalid(p => { transition(p, 'found').from = 'search' }), /transition "found": from: expected a stage id or "\*", instead got "search"/],
    ['a transition to an unknown stage', invalid(p => { transition(p, 'found').action = { targetStage: 'done' } }), /transition "found": action.targetStage: expected a stage id, instead got "done"/],
    ['a transition without an action', invalid(p => { delete transition(p, 'found').action }), /transition "found": action: expected \{ targetStage \}/],
    ['action data that would overwrite the engine state', invalid(p => { transition(p, 'found').action.data = { playbook: 1 } }), /transition "found": action.data may not set "playbook"/],
    ['a bad clearHistory', invalid(p => { transition(p, 'found').action.clearHistory = 'yes' }), /transition "found": action: clearHistory: expected a boolean/],
    ['a bad priority', invalid(p => { transition(p, 'found').priority = Number.NaN }), /transition "found": priority: expected a finite number, instead got NaN/],
    ['no condition', invalid(p => { delete transition(p, 'found').condition }), /transition "found": condition: expected a type among tool_call, intent, keyword, llm_decision, max_turns, timeout, dtmf, custom, instead got undefined/],
    ['an unknown condition type', invalid(p => { transition(p, 'found').condition = { type: 'regex' } }), /transition "found": condition: expected a type among .*, instead got "regex"/],
    ['tool_call without toolName', invalid(p => { transition(p, 'found').condition = { type: 'tool_call' } }), /transition "found": condition: tool_call needs toolName \(a tool name\), instead got undefined/],
    ['tool_call on the transition tool', invalid(p => { transition(p, 'found').condition = { type: 'tool_call', toolName: 'playbook_transition' } }), /is an llm_decision condition, not a tool_call/],
    ['intent without a name', invalid(p => { transition(p, 'found').condition = { type: 'intent', intent: '' } }), /intent needs intent \(an intent name\), instead got ""/],
    ['intent with a confidence above 1', invalid(p => { transition(p, 'found').condition = { type: 'intent', intent: 'cancel', confidence: 1.5 } }), /intent needs confidence \(a number from 0 to 1\), instead got 1.5/],
    ['keyword without keywords', invalid(p => { transition(p, 'escape').condition = { type: 'keyword', keywords: [] } }), /transition "escape": condition: keyword needs keywords \(a non-empty array of non-blank strings\), instead got an array/],
    ['keyword with a blank keyword', invalid(p => { transition(p, 'escape').condition = { type: 'keyword', keywords: ['ok', ' '] } }), /keyword needs keywords/],
    ['max_turns with count 0', invalid(p => { transition(p, 'stuck').condition = { type: 'max_turns', count: 0 } }), /transition "stuck": condition: max_turns needs count \(an integer >= 1\), instead got 0/],
    ['max_turns with a fractional count', invalid(p => { transition(p, 'stuck').condition = { type: 'max_turns', count: 1.5 } }), /max_turns needs count/],
    ['timeout without durationMs', invalid(p => { transition(p, 'stuck').condition = { type: 'timeout' } }), /transition "stuck": condition: timeout needs durationMs \(a number of ms > 0\), instead got undefined/],
    ['custom without evaluate', invalid(p => { transition(p, 'stuck').condition = { type: 'custom', evaluate: true } }), /custom needs evaluate \(a function\), instead got true/]
  ]
  for (const [what, input, message] of cases) {
    t.throws(() => validatePlaybook(input), { code: 'LLMRTC_ERR_PLAYBOOK_INVALID', name: 'FastifyError', message }, what)
  }
  t.ok(validatePlaybook(invalid(() => {})).warnings, 'the unchanged fixture stays valid')
})

t.test('an unreachable stage is a warning, not an error', async t => {
  const p = playbook()
  p.stages.push({ id: 'survey', name: 'Survey', systemPrompt: 'Ask for a rating.' })
  p.transitions.push({ id: 'rate', from: 'survey', condition: { type: 'llm_decision' }, action: { targetStage: 'resolve' } })
  t.same(validatePlaybook(p).warnings, ['stage "survey" is unreachable from the initial stage "greet"'])
})

t.test('a "*" transition reaches its target from anywhere, so the target is reachable', async t => {
  const p = playbook()
  delete p.stages[1]!.maxTurns
  p.transitions = p.transitions.filter(x => x.id !== 'stuck')
  t.same(validatePlaybook(p).warnings, [], 'human is reached through the "*" escape only')
  p.transitions = p.transitions.filter(x => x.id !== 'escape')
  t.same(validatePlaybook(p).warnings, ['stage "human" is unreachable from the initial stage "greet"'])
})

t.test('stage limits without a transition to use them, and tool_call conditions on tools nobody offers, are warnings', async t => {
  const p = playbook()
  p.stages[0]!.timeoutMs = 30_000
  p.stages[2]!.maxTurns = 3
  p.transitions.push({ id: 'ghost', from: 'resolve', condition: { type: 'tool_call', toolName: 'refund' }, action: { targetStage: 'human' } })
  p.transitions.push({ id: 'anywhere', from: '*', condition: { type: 'tool_call', toolName: 'cancel_order' }, action: { targetStage: 'human' } })
  p.transitions.push({ id: 'clock', from: 'resolve', condition: { type: 'tool_call', toolName: 'get_time' }, action: { targetStage: 'human' } })
  t.same(validatePlaybook(p).warnings, [
    'stage "greet" has timeoutMs but no timeout transition leaves it: the limit does nothing',
    'stage "resolve" has maxTurns but no max_turns transition leaves it: the limit does nothing',
    'transition "ghost" waits for the tool "refund", which stage "resolve" does not offer',
    'transition "anywhere" waits for the tool "cancel_order", which no stage offers'
  ])
})
