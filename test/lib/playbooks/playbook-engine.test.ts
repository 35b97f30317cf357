import t, { type Test } from 'tap'
import { HookRegistry } from '../../../lib/hooks/hook-registry.js'
import type { Logger } from '../../../lib/logger.js'
import { matchKeyword } from '../../../lib/playbooks/conditions.js'
import { PlaybookEngine, type PlaybookEngineOptions } from '../../../lib/playbooks/playbook-engine.js'
import type { Playbook, Stage, StageChange, Transition, TransitionCondition, TransitionContext } from '../../../lib/playbooks/types.js'
import { validatePlaybook } from '../../../lib/playbooks/validate-playbook.js'
import type { Tool } from '../../../lib/tools/types.js'
import { FakeClock } from '../../helpers/fake-clock.js'

function tool (name: string): Tool {
  return { definition: { name, description: `the ${name} tool`, parameters: { type: 'object', properties: {} } }, handler: () => ({ ok: true }) }
}

function stage (id: string, extra: Partial<Stage> = {}): Stage {
  return { id, name: `The ${id} stage`, systemPrompt: `You are in ${id}.`, ...extra }
}

function transition (id: string, from: string, condition: TransitionCondition, targetStage: string, extra: Partial<Transition> = {}): Transition {
  return { id, from, condition, action: { targetStage }, ...extra }
}

/** greet, lookup and resolve, starting in greet, with the given transitions. */
function book (transitions: Transition[], stages: Stage[] = [stage('greet'), stage('lookup'), stage('resolve')], extra: Partial<Playbook> = {}): Playbook {
  return validatePlaybook({ id: 'support', name: 'Support', initialStage: 'greet', stages, transitions, ...extra }).playbook
}

interface Harness { engine: PlaybookEngine, clock: FakeClock, data: Record<string, unknown>, timed: StageChange[] }

function harness (t: Test, playbook: Playbook, options: Partial<PlaybookEngineOptions> = {}): Harness {
  const clock = new FakeClock()
  const data: Record<string, unknown> = {}
  const timed: StageChange[] = []
  const engine = new PlaybookEngine({ playbook, sessionId: 's1', data, clock, onTimer: change => { timed.push(change) }, ...options })
  t.teardown(() => { engine.close() })
  return { engine, clock, data, timed }
}

function recordingHooks (calls: string[]): HookRegistry {
  const noop = (): void => {}
  const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => log }
  return new HookRegistry(log)
    .addHook('onStageExit', (sessionId, stageId, ctx) => { calls.push(`onStageExit ${sessionId} ${stageId} ${ctx.stageId}`) })
    .addHook('onStageEnter', (sessionId, stageId, ctx) => { calls.push(`onStageEnter ${sessionId} ${stageId} ${ctx.stageId}`) })
    .addHook('onTransition', (sessionId, change) => { calls.push(`onTransition ${sessionId} ${change.from}->${change.to} ${change.reason}`) })
    .addHook('onPlaybookComplete', (sessionId, playbookId, finalStageId) => { calls.push(`onPlaybookComplete ${sessionId} ${playbookId} ${finalStageId}`) })
}

t.test('start enters the initial stage once, saves the state in data.playbook and runs onEnter', async t => {
  const entered: string[] = []
  const playbook = book([transition('next', 'greet', { type: 'llm_decision' }, 'lookup')], [
    stage('greet', { onEnter: ctx => { entered.push(`${ctx.sessionId} ${ctx.stageId}`) } }), stage('lookup'), stage('resolve')
  ])
  const { engine, clock, data } = harness(t, playbook)
  await engine.start()
  await engine.start()
  t.same(entered, ['s1 greet'])
  t.equal(engine.stage.id, 'greet')
  t.equal(engine.playbook, playbook)
  t.same(data.playbook, { id: 'support', stageId: 'greet', enteredAt: clock.now(), turnsInStage: 0 })
  t.same(engine.state, data.playbook)
  t.notOk(engine.completed)
})

