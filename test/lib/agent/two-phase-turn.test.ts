import t, { type Test } from 'tap'
import { SessionAgent } from '../../../lib/agent/session-agent.js'
import type { Clock } from '../../../lib/clock.js'
import { silentLogger } from '../../../lib/logger.js'
import { PlaybookEngine } from '../../../lib/playbooks/playbook-engine.js'
import type { Playbook } from '../../../lib/playbooks/types.js'
import { validatePlaybook } from '../../../lib/playbooks/validate-playbook.js'
import type { ToolCallRequest } from '../../../lib/providers/types.js'
import { defineTool } from '../../../lib/tools/define-tool.js'
import { ToolExecutor } from '../../../lib/tools/tool-executor.js'
import { ToolRegistry } from '../../../lib/tools/tool-registry.js'
import type { Tool } from '../../../lib/tools/types.js'
import { FakeClock } from '../../helpers/fake-clock.js'
import { resolveTurnTaking } from '../../../lib/turn-taking/resolve-turn-taking.js'
import type { TurnTakingSettings } from '../../../lib/turn-taking/turn-taking-settings.js'
import { ScriptedLLM, ScriptedSTT, untilAborted } from '../../fakes/scripted-providers.js'
import { pipelineHarness, type PipelineHarness } from '../../helpers/pipeline-harness.js'
import { say, speech, until } from '../../helpers/speech-events.js'

type Script = ConstructorParameters<typeof ScriptedLLM>[0][number]

interface Harness extends PipelineHarness {
  llm: ScriptedLLM
  engine: PlaybookEngine | undefined
  data: Record<string, unknown>
}

interface HarnessOptions {
  playbook?: Playbook
  tools?: Tool[]
  maxToolRounds?: number
  clock?: Clock
  turnTaking?: TurnTakingSettings
}

function harness (t: Test, transcripts: string[], scripts: Script[], options: HarnessOptions = {}): Harness {
  const llm = new ScriptedLLM(scripts)
  const data: Record<string, unknown> = {}
  let engine: PlaybookEngine | undefined
  const h = pipelineHarness(t, { stt: new ScriptedSTT(transcripts), llm }, {
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.turnTaking !== undefined ? { turnTaking: options.turnTaking } : {}),
    agent: ({ history, hooks, send, clock, schedule }) => {
      engine = options.playbook === undefined
        ? undefined
        : new PlaybookEngine({
          playbook: validatePlaybook(options.playbook).playbook,
          sessionId: 'session-1',
          data,
          clock,
          hooks,
          onTimer: (change) => { schedule(async () => { await agent.applyTimerChange(change) }) }
        })
      const agent: SessionAgent = new SessionAgent({
        sessionId: 'session-1',
        systemPrompt: 'Be brief.',
        tools: new ToolRegistry(options.tools ?? []),
        executor: new ToolExecutor({ clock }),
        ...(engine !== undefined ? { playbook: engine } : {}),
        history,
        data,
        send,
        hooks,
        clock,
        log: silentLogger,
        maxToolRounds: options.maxToolRounds ?? 5,
        toolPhaseTimeoutMs: 30_000
      })
      t.teardown(() => { agent.close() })
      return agent
    }
  })
  return { ...h, llm, engine, data }
}

/** Plays out all audio until the pipeline is idle. */
async function finish (h: Harness): Promise<void> {
  const idle = h.pipeline.idle()
  let done = false
  void idle.then(() => { done = true })
  // eslint-disable-next-line no-unmodified-loop-condition -- `done` is set when the pipeline is idle
  while (!done) {
    h.output.play()
    await new Promise(resolve => setImmediate(resolve))
  }
}

const call = (name: string, args: Record<string, unknown>, callId = `call-${name}`): ToolCallRequest => ({ callId, name, arguments: args })

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Finds an order by its id',
  parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'], additionalProperties: false }
}, async ({ orderId }) => ({ orderId, status: 'shipped' }))

