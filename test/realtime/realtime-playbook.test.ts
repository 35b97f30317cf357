import t from 'tap'
import { Type } from '@sinclair/typebox'
import { systemClock } from '../../lib/clock.js'
import { HookRegistry } from '../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../lib/logger.js'
import type { Playbook } from '../../lib/playbooks/types.js'
import { RealtimePlaybook } from '../../lib/realtime/playbook-bridge.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { mockFor, openOn, relayOn } from './relay-harness.js'

const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const cert = tls as NonNullable<typeof tls>

const lookupAccount = defineTool({ name: 'lookup_account', description: 'Finds the account', parameters: Type.Object({ email: Type.String() }) }, () => ({ id: 'acc-1' }))
const refund = defineTool({ name: 'refund', description: 'Refunds an order', parameters: Type.Object({ order: Type.String() }) }, () => ({ refunded: true }))
const weather = defineTool({ name: 'get_weather', description: 'Weather of a city', parameters: Type.Object({ city: Type.String() }) }, () => ({ sunny: true }))

const support: Playbook = {
  id: 'support',
  name: 'Support',
  initialStage: 'greet',
  globalSystemPrompt: 'You work for Acme.',
  stages: [
    { id: 'greet', name: 'Greeting', systemPrompt: 'Greet the user and find their account.', tools: [lookupAccount] },
    { id: 'billing', name: 'Billing', description: 'Bills and refunds', systemPrompt: 'Handle the billing question.', tools: [refund] },
    { id: 'bye', name: 'Goodbye', systemPrompt: 'Say goodbye.' }
  ],
  transitions: [
    { id: 'to-billing', from: 'greet', condition: { type: 'llm_decision' }, action: { targetStage: 'billing' } },
    { id: 'refunded', from: 'billing', condition: { type: 'tool_call', toolName: 'refund' }, action: { targetStage: 'bye', clearHistory: true } },
    { id: 'said-bye', from: 'greet', condition: { type: 'keyword', keywords: ['goodbye'] }, action: { targetStage: 'bye' } }
  ]
}

async function playbookFor (data: Record<string, unknown>, hooks: HookRegistry): Promise<RealtimePlaybook> {
  const playbook = new RealtimePlaybook({ playbook: support, sessionId: 's1', data, instructions: 'Be brief.', serverTools: [weather.definition], hooks, clock: systemClock, log: silentLogger })
  await playbook.start()
  return playbook
}

function recordHooks (): { hooks: HookRegistry, fired: string[] } {
  const fired: string[] = []
  const hooks = new HookRegistry(silentLogger)
    .addHook('onStageEnter', (_s, stageId) => { fired.push(`enter ${stageId}`) })
    .addHook('onStageExit', (_s, stageId) => { fired.push(`exit ${stageId}`) })
    .addHook('onTransition', (_s, change) => { fired.push(`transition ${change.transitionId}`) })
    .addHook('onPlaybookComplete', (_s, _p, stageId) => { fired.push(`complete ${stageId}`) })
  return { hooks, fired }
}

t.test('the session opens with the first stage\'s instructions and tools, the transition tool among them', async t => {
  const mock = await mockFor(t, cert)
  const { hooks, fired } = recordHooks()
  const data: Record<string, unknown> = {}
  const playbook = await playbookFor(data, hooks)
  t.teardown(() => { playbook.close() })
  const setup = playbook.current()
  const session = await openOn(mock, setup)
  t.teardown(() => { session.close() })
  const update = await mock.waitFor('session.update') as { session: { instructions: string, tools: Array<{ name: string }> } }
  t.equal(update.session.instructions, 'Be brief.\n\nYou work for Acme.\n\nGreet the user and find their account.')
  t.same(update.session.tools.map(tool => tool.name), ['get_weather', 'lookup_account', 'playbook_transition'])
  t.same(fired, ['enter greet'], 'the initial stage was entered')
  t.match(data.playbook, { id: 'support', stageId: 'greet' })
})

t.test('the model\'s transition call: session.update with the next stage, stage-change, then its output and the next response', async t => {
  const mock = await mockFor(t, cert)
  mock.script(
    { toolCall: { name: 'playbook_transition', arguments: '{"targetStage":"billing","reason":"the user asks about a bill"}' } },
    { transcript: 'Let us look at your bill.', audioMs: 200 }
  )
  const { hooks, fired } = recordHooks()
  const tools: string[] = []
  hooks.addHook('onToolStart', (ctx, call) => { tools.push(`start ${call.name} ${ctx.turnId.startsWith('resp_') ? 'resp' : ctx.turnId}`) })
  hooks.addHook('onToolEnd', (_ctx, result) => { tools.push(`end ${result.name}`) })
  const playbook = await playbookFor({}, hooks)
  const h = relayOn(t, await openOn(mock, playbook.current()), { playbook, hooks })
  h.relay.sendText('I have a question about my bill.')
  t.same(await h.next('stage-change'), { type: 'stage-change', from: 'greet', to: 'billing', reason: 'llm_decision: the user asks about a bill' })
  const update = await mock.waitFor('session.update', 1) as { session: { instructions: string, tools: Array<{ name: string }>, tool_choice: string } }
  t.equal(update.session.instructions, 'Be brief.\n\nYou work for Acme.\n\nHandle the billing question.')
  t.same(update.session.tools.map(tool => tool.name), ['get_weather', 'refund'], 'the billing stage\'s tools; no transition leaves it by the model\'s choice')
  t.equal(update.session.tool_choice, 'auto')
  await mock.waitFor('response.create', 1)
  const types = mock.received.map(e => e.type === 'conversation.item.create' ? `item ${(e.item as { type: string }).type}` : e.type)
  t.same(types, ['session.update', 'item message', 'response.create', 'session.update', 'item function_call_output', 'response.create'],
    'the new stage reached the model before the call\'s output and the next response')
  t.match(mock.received.find(e => e.type === 'conversation.item.create' && (e.item as { type: string }).type === 'function_call_output'), { item: { output: '{"result":{"movedTo":"billing"}}' } })
  t.match(h.messages.find(m => m.type === 'tool-call-end'), { result: { movedTo: 'billing' } })
  t.same(fired, ['enter greet', 'exit greet', 'enter billing', 'transition to-billing'])
  t.same(tools, ['start playbook_transition resp', 'end playbook_transition'], 'tool hooks fire with the response as the turn')
  t.equal(playbook.engine.stage.id, 'billing')
})

