import t from 'tap'
import type { Playbook } from '../../lib/playbooks/types.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { buildApp } from '../helpers/app.js'
import { expectVoiceTurn, listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'
import { startOpenAIMock } from '../mocks/openai-mock.js'

// A two-stage support playbook spoken over a real WebRTC peer, with the OpenAI SDK against the loopback
// mock streaming real tool-call deltas. Assertions are on order and content, not durations.
isolateNetwork()

const lookups: unknown[] = []
const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Finds an order by its number',
  parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'], additionalProperties: false }
}, async ({ orderId }) => {
  lookups.push(orderId)
  return { orderId, status: 'shipped', carrier: 'DHL' }
})

const playbook: Playbook = {
  id: 'support',
  name: 'Order support',
  initialStage: 'greet',
  globalSystemPrompt: 'You work at the Acme order desk.',
  stages: [
    { id: 'greet', name: 'Greet', systemPrompt: 'Greet the caller and ask for the order number, then look it up.', tools: [lookupOrder] },
    { id: 'resolve', name: 'Resolve', systemPrompt: 'Tell the caller where the order is.' }
  ],
  transitions: [
    { id: 'found', from: 'greet', condition: { type: 'tool_call', toolName: 'lookup_order' }, action: { targetStage: 'resolve' } }
  ]
}

t.test('a spoken two-stage playbook: greet, look the order up with a tool, answer in the resolve stage', async t => {
  const mock = await startOpenAIMock({ apiKey: 'sk-e2e' })
  t.teardown(() => mock.close())
  mock.script('transcriptions', { type: 'transcript', text: 'Hello there.' }, { type: 'transcript', text: 'My order number is forty two.' })
  mock.script('chat',
    { type: 'chat', content: 'Hi! What is your order number?' },
    { type: 'chat', content: 'One moment, please.', toolCalls: [{ id: 'call_1', name: 'lookup_order', arguments: '{"orderId":"42"}' }] },
    { type: 'chat', content: 'Your order 42 has shipped with DHL.' })
  const app = await buildApp(t, { openai: { apiKey: 'sk-e2e', baseURL: mock.baseURL }, playbook })
  const client = await voiceClient(t, await listenUrl(app))

  await say(client, 'Hello there.')
  await expectVoiceTurn(t, client)
  t.notOk(client.wsMessages.some(m => m.type === 'stage-change'), 'the first turn stays in greet')
  const firstTurnEnd = client.wsMessages.length

  await say(client, 'My order number is forty two.')
  const from = firstTurnEnd
  for (const type of ['tool-call-start', 'tool-call-end', 'stage-change', 'llm', 'tts-complete'] as const) await client.waitFor(type, { from, timeoutMs: 20_000 })
  const turn = client.wsMessages.slice(from).filter(m => m.type !== 'metrics' && m.type !== 'llm-chunk')
  const types = turn.map(m => m.type)
  t.ok(types.indexOf('tool-call-start') < types.indexOf('tool-call-end') && types.indexOf('tool-call-end') < types.indexOf('stage-change') && types.indexOf('stage-change') < types.indexOf('llm'), `order: ${types.join(' ')}`)
  t.same(turn.find(m => m.type === 'tool-call-start'), { type: 'tool-call-start', name: 'lookup_order', callId: 'call_1', arguments: { orderId: '42' } })
  t.match(turn.find(m => m.type === 'tool-call-end'), { callId: 'call_1', result: { orderId: '42', status: 'shipped' } })
  t.same(turn.find(m => m.type === 'stage-change'), { type: 'stage-change', from: 'greet', to: 'resolve', reason: 'tool_call: lookup_order' })
  t.same(turn.find(m => m.type === 'llm'), { type: 'llm', text: 'One moment, please. Your order 42 has shipped with DHL.' })
  t.same(lookups, ['42'], 'the tool ran once with the model\'s arguments')
  await client.audio.waitForSound(1000, 5000)
  t.pass('the answer was heard on the track')

  const chats = mock.requestsTo('chat')
  t.equal(chats.length, 3)
  const toolRound = chats[1]?.body as { tools?: Array<{ function: { name: string } }>, messages: Array<{ role: string, content: unknown }> }
  t.same(toolRound.tools?.map(tool => tool.function.name), ['lookup_order'], 'phase 1 offered the stage\'s tool')
  t.match(toolRound.messages[0]?.content, /Acme order desk[\s\S]*ask for the order number/)
  const answer = chats[2]?.body as { tools?: unknown, messages: Array<{ role: string, content: unknown, tool_calls?: unknown, tool_call_id?: string }> }
  t.equal(answer.tools, undefined, 'phase 2 offered no tools')
  t.match(answer.messages[0]?.content, /Tell the caller where the order is/, 'phase 2 spoke in the resolve stage\'s voice')
  t.match(answer.messages.at(-2), { role: 'assistant', tool_calls: [{ id: 'call_1', function: { name: 'lookup_order' } }] })
  t.match(answer.messages.at(-1), { role: 'tool', tool_call_id: 'call_1' })
  const session = app.llmrtcSessions.get(client.sessionId)
  t.match(session?.data, { playbook: { id: 'support', stageId: 'resolve' } }, 'the stage is in the session record (survives a reconnect)')
})