/** greet → (lookup_order succeeds) → resolve; resolve → (keyword "goodbye") → done. */
function supportPlaybook (overrides: Partial<Playbook> = {}): Playbook {
  return {
    id: 'support',
    name: 'Support desk',
    initialStage: 'greet',
    stages: [
      { id: 'greet', name: 'Greet', systemPrompt: 'Greet the caller and ask for the order number.', tools: [lookupOrder] },
      { id: 'resolve', name: 'Resolve', systemPrompt: 'Explain the order status.' },
      { id: 'billing', name: 'Billing', description: 'Invoices and payments', systemPrompt: 'Help with invoices.' },
      { id: 'done', name: 'Done', systemPrompt: 'Say goodbye.' }
    ],
    transitions: [
      { id: 'found', from: 'greet', condition: { type: 'tool_call', toolName: 'lookup_order' }, action: { targetStage: 'resolve' } },
      { id: 'to-billing', from: 'greet', condition: { type: 'llm_decision' }, action: { targetStage: 'billing' } },
      { id: 'bye', from: 'resolve', condition: { type: 'keyword', keywords: ['goodbye'] }, action: { targetStage: 'done' } },
      { id: 'back', from: 'billing', condition: { type: 'keyword', keywords: ['anything else'] }, action: { targetStage: 'greet' } }
    ],
    ...overrides
  }
}

t.test('a tool loop speaks the filler, runs the tool, feeds its result back and speaks the answer', async t => {
  const h = harness(t, ['where is my order 42'], [
    { chunks: ['Let me check that for you. '], toolCalls: [call('lookup_order', { orderId: '42' })] },
    ['Order 42 has shipped.']
  ], { tools: [lookupOrder] })
  say(h.pipeline)
  await finish(h)
  t.same(h.types().filter(type => !type.startsWith('speech')), [
    'transcript', 'llm-chunk', 'tts-start', 'tool-call-start', 'tool-call-end', 'llm-chunk', 'llm-chunk', 'llm', 'tts-complete'
  ], 'the filler is spoken (tts-start) before the tool runs')
  t.same(h.messages.find(m => m.type === 'tool-call-start'), { type: 'tool-call-start', name: 'lookup_order', callId: 'call-lookup_order', arguments: { orderId: '42' } })
  const end = h.messages.find(m => m.type === 'tool-call-end')
  t.match(end, { callId: 'call-lookup_order', result: { orderId: '42', status: 'shipped' } })
  t.same(h.messages.find(m => m.type === 'llm'), { type: 'llm', text: 'Let me check that for you. Order 42 has shipped.' })
  t.equal(h.llm.requests.length, 2)
  t.same(h.llm.requests[0]?.tools?.map(tool => tool.name), ['lookup_order'], 'phase 1 offers the tools')
  const second = h.llm.requests[1]?.messages ?? []
  t.match(second.at(-2), { role: 'assistant', content: 'Let me check that for you. ', toolCalls: [{ callId: 'call-lookup_order' }] })
  t.match(second.at(-1), { role: 'tool', toolCallId: 'call-lookup_order', toolName: 'lookup_order' })
  t.match(JSON.parse(second.at(-1)?.content ?? '{}'), { result: { status: 'shipped' } })
  t.same(h.history.messages.map(m => m.role), ['user', 'assistant', 'tool', 'assistant'], 'tool call and result kept as a pair, then the answer')
  t.equal(h.history.messages.at(-1)?.content, 'Order 42 has shipped.')
  t.equal(h.results[0]?.outcome, 'completed')
})

t.test('malformed arguments become a tool error the LLM sees, never a crash', async t => {
  const h = harness(t, ['order please'], [
    { chunks: [], toolCalls: [call('lookup_order', { orderId: 42 })] },
    ['Sorry, which order number?']
  ], { tools: [lookupOrder] })
  say(h.pipeline)
  await finish(h)
  const end = h.messages.find(m => m.type === 'tool-call-end')
  t.match(end, { callId: 'call-lookup_order', error: /orderId/ })
  const toolMessage = h.llm.requests[1]?.messages.at(-1)
  t.match(JSON.parse(toolMessage?.content ?? '{}'), { error: /Invalid arguments for tool "lookup_order"/ })
  t.equal(h.results[0]?.outcome, 'completed')
})