t.test('the stage decides the tools, prompt, LLM settings, tool choice and two-phase execution', async t => {
  const playbook = book([
    transition('to-lookup', 'greet', { type: 'llm_decision' }, 'lookup'),
    transition('to-resolve', 'greet', { type: 'llm_decision' }, 'resolve', { priority: 1 }),
    transition('found', 'lookup', { type: 'tool_call', toolName: 'lookup_order' }, 'resolve')
  ], [
    stage('greet', { systemPrompt: '', llmConfig: { temperature: 0.9, maxTokens: undefined } }),
    stage('lookup', { description: 'Find the order by its number', tools: [tool('lookup_order')], toolChoice: 'required', twoPhaseExecution: false }),
    stage('resolve', { name: 'Resolution', description: 'Solve the problem' })
  ], { globalTools: [tool('get_time')], globalSystemPrompt: 'Be brief.', defaultLLMConfig: { model: 'small', temperature: 0.2, maxTokens: 200 } })
  const { engine } = harness(t, playbook)
  await engine.start()

  t.same(engine.tools().map(x => x.definition.name), ['get_time'])
  t.equal(engine.systemPrompt('You are a voice agent.'), 'You are a voice agent.\n\nBe brief.', 'the empty stage prompt is skipped')
  t.same(engine.llmConfig(), { model: 'small', temperature: 0.9, maxTokens: 200 }, 'an undefined stage value does not erase the default')
  t.equal(engine.toolChoice(), undefined)
  t.equal(engine.twoPhase(), true, 'two-phase execution is on by default')
  const definitions = engine.toolDefinitions()
  t.same(definitions.map(d => d.name), ['get_time', 'playbook_transition'])
  const transitionTool = definitions[1]!
  t.same(transitionTool.parameters, {
    type: 'object',
    properties: {
      targetStage: { type: 'string', enum: ['resolve', 'lookup'], description: 'The id of the stage to move to.' },
      reason: { type: 'string', description: 'Why, in one short sentence.' }
    },
    required: ['targetStage', 'reason'],
    additionalProperties: false
  })
  t.match(transitionTool.description, /- resolve \(Resolution\): Solve the problem\n- lookup \(The lookup stage\): Find the order by its number$/)
  t.ok(engine.isTransitionTool('playbook_transition'))
  t.notOk(engine.isTransitionTool('lookup_order'))

  const config = engine.llmConfig()
  config.temperature = 0
  t.equal(playbook.defaultLLMConfig?.temperature, 0.2, 'llmConfig() is a copy')

  await engine.apply({ from: 'greet', to: 'lookup', transitionId: 'to-lookup', reason: 'test', clearHistory: false })
  t.same(engine.tools().map(x => x.definition.name), ['lookup_order', 'get_time'])
  t.same(engine.toolDefinitions().map(d => d.name), ['lookup_order', 'get_time'], 'no transition tool without llm_decision transitions')
  t.equal(engine.systemPrompt(''), 'Be brief.\n\nYou are in lookup.')
  t.same(engine.llmConfig(), { model: 'small', temperature: 0.2, maxTokens: 200 })
  t.equal(engine.toolChoice(), 'required')
  t.equal(engine.twoPhase(), false)
})

t.test('a successful tool call fires its tool_call transition; a failed one, another tool or the transition tool do not', async t => {
  const playbook = book([transition('found', 'greet', { type: 'tool_call', toolName: 'lookup_order' }, 'resolve')], [stage('greet', { tools: [tool('lookup_order'), tool('other')] }), stage('resolve')])
  const { engine } = harness(t, playbook)
  await engine.start()
  t.equal(await engine.afterToolCall({ name: 'lookup_order', arguments: {}, error: 'Order not found' }), undefined)
  t.equal(await engine.afterToolCall({ name: 'other', arguments: {}, result: 1 }), undefined)
  t.equal(await engine.afterToolCall({ name: 'playbook_transition', arguments: {} }), undefined)
  t.same(await engine.afterToolCall({ name: 'lookup_order', arguments: { orderId: '42' }, result: { status: 'shipped' } }),
    { from: 'greet', to: 'resolve', transitionId: 'found', reason: 'tool_call: lookup_order', clearHistory: false })
  t.equal(await engine.afterTurn({ userText: 'x', assistantText: 'y' }), undefined, 'tool_call is not evaluated after a turn')
  t.equal(engine.stage.id, 'greet', 'a change is returned, not applied')
})