t.test('a transition the model may not take is refused to it, and nothing changes', async t => {
  const mock = await mockFor(t, cert)
  mock.script({ toolCall: { name: 'playbook_transition', arguments: '{"targetStage":"bye","reason":"done"}' } }, { transcript: 'Sorry.', audioMs: 100 })
  const playbook = await playbookFor({}, new HookRegistry(silentLogger))
  const h = relayOn(t, await openOn(mock, playbook.current()), { playbook })
  h.relay.sendText('Bye.')
  const output = await mock.waitFor('conversation.item.create', 1) as { item: { output: string } }
  t.match(JSON.parse(output.item.output), { error: /not a stage you can move to from here: choose one of billing/ })
  await mock.waitFor('response.create', 1)
  t.equal(mock.received.filter(e => e.type === 'session.update').length, 1, 'no session.update')
  t.notOk(h.messages.some(m => m.type === 'stage-change'))
  t.equal(playbook.engine.stage.id, 'greet')
})

t.test('a tool_call transition moves on after the stage\'s tool ran, and clears the mirrored history', async t => {
  const mock = await mockFor(t, cert)
  mock.script({ toolCall: { name: 'refund', arguments: '{"order":"A-1"}' } }, { transcript: 'Done, goodbye.', audioMs: 100 })
  const data: Record<string, unknown> = { playbook: { id: 'support', stageId: 'billing', enteredAt: Date.now(), turnsInStage: 0 } }
  const { hooks, fired } = recordHooks()
  const playbook = await playbookFor(data, hooks)
  t.same(fired, [], 'a restored stage is not entered again')
  const h = relayOn(t, await openOn(mock, playbook.current()), { playbook, hooks })
  h.history.add({ role: 'user', content: 'earlier words' })
  h.relay.sendText('Refund order A-1.')
  t.same(await h.next('stage-change'), { type: 'stage-change', from: 'billing', to: 'bye', reason: 'tool_call: refund' })
  const update = await mock.waitFor('session.update', 1) as { session: { instructions: string, tools: unknown[] } }
  t.equal(update.session.instructions, 'Be brief.\n\nYou work for Acme.\n\nSay goodbye.')
  t.same(update.session.tools.map(tool => (tool as { name: string }).name), ['get_weather'], 'the terminal stage offers the server\'s tools only')
  t.notOk(h.history.messages.some(m => m.content === 'earlier words'), 'clearHistory cleared the mirrored transcript')
  t.same(fired, ['exit billing', 'enter bye', 'transition refunded', 'complete bye'])
})

t.test('a keyword in the model\'s answer moves the stage after the answer', async t => {
  const mock = await mockFor(t, cert)
  mock.script({ transcript: 'Alright, goodbye then.', audioMs: 100 })
  const playbook = await playbookFor({}, new HookRegistry(silentLogger))
  const h = relayOn(t, await openOn(mock, playbook.current()), { playbook })
  h.relay.sendText('That is all.')
  t.same(await h.next('stage-change'), { type: 'stage-change', from: 'greet', to: 'bye', reason: 'keyword: "goodbye"' })
  const update = await mock.waitFor('session.update', 1) as { session: { instructions: string } }
  t.match(update.session.instructions, /Say goodbye\.$/)
})

t.test('closing the relay stops the playbook\'s timers', async t => {
  const mock = await mockFor(t, cert)
  const timed: Playbook = { ...support, transitions: [{ id: 'slow', from: 'greet', condition: { type: 'timeout', durationMs: 30 }, action: { targetStage: 'bye' } }] }
  const playbook = new RealtimePlaybook({ playbook: timed, sessionId: 's1', data: {}, serverTools: [], clock: systemClock, log: silentLogger })
  await playbook.start()
  const h = relayOn(t, await openOn(mock, playbook.current()), { playbook })
  h.relay.close()
  await new Promise(resolve => setTimeout(resolve, 80))
  t.equal(playbook.engine.stage.id, 'greet', 'the timer did not fire after close')
  t.notOk(h.messages.some(m => m.type === 'stage-change'))
})

t.test('a timeout transition updates the live session between turns', async t => {
  const mock = await mockFor(t, cert)
  const timed: Playbook = { ...support, transitions: [{ id: 'slow', from: 'greet', condition: { type: 'timeout', durationMs: 30 }, action: { targetStage: 'bye' } }] }
  const playbook = new RealtimePlaybook({ playbook: timed, sessionId: 's1', data: {}, serverTools: [], clock: systemClock, log: silentLogger })
  await playbook.start()
  const h = relayOn(t, await openOn(mock, playbook.current()), { playbook })
  t.same(await h.next('stage-change'), { type: 'stage-change', from: 'greet', to: 'bye', reason: 'timeout: 30 ms' })
  const update = await mock.waitFor('session.update', 1) as { session: { instructions: string, tools: unknown[] } }
  t.equal(update.session.instructions, 'You work for Acme.\n\nSay goodbye.')
  t.same(update.session.tools, [])
})