t.test('a tool_call transition moves the stage and phase 2 answers without tools in the new stage', async t => {
  const stages: string[] = []
  const h = harness(t, ['my order is 42'], [
    { chunks: [], toolCalls: [call('lookup_order', { orderId: '42' })] },
    ['It shipped yesterday.']
  ], { playbook: supportPlaybook() })
  h.hooks.addHook('onStageEnter', (_s, stageId) => { stages.push(`enter ${stageId}`) })
  h.hooks.addHook('onStageExit', (_s, stageId) => { stages.push(`exit ${stageId}`) })
  say(h.pipeline)
  await finish(h)
  t.same(h.messages.find(m => m.type === 'stage-change'), { type: 'stage-change', from: 'greet', to: 'resolve', reason: 'tool_call: lookup_order' })
  const types = h.types()
  t.ok(types.indexOf('tool-call-end') < types.indexOf('stage-change'), 'the stage changes after the tool ran')
  t.ok(types.indexOf('stage-change') < types.indexOf('llm'), 'and before the answer')
  const phase2 = h.llm.requests[1]
  t.equal(phase2?.tools, undefined, 'phase 2 offers no tools')
  t.match(phase2?.messages[0]?.content, /Explain the order status/, 'phase 2 speaks in the new stage\'s voice')
  t.notMatch(phase2?.messages[0]?.content, /Greet the caller/)
  t.match(h.llm.requests[0]?.messages[0]?.content, /^Be brief\.\n\n.*Greet the caller/s, 'the server prompt comes first')
  t.equal(h.engine?.stage.id, 'resolve')
  t.same(stages, ['enter greet', 'exit greet', 'enter resolve'])
})

t.test('the LLM moves the playbook with playbook_transition, only to a stage a transition allows', async t => {
  const h = harness(t, ['I have a question about my invoice', 'and another thing'], [
    { chunks: [], toolCalls: [call('playbook_transition', { targetStage: 'done', reason: 'finished' }, 'c1')] },
    { chunks: [], toolCalls: [call('playbook_transition', { targetStage: 'billing', reason: 'invoice question' }, 'c2')] },
    ['Sure, let us look at your invoice.']
  ], { playbook: supportPlaybook() })
  const offered = (): string[] => h.llm.requests[0]?.tools?.map(tool => tool.name) ?? []
  say(h.pipeline)
  await finish(h)
  t.ok(offered().includes('playbook_transition'), 'the transition tool is offered')
  const refused = h.messages.find(m => m.type === 'tool-call-end' && m.callId === 'c1')
  t.match(refused, { error: /done/ }, 'a stage no transition allows is refused, and the LLM is told')
  const changes = h.messages.filter(m => m.type === 'stage-change')
  t.same(changes, [{ type: 'stage-change', from: 'greet', to: 'billing', reason: 'llm_decision: invoice question' }])
  t.equal(h.llm.requests[2]?.tools, undefined, 'then the answer comes without tools')
  t.match(h.llm.requests[2]?.messages[0]?.content, /Help with invoices/)
})

t.test('a keyword in the answer moves the stage after the turn, and the next turn uses it', async t => {
  const h = harness(t, ['thanks', 'one more thing'], [
    ['Glad to help, goodbye!'],
    ['Bye now.']
  ], { playbook: supportPlaybook({ initialStage: 'resolve' }) })
  say(h.pipeline)
  await finish(h)
  const types = h.types()
  t.ok(types.indexOf('tts-complete') < types.indexOf('stage-change'), 'the stage changes once the answer was given')
  t.same(h.messages.find(m => m.type === 'stage-change'), { type: 'stage-change', from: 'resolve', to: 'done', reason: 'keyword: "goodbye"' })
  say(h.pipeline)
  await finish(h)
  t.match(h.llm.requests[1]?.messages[0]?.content, /Say goodbye/)
  t.equal(h.llm.requests[1]?.tools, undefined, 'a stage without tools offers none')
})

t.test('the tool rounds are bounded: then one answer without tools', async t => {
  const h = harness(t, ['loop'], [
    { chunks: [], toolCalls: [call('lookup_order', { orderId: '1' }, 'a')] },
    { chunks: [], toolCalls: [call('lookup_order', { orderId: '2' }, 'b')] },
    ['Done looking.']
  ], { tools: [lookupOrder], maxToolRounds: 2 })
  say(h.pipeline)
  await finish(h)
  t.equal(h.llm.requests.length, 3)
  t.ok(h.llm.requests[1]?.tools !== undefined, 'round 2 may still call tools')
  t.equal(h.llm.requests[2]?.tools, undefined, 'after 2 rounds the answer is asked for without tools')
  t.same(h.messages.find(m => m.type === 'llm'), { type: 'llm', text: 'Done looking.' })
  t.same(h.history.messages.map(m => m.role), ['user', 'assistant', 'tool', 'assistant', 'tool', 'assistant'])
})