t.test('a keyword in the assistant reply fires, case-insensitively and as whole words or phrases', async t => {
  const playbook = book([transition('refund', 'greet', { type: 'keyword', keywords: ['refund', 'speak to a human'] }, 'resolve')], [stage('greet'), stage('resolve')])
  const { engine } = harness(t, playbook)
  await engine.start()
  t.equal(await engine.afterTurn({ userText: 'I want a refund', assistantText: 'Let me check.' }), undefined, 'the user text is not searched')
  t.equal(await engine.afterTurn({ userText: '', assistantText: 'It was refunded already.' }), undefined, 'part of a word does not match')
  t.same(await engine.afterTurn({ userText: '', assistantText: 'You will get a Refund!' }),
    { from: 'greet', to: 'resolve', transitionId: 'refund', reason: 'keyword: "refund"', clearHistory: false })
  t.equal((await engine.afterTurn({ assistantText: 'You can SPEAK to a\nhuman now.' }))?.reason, 'keyword: "speak to a human"')
  t.equal(await engine.afterToolCall({ name: 'x', arguments: {}, result: 'refund' }), undefined, 'keywords are only checked after a turn')

  t.equal(matchKeyword(['café'], 'Un café, merci'), 'café')
  t.equal(matchKeyword(['café'], 'cafés'), undefined, 'letters of any script are word characters')
  t.equal(matchKeyword(['c++ (beta)'], 'Try C++ (beta) today'), 'c++ (beta)', 'regular expression characters are literal')
  t.equal(matchKeyword(['order_id'], 'the order_ids'), undefined)
})

t.test('the intent detector names the intent of the user text; confidence below the minimum does not fire', async t => {
  const seen: string[] = []
  let answer: { name: string, confidence: number } | undefined = { name: 'cancel_order', confidence: 0.5 }
  const playbook = book([transition('cancel', 'greet', { type: 'intent', intent: 'Cancel_Order', confidence: 0.8 }, 'resolve')], [stage('greet'), stage('resolve')])
  const { engine } = harness(t, playbook, { intentDetector: async text => { seen.push(text); return answer } })
  await engine.start()
  t.equal(await engine.afterTurn({ userText: 'maybe cancel it', assistantText: 'OK' }), undefined)
  answer = { name: 'cancel_order', confidence: 0.923 }
  t.same(await engine.afterTurn({ userText: 'cancel my order', assistantText: 'OK' }),
    { from: 'greet', to: 'resolve', transitionId: 'cancel', reason: 'intent: cancel_order (0.92)', clearHistory: false })
  answer = { name: 'track_order', confidence: 1 }
  t.equal(await engine.afterTurn({ userText: 'where is it', assistantText: 'OK' }), undefined, 'another intent does not fire')
  await engine.afterTurn({ userText: '  ', assistantText: 'OK' })
  t.same(seen, ['maybe cancel it', 'cancel my order', 'where is it'], 'not called for an empty transcript')

  t.equal((await engine.afterToolCall({ name: 'classify', arguments: {} }, { intent: { name: 'cancel_order', confidence: 0.9 } }))?.reason,
    'intent: cancel_order (0.90)', 'an intent the caller knows is used after a tool call')
  t.equal((await engine.afterTurn({ userText: 'x' }, { intent: { name: 'cancel_order', confidence: 1 } }))?.reason, 'intent: cancel_order (1.00)')
  t.equal(seen.length, 3, 'the detector is not asked when the caller gave the intent')
})

t.test('the intent detector is not asked in a stage no intent transition leaves, and its failure is a playbook error', async t => {
  let calls = 0
  const playbook = book([
    transition('next', 'greet', { type: 'keyword', keywords: ['next'] }, 'lookup'),
    transition('cancel', 'lookup', { type: 'intent', intent: 'cancel' }, 'resolve')
  ])
  const { engine } = harness(t, playbook, { intentDetector: () => { calls++; throw new Error('classifier down') } })
  await engine.start()
  await engine.afterTurn({ userText: 'hello', assistantText: 'hi' })
  t.equal(calls, 0)
  await engine.apply((await engine.afterTurn({ userText: 'go', assistantText: 'next' }))!)
  await t.rejects(engine.afterTurn({ userText: 'cancel', assistantText: 'ok' }), { code: 'LLMRTC_ERR_PLAYBOOK', message: 'Playbook "support" failed: the intent detector threw', cause: { message: 'classifier down' } })
  t.equal(calls, 1)
})