t.test('barge-in during a tool call cancels it and leaves no half-recorded call', async t => {
  let started = 0
  let aborted = 0
  const slow = defineTool({ name: 'slow_search', description: 'Searches slowly', parameters: { type: 'object', properties: {} } }, async (_args, ctx) => {
    started++
    ctx.signal.addEventListener('abort', () => { aborted++ })
    await untilAborted(ctx.signal)
  })
  const h = harness(t, ['search everything', 'stop, never mind'], [
    { chunks: ['Searching. '], toolCalls: [call('slow_search', {})] },
    ['Okay.']
  ], { tools: [slow] })
  say(h.pipeline)
  await until(() => started === 1, 'the tool started')
  say(h.pipeline)
  await finish(h)
  t.equal(aborted, 1, 'the tool\'s signal was aborted')
  t.equal(h.results[0]?.outcome, 'cancelled')
  t.notOk(h.history.messages.some(m => m.role === 'tool' || m.toolCalls !== undefined), 'neither the call nor a result is in the history')
  t.equal(h.llm.requests.length, 2, 'the cancelled generation asked for nothing more')
  t.same(h.history.messages.map(m => m.content), ['search everything', 'stop, never mind', 'Okay.'])
})

t.test('a tool that must run to completion survives barge-in and is recorded', async t => {
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  let started = false
  const pay = defineTool({ name: 'take_payment', description: 'Charges the card', parameters: { type: 'object', properties: {} } }, async () => {
    started = true
    await gate
    return { paid: true }
  }, { cancelOnBargeIn: false })
  const h = harness(t, ['pay now', 'wait'], [
    { chunks: [], toolCalls: [call('take_payment', {})] },
    ['Yes?']
  ], { tools: [pay] })
  say(h.pipeline)
  await until(() => started, 'payment started')
  say(h.pipeline)
  await until(() => h.results.length === 0 && h.messages.some(m => m.type === 'tts-cancelled' || m.type === 'speech-start'), 'barge-in seen')
  release()
  await finish(h)
  t.match(h.messages.find(m => m.type === 'tool-call-end'), { result: { paid: true } })
  const roles = h.history.messages.map(m => m.role)
  t.same(roles.slice(0, 3), ['user', 'assistant', 'tool'], 'the payment and its result are recorded as a pair')
  t.equal(h.results[0]?.outcome, 'cancelled')
  t.equal(h.llm.requests.length, 2, 'no round follows the cancelled one: the next request is the next turn\'s')
})

t.test('clearHistory clears the conversation but the current turn keeps the user\'s words', async t => {
  const playbook = supportPlaybook()
  playbook.transitions[0] = { id: 'found', from: 'greet', condition: { type: 'tool_call', toolName: 'lookup_order' }, action: { targetStage: 'resolve', clearHistory: true, data: { orderId: '42' } } }
  const h = harness(t, ['hello', 'order 42'], [['Hi, your order number?'], { chunks: [], toolCalls: [call('lookup_order', { orderId: '42' })] }, ['It shipped.']], { playbook })
  say(h.pipeline)
  await finish(h)
  say(h.pipeline)
  await finish(h)
  t.same(h.history.messages, [{ role: 'user', content: 'order 42' }, { role: 'assistant', content: 'It shipped.' }])
  t.same(h.llm.requests[2]?.messages.slice(1), [{ role: 'user', content: 'order 42' }])
  t.equal(h.data.orderId, '42', 'the action\'s data entered the playbook context')
})

t.test('a failing playbook callback sends PLAYBOOK_ERROR, keeps the stage and still answers', async t => {
  const playbook = supportPlaybook()
  const greet = playbook.stages[0]
  if (greet !== undefined) greet.onExit = () => { throw new Error('audit log unavailable') }
  const h = harness(t, ['order 42'], [{ chunks: [], toolCalls: [call('lookup_order', { orderId: '42' })] }, ['Still here.']], { playbook })
  say(h.pipeline)
  await finish(h)
  t.match(h.messages.find(m => m.type === 'error'), { type: 'error', code: 'PLAYBOOK_ERROR' })
  t.notOk(h.messages.some(m => m.type === 'stage-change'))
  t.equal(h.engine?.stage.id, 'greet')
  t.same(h.messages.find(m => m.type === 'llm'), { type: 'llm', text: 'Still here.' })
  t.equal(h.results[0]?.outcome, 'completed')
})