t.test('max_turns fires once the turns in the stage reach the count, or the stage maxTurns when smaller', async t => {
  const playbook = book([
    transition('slow', 'greet', { type: 'max_turns', count: 3 }, 'lookup'),
    transition('stuck', '*', { type: 'max_turns', count: 10 }, 'resolve')
  ], [stage('greet'), stage('lookup', { maxTurns: 2 }), stage('resolve')])
  const { engine } = harness(t, playbook)
  await engine.start()
  t.equal(await engine.afterTurn({ userText: 'a', assistantText: 'b' }), undefined)
  t.equal(await engine.afterTurn({ userText: 'a', assistantText: 'b' }), undefined)
  t.equal(engine.state.turnsInStage, 2)
  const change = await engine.afterTurn({ userText: 'a', assistantText: 'b' })
  t.same(change, { from: 'greet', to: 'lookup', transitionId: 'slow', reason: 'max_turns: 3', clearHistory: false })
  t.equal(await engine.afterToolCall({ name: 'x', arguments: {} }), undefined, 'turns are counted and checked after turns only')
  await engine.apply(change!)
  t.equal(engine.state.turnsInStage, 0, 'the count restarts in the new stage')
  t.equal(await engine.afterTurn({ userText: 'a', assistantText: 'b' }), undefined)
  t.equal((await engine.afterTurn({ userText: 'a', assistantText: 'b' }))?.reason, 'max_turns: 2', 'the stage limit is reached before the count of 10')
})

t.test('a custom condition sees the context, runs after tool calls and turns, and its throw is a playbook error', async t => {
  const seen: TransitionContext[] = []
  let fire = false
  const playbook = book([transition('vip', 'greet', { type: 'custom', evaluate: ctx => { seen.push(ctx); return fire } }, 'resolve', { action: { targetStage: 'resolve', clearHistory: true } })], [stage('greet'), stage('resolve')])
  const { engine, clock, data } = harness(t, playbook)
  await engine.start()
  data.tier = 'gold'
  clock.advance(1500)
  const history = [{ role: 'user' as const, content: 'hi' }]
  t.equal(await engine.afterToolCall({ name: 'lookup', arguments: { id: 1 }, error: 'boom' }, { history }), undefined)
  t.equal(await engine.afterTurn({ userText: 'hello', assistantText: 'hi there' }), undefined)
  t.match(seen[0], { stageId: 'greet', turnsInStage: 0, timeInStageMs: 1500, toolCall: { name: 'lookup', arguments: { id: 1 }, error: 'boom' }, data: { tier: 'gold' }, history })
  t.match(seen[1], { stageId: 'greet', turnsInStage: 1, userText: 'hello', assistantText: 'hi there', history: [] })
  t.equal(seen[1]!.toolCall, undefined)
  fire = true
  t.same(await engine.afterTurn({ userText: '', assistantText: '' }), { from: 'greet', to: 'resolve', transitionId: 'vip', reason: 'custom: vip', clearHistory: true })

  const broken = harness(t, book([transition('bad', 'greet', { type: 'custom', evaluate: () => { throw new Error('secret detail') } }, 'resolve')], [stage('greet'), stage('resolve')]))
  await broken.engine.start()
  const error = await broken.engine.afterTurn({ userText: '', assistantText: '' }).catch((err: unknown) => err)
  t.match(error, { code: 'LLMRTC_ERR_PLAYBOOK', message: 'Playbook "support" failed: the custom condition of transition "bad" threw', cause: { message: 'secret detail' } })
  t.notMatch((error as Error).message, /secret/, 'the callback error stays in cause, out of the client message')
})