t.test('a timeout transition fires on its timer between turns', async t => {
  const clock = new FakeClock()
  const playbook = supportPlaybook({
    transitions: [{ id: 'idle', from: 'greet', condition: { type: 'timeout', durationMs: 60_000 }, action: { targetStage: 'done' } }]
  })
  const h = harness(t, [], [], { playbook, clock })
  await h.engine?.start()
  clock.advance(59_000)
  await h.pipeline.idle()
  t.notOk(h.messages.some(m => m.type === 'stage-change'), 'not yet')
  clock.advance(1_000)
  await until(() => h.messages.some(m => m.type === 'stage-change'), 'stage change')
  t.same(h.messages.find(m => m.type === 'stage-change'), { type: 'stage-change', from: 'greet', to: 'done', reason: 'timeout: 60000 ms' })
})

/** lookup_order, recording the order ids it ran for. */
function recordingLookupTool (): { ran: string[], tool: Tool } {
  const ran: string[] = []
  const tool = defineTool({
    name: 'lookup_order',
    description: 'Finds an order by its id',
    parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'], additionalProperties: false }
  }, async ({ orderId }) => { ran.push(String(orderId)); return { orderId, status: 'shipped' } })
  return { ran, tool }
}

t.test('preemptive generation never runs a tool: the tool request waits for the confirmed turn, which runs it once', async t => {
  const { ran, tool: recordingLookup } = recordingLookupTool()
  const h = harness(t, ['where is order 42'], [
    { chunks: ['One moment. '], toolCalls: [call('lookup_order', { orderId: '42' })] },
    ['Order 42 has shipped.']
  ], { tools: [recordingLookup], turnTaking: resolveTurnTaking({ turnDetection: false, preemptive: { afterMs: 200 } }) })
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(600) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(924) })
  await until(() => h.llm.requests.length === 1, 'the speculative LLM call')
  for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
  t.same(ran, [], 'the tool the speculative answer asked for did not run')
  t.same(h.types(), ['speech-start'], 'nothing of it reached the client')
  t.same(h.llm.requests[0]?.tools?.map(tool => tool.name), ['lookup_order'], 'the speculative request offered the tools, as the turn would')
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(1200), durationMs: 1200 })
  await until(() => h.types().includes('tts-start'), 'answer')
  await finish(h)
  t.same(ran, ['42'], 'the confirmed turn ran it once')
  const types = h.types()
  t.ok(types.indexOf('speech-end') < types.indexOf('tool-call-start'), 'after the end of the turn')
  t.equal(h.llm.requests.length, 2, 'the speculative round was used, not asked again')
  t.equal(h.history.messages.at(-1)?.content, 'Order 42 has shipped.')
})

t.test('a discarded speculative answer never runs its tool', async t => {
  const { ran, tool: recordingLookup } = recordingLookupTool()
  const h = harness(t, ['where is order 4', 'where is order 42'], [
    { chunks: [], toolCalls: [call('lookup_order', { orderId: '4' })] },
    { chunks: [], toolCalls: [call('lookup_order', { orderId: '42' })] },
    ['Order 42 has shipped.']
  ], { tools: [recordingLookup], turnTaking: resolveTurnTaking({ turnDetection: false, preemptive: { afterMs: 200 } }) })
  h.pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(600) })
  h.pipeline.onSpeechEvent({ type: 'speech-pause', atMs: 0, silenceMs: 224, utterance: speech(924) })
  await until(() => h.llm.requests.length === 1, 'the speculative LLM call')
  h.pipeline.onSpeechEvent({ type: 'speech-resume', atMs: 0, pauseMs: 300 })
  h.pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(300) })
  h.pipeline.onSpeechEvent({ type: 'speech-end', atMs: 0, utterance: speech(1500), durationMs: 1500 })
  await until(() => h.types().includes('tts-start'), 'answer')
  await finish(h)
  t.same(ran, ['42'], 'only the confirmed turn\'s tool call ran')
})