t.test('the highest priority wins, equal priorities keep declaration order, and lower ones are not evaluated', async t => {
  const evaluated: string[] = []
  const custom = (id: string): TransitionCondition => ({ type: 'custom', evaluate: () => { evaluated.push(id); return true } })
  const playbook = book([
    transition('first', 'greet', custom('first'), 'lookup'),
    transition('keyword', 'greet', { type: 'keyword', keywords: ['done'] }, 'resolve', { priority: 5 }),
    transition('second', 'greet', custom('second'), 'resolve'),
    transition('urgent', '*', custom('urgent'), 'resolve', { priority: 10 })
  ])
  const { engine } = harness(t, playbook)
  await engine.start()
  t.equal((await engine.afterTurn({ assistantText: 'done' }))?.transitionId, 'urgent')
  t.same(evaluated, ['urgent'])
  t.equal((await engine.afterToolCall({ name: 'x', arguments: {} }))?.transitionId, 'urgent')

  const ties = harness(t, book([
    transition('first', 'greet', custom('first'), 'lookup'),
    transition('keyword', 'greet', { type: 'keyword', keywords: ['done'] }, 'resolve', { priority: 5 }),
    transition('second', 'greet', custom('second'), 'resolve')
  ]))
  await ties.engine.start()
  t.equal((await ties.engine.afterTurn({ assistantText: 'done' }))?.transitionId, 'keyword')
  t.equal((await ties.engine.afterTurn({ assistantText: 'not yet' }))?.transitionId, 'first')
})

t.test('a "*" transition leaves every stage but its own target, and a stage nothing leaves is terminal', async t => {
  const playbook = book([
    transition('next', 'greet', { type: 'keyword', keywords: ['next'] }, 'lookup'),
    transition('bye', '*', { type: 'keyword', keywords: ['goodbye'] }, 'resolve')
  ])
  const { engine } = harness(t, playbook)
  await engine.start()
  t.equal((await engine.afterTurn({ assistantText: 'goodbye' }))?.to, 'resolve', 'from greet')
  await engine.apply((await engine.afterTurn({ assistantText: 'next' }))!)
  t.same(await engine.afterTurn({ assistantText: 'Goodbye then' }), { from: 'lookup', to: 'resolve', transitionId: 'bye', reason: 'keyword: "goodbye"', clearHistory: false }, 'from lookup')
  await engine.apply((await engine.afterTurn({ assistantText: 'goodbye' }))!)
  t.equal(engine.stage.id, 'resolve')
  t.equal(await engine.afterTurn({ assistantText: 'goodbye' }), undefined, 'not from resolve into itself')
  t.ok(engine.completed)
})

t.test('the LLM may only move to the stages its llm_decision transitions allow', async t => {
  const playbook = book([
    transition('to-lookup', 'greet', { type: 'llm_decision' }, 'lookup', { action: { targetStage: 'lookup', clearHistory: true } }),
    transition('to-lookup-low', 'greet', { type: 'llm_decision' }, 'lookup', { priority: -1 }),
    transition('anywhere', '*', { type: 'llm_decision' }, 'human'),
    transition('found', 'greet', { type: 'tool_call', toolName: 'x' }, 'resolve')
  ], [stage('greet', { tools: [tool('x')] }), stage('lookup'), stage('resolve'), stage('human')])
  const { engine } = harness(t, playbook)
  await engine.start()
  t.same(engine.requestTransition({ targetStage: 'lookup', reason: ' The caller gave an order number. ' }),
    { change: { from: 'greet', to: 'lookup', transitionId: 'to-lookup', reason: 'llm_decision: The caller gave an order number.', clearHistory: true } })
  t.same(engine.requestTransition('{"targetStage":"human","reason":"asked for a person"}'),
    { change: { from: 'greet', to: 'human', transitionId: 'anywhere', reason: 'llm_decision: asked for a person', clearHistory: false } }, 'raw JSON arguments')
  t.same(engine.requestTransition({ targetStage: 'resolve', reason: 'skip ahead' }),
    { error: '"resolve" is not a stage you can move to from here: choose one of lookup, human.' }, 'only tool_call leads to resolve')
  t.same(engine.requestTransition({ targetStage: 'nowhere', reason: 'x' }), { error: '"nowhere" is not a stage you can move to from here: choose one of lookup, human.' })
  t.match(engine.requestTransition({ targetStage: 'lookup' }), { error: /reason must say why/ })
  t.match(engine.requestTransition({ reason: 'x' }), { error: /targetStage must be the id of a stage/ })
  t.match(engine.requestTransition('{not json'), { error: /not valid JSON/ })
  t.match(engine.requestTransition(['lookup']), { error: /Expected an object/ })
  t.equal(engine.stage.id, 'greet', 'requesting does not apply')

  await engine.apply(engine.requestTransition({ targetStage: 'human', reason: 'x' }).change!)
  t.same(engine.requestTransition({ targetStage: 'lookup', reason: 'back' }), { error: 'No stage change is possible from the stage "human".' })
  t.same(engine.toolDefinitions(), [])
})

t.test('apply moves the stage, merges action data, resets the counters, and drops a change that lost a race', async t => {
  const playbook = book([
    transition('found', 'greet', { type: 'keyword', keywords: ['found'] }, 'lookup', { action: { targetStage: 'lookup', clearHistory: true, data: { orderId: '42', step: 2 } } }),
    transition('late', 'greet', { type: 'keyword', keywords: ['late'] }, 'resolve')
  ])
  const { engine, clock, data } = harness(t, playbook)
  data.step = 1
  data.name = 'Ada'
  await engine.start()
  await engine.afterTurn({ assistantText: 'hm' })
  clock.advance(5000)
  const change = (await engine.afterTurn({ assistantText: 'found it' }))!
  const late = (await engine.afterTurn({ assistantText: 'late' }))!
  t.equal(change.clearHistory, true, 'the caller learns to clear the history')
  t.equal(await engine.apply(change), true)
  t.equal(engine.stage.id, 'lookup')
  t.same(data, { step: 2, name: 'Ada', orderId: '42', playbook: { id: 'support', stageId: 'lookup', enteredAt: clock.now(), turnsInStage: 0 } })
  t.equal(await engine.apply(late), false, 'its stage was left already')
  t.equal(engine.stage.id, 'lookup')
  await t.rejects(engine.apply({ from: 'lookup', to: 'mars', transitionId: 'x', reason: 'x', clearHistory: false }), { code: 'LLMRTC_ERR_PLAYBOOK' })
})

t.test('changes are applied one at a time: the second of two concurrent applies of one change is dropped', async t => {
  const exits: string[] = []
  const playbook = book([transition('next', 'greet', { type: 'llm_decision' }, 'lookup')], [
    stage('greet', { onExit: async ctx => { await new Promise(resolve => setImmediate(resolve)); exits.push(ctx.stageId) } }), stage('lookup')
  ])
  const { engine } = harness(t, playbook)
  await engine.start()
  const change = engine.requestTransition({ targetStage: 'lookup', reason: 'x' }).change!
  t.same(await Promise.all([engine.apply(change), engine.apply(change)]), [true, false])
  t.same(exits, ['greet'])
})

t.test('hooks run in order: onExit, onStageExit, onEnter, onStageEnter, onTransition, onPlaybookComplete', async t => {
  const calls: string[] = []
  const playbook = book([transition('done', 'greet', { type: 'keyword', keywords: ['bye'] }, 'resolve')], [
    stage('greet', { onEnter: () => { calls.push('onEnter greet') }, onExit: ctx => { calls.push(`onExit ${ctx.stageId}`) } }),
    stage('resolve', { onEnter: ctx => { calls.push(`onEnter ${ctx.stageId} ${ctx.sessionId}`) } })
  ])
  const { engine } = harness(t, playbook, { hooks: recordingHooks(calls) })
  await engine.start()
  t.same(calls, ['onEnter greet', 'onStageEnter s1 greet greet'], 'start enters without a transition')
  calls.length = 0
  await engine.apply((await engine.afterTurn({ assistantText: 'bye' }))!)
  t.same(calls, [
    'onExit greet',
    'onStageExit s1 greet greet',
    'onEnter resolve s1',
    'onStageEnter s1 resolve resolve',
    'onTransition s1 greet->resolve keyword: "bye"',
    'onPlaybookComplete s1 support resolve'
  ])
  t.ok(engine.completed)
})

t.test('a playbook whose initial stage is terminal completes on start', async t => {
  const calls: string[] = []
  const { engine } = harness(t, book([], [stage('greet')]), { hooks: recordingHooks(calls) })
  await engine.start()
  t.same(calls, ['onStageEnter s1 greet greet', 'onPlaybookComplete s1 support greet'])
  t.ok(engine.completed)
})

t.test('an onExit error aborts the move; an onEnter error comes after the move and its hooks', async t => {
  const calls: string[] = []
  let exitFails = true
  const playbook = book([transition('next', 'greet', { type: 'llm_decision' }, 'lookup', { action: { targetStage: 'lookup', data: { merged: true } } })], [
    stage('greet', { onExit: () => { if (exitFails) throw new Error('exit bug') } }),
    stage('lookup', { onEnter: () => { throw new Error('enter bug') } })
  ])
  const { engine, data } = harness(t, playbook, { hooks: recordingHooks(calls) })
  await engine.start()
  calls.length = 0
  const change = engine.requestTransition({ targetStage: 'lookup', reason: 'x' }).change!
  await t.rejects(engine.apply(change), { code: 'LLMRTC_ERR_PLAYBOOK', message: 'Playbook "support" failed: the onExit of stage "greet" threw; the session stays in it', cause: { message: 'exit bug' } })
  t.equal(engine.stage.id, 'greet')
  t.equal(data.merged, undefined)
  t.same(calls, [])

  exitFails = false
  await t.rejects(engine.apply(change), { code: 'LLMRTC_ERR_PLAYBOOK', message: 'Playbook "support" failed: the onEnter of stage "lookup" threw', cause: { message: 'enter bug' } })
  t.equal(engine.stage.id, 'lookup', 'the move stands')
  t.equal(data.merged, true)
  t.same(calls, ['onStageExit s1 greet greet', 'onStageEnter s1 lookup lookup', 'onTransition s1 greet->lookup llm_decision: x', 'onPlaybookComplete s1 support lookup'])

  const failingStart = harness(t, book([], [stage('greet', { onEnter: () => { throw new Error('start bug') } })]))
  await t.rejects(failingStart.engine.start(), { code: 'LLMRTC_ERR_PLAYBOOK', message: /the onEnter of stage "greet" threw/ })
  t.equal(failingStart.engine.stage.id, 'greet')
  t.same(failingStart.data.playbook, failingStart.engine.state)
})

t.test('a timeout fires by itself, without a turn, and tells onTimer', async t => {
  const playbook = book([transition('idle', 'greet', { type: 'timeout', durationMs: 30_000 }, 'lookup', { action: { targetStage: 'lookup', clearHistory: true } })])
  const { engine, clock, timed } = harness(t, playbook)
  await engine.start()
  clock.advance(29_999)
  t.same(timed, [])
  t.equal(await engine.afterTurn({ assistantText: 'x' }), undefined, 'turns do not check timeouts')
  clock.advance(1)
  t.same(timed, [{ from: 'greet', to: 'lookup', transitionId: 'idle', reason: 'timeout: 30000 ms', clearHistory: true }])
  t.equal(engine.stage.id, 'greet', 'the caller applies it')
  t.equal(clock.pending, 0)
})

t.test('timers are re-armed on a stage change and cleared on close', async t => {
  const playbook = book([
    transition('idle', 'greet', { type: 'timeout', durationMs: 30_000 }, 'resolve'),
    transition('next', 'greet', { type: 'keyword', keywords: ['next'] }, 'lookup'),
    transition('slow', 'lookup', { type: 'timeout', durationMs: 60_000 }, 'resolve')
  ], [stage('greet'), stage('lookup', { timeoutMs: 10_000 }), stage('resolve')])
  const { engine, clock, timed } = harness(t, playbook)
  await engine.start()
  clock.advance(20_000)
  await engine.apply((await engine.afterTurn({ assistantText: 'next' }))!)
  t.equal(clock.pending, 1, 'the old stage timer was replaced')
  clock.advance(9_999)
  t.same(timed, [], 'greet\'s 30 s passed, but greet was left')
  clock.advance(1)
  t.same(timed.map(c => `${c.from} ${c.transitionId} ${c.reason}`), ['lookup slow timeout: 10000 ms'], 'the stage timeoutMs is shorter than the transition\'s')
  engine.close()
  engine.close()
  t.equal(clock.pending, 0)
  t.equal(await engine.afterTurn({ assistantText: 'next' }), undefined, 'a closed engine evaluates nothing')
  t.equal(await engine.apply(timed[0]!), false, 'nor applies anything')

  const again = harness(t, playbook)
  await again.engine.start()
  t.equal(again.clock.pending, 1)
  again.engine.close()
  t.equal(again.clock.pending, 0)
  again.clock.advance(60_000)
  t.same(again.timed, [])
})

t.test('a timeout the caller does not apply is followed by the next one due', async t => {
  const playbook = book([
    transition('nudge', 'greet', { type: 'timeout', durationMs: 10_000 }, 'lookup'),
    transition('give-up', 'greet', { type: 'timeout', durationMs: 20_000 }, 'resolve', { priority: 1 })
  ])
  const { engine, clock, timed } = harness(t, playbook)
  await engine.start()
  clock.advance(10_000)
  clock.advance(10_000)
  clock.advance(60_000)
  t.same(timed.map(c => c.transitionId), ['nudge', 'give-up'])
})

t.test('without onTimer no timer is armed, and an onTimer that throws is logged', async t => {
  const playbook = book([transition('idle', 'greet', { type: 'timeout', durationMs: 1000 }, 'lookup')])
  const silent = harness(t, playbook, { onTimer: undefined })
  await silent.engine.start()
  t.equal(silent.clock.pending, 0)

  const errors: unknown[] = []
  const noop = (): void => {}
  const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: obj => { errors.push(obj) }, child: () => log }
  const throwing = harness(t, playbook, { log, onTimer: () => { throw new Error('caller bug') } })
  await throwing.engine.start()
  throwing.clock.advance(1000)
  t.match(errors, [{ err: { message: 'caller bug' }, playbookId: 'support', transitionId: 'idle' }])
})

t.test('a session resumes from data.playbook: same stage, turns and time, without entering it again', async t => {
  const calls: string[] = []
  const playbook = book([
    transition('next', 'greet', { type: 'llm_decision' }, 'lookup'),
    transition('stuck', 'lookup', { type: 'max_turns', count: 3 }, 'resolve'),
    transition('idle', 'lookup', { type: 'timeout', durationMs: 30_000 }, 'resolve')
  ], [stage('greet'), stage('lookup', { onEnter: () => { calls.push('onEnter lookup') } }), stage('resolve')])
  const clock = new FakeClock()
  const timed: StageChange[] = []
  const saved = { id: 'support', stageId: 'lookup', enteredAt: clock.now() - 20_000, turnsInStage: 2 }
  const data: Record<string, unknown> = { playbook: { ...saved } }
  const engine = new PlaybookEngine({ playbook, sessionId: 's1', data, clock, hooks: recordingHooks(calls), onTimer: change => { timed.push(change) } })
  t.teardown(() => { engine.close() })
  await engine.start()
  t.equal(engine.stage.id, 'lookup')
  t.same(engine.state, saved)
  t.same(calls, [], 'no onEnter and no hooks on a restore')
  clock.advance(9_999)
  t.same(timed, [])
  clock.advance(1)
  t.same(timed.map(c => c.reason), ['timeout: 30000 ms'], 'the timer counts from the original entry')
  t.equal((await engine.afterTurn({ assistantText: 'x' }))?.reason, 'max_turns: 3', 'the turns count on')

  for (const stale of [{ ...saved, id: 'sales' }, { ...saved, stageId: 'removed' }, { ...saved, turnsInStage: 'two' }, 'lookup']) {
    const fresh = harness(t, playbook, { data: { playbook: stale } })
    await fresh.engine.start()
    t.equal(fresh.engine.stage.id, 'greet', `${JSON.stringify(stale)} is not restored`)
    t.match(fresh.engine.state, { id: 'support', stageId: 'greet', turnsInStage: 0 })
  }
})

t.test('a timeout already overdue when a session resumes fires at once, as the highest-priority one due', async t => {
  const playbook = book([
    transition('nudge', 'greet', { type: 'timeout', durationMs: 10_000 }, 'lookup', { priority: 1 }),
    transition('give-up', 'greet', { type: 'timeout', durationMs: 20_000 }, 'resolve')
  ])
  const clock = new FakeClock()
  const timed: StageChange[] = []
  const engine = new PlaybookEngine({
    playbook,
    sessionId: 's1',
    clock,
    onTimer: change => { timed.push(change) },
    data: { playbook: { id: 'support', stageId: 'greet', enteredAt: clock.now() - 25_000, turnsInStage: 0 } }
  })
  t.teardown(() => { engine.close() })
  await engine.start()
  clock.advance(0)
  t.same(timed.map(c => c.transitionId), ['nudge'])
  t.equal(clock.pending, 0, 'both deadlines are behind; nothing is left to arm')
})
