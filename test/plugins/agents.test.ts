import { resolve } from 'node:path'
import t from 'tap'
import type { AgentChoice, AgentRequest } from '../../lib/agent/agent-choice.js'
import { encodeWav } from '../../lib/audio/wav.js'
import { LLMRTC_ERR_AGENT_SELECTION } from '../../lib/errors.js'
import type { Playbook } from '../../lib/playbooks/types.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { buildApp } from '../helpers/app.js'
import { connect, connectOverNetwork, until, type RecordingSocket } from '../helpers/ws-client.js'
import type { SessionRecord, SessionStore } from '../../lib/sessions/session-store.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

const utterance = (): string => encodeWav(new Int16Array(16 * 600).fill(1000), 16_000).toString('base64')
const noParameters = { type: 'object', properties: {} }
const lookupOrder = defineTool({ name: 'lookup_order', description: 'Finds an order', parameters: noParameters }, () => ({ status: 'shipped' }))
const bookDemo = defineTool({ name: 'book_demo', description: 'Books a demo', parameters: noParameters }, () => ({ booked: true }))
const salesPlaybook: Playbook = {
  id: 'sales',
  name: 'Sales',
  initialStage: 'qualify',
  stages: [{ id: 'qualify', name: 'Qualify', systemPrompt: 'Ask what the caller needs.' }],
  transitions: []
}

async function turn (client: RecordingSocket): Promise<void> {
  await client.next('ready')
  const from = client.messages.length
  client.send({ type: 'audio', data: utterance() })
  await client.next('tts-complete', from)
}

t.test('two kinds of caller get two agents: their own system prompt, tools, playbook and LLM', async t => {
  const serverLLM = new ScriptedLLM([['Server here.']])
  const supportLLM = new ScriptedLLM([['Support here.']])
  const salesLLM = new ScriptedLLM([['Sales here.']])
  const salesTTS = new ScriptedTTS()
  const seen: AgentRequest[] = []
  const app = await buildApp(t, {
    webrtc: false,
    systemPrompt: 'The server prompt.',
    authenticate: (request) => request.headers['x-user'] as string | undefined,
    providers: { llm: serverLLM, stt: new ScriptedSTT(['hello', 'hello', 'hello']), tts: new ScriptedTTS() },
    agentForSession: async (request): Promise<AgentChoice | undefined> => {
      seen.push(request)
      if (request.principal?.startsWith('staff-') === true) return { systemPrompt: 'You help staff with orders.', tools: [lookupOrder], providers: { llm: supportLLM } }
      if (request.query.get('agent') === 'sales') return { systemPrompt: 'You sell.', tools: [bookDemo], playbook: salesPlaybook, providers: { llm: salesLLM, tts: salesTTS } }
      return undefined
    }
  })
  const staff = await connect(app, '/', { 'x-user': 'staff-ann' })
  await turn(staff)
  const buyer = await connect(app, '/?agent=sales', { 'x-user': 'bob' })
  await turn(buyer)
  const other = await connect(app, '/', { 'x-user': 'carol' })
  await turn(other)

  t.equal(supportLLM.requests.length, 1, 'the staff member\'s turn went to the support LLM')
  t.equal(supportLLM.requests[0]?.messages[0]?.content, 'You help staff with orders.')
  t.same(supportLLM.requests[0]?.tools?.map(tool => tool.name), ['lookup_order'])

  t.equal(salesLLM.requests.length, 1, 'the buyer\'s turn went to the sales LLM')
  t.match(salesLLM.requests[0]?.messages[0]?.content, /^You sell\.[\s\S]*Ask what the caller needs\./, 'the sales prompt, with its playbook stage\'s')
  t.same(salesLLM.requests[0]?.tools?.map(tool => tool.name), ['book_demo'])
  t.same(salesTTS.spoken, ['Sales here.'], 'and the sales voice spoke')

  t.equal(serverLLM.requests.length, 1, 'a caller the function leaves to the server gets the server\'s agent')
  t.equal(serverLLM.requests[0]?.messages[0]?.content, 'The server prompt.')
  t.equal(serverLLM.requests[0]?.tools, undefined)

  t.same(seen.map(request => [request.principal, request.query.get('agent')]), [['staff-ann', null], ['bob', 'sales'], ['carol', null]])
  t.equal(seen[1]?.request.url, '/?agent=sales')
  t.equal(typeof seen[0]?.sessionId, 'string')
  for (const client of [staff, buyer, other]) client.ws.terminate()
})

t.test('messages sent while the agent is being chosen wait for it', async t => {
  const llm = new ScriptedLLM([['Chosen.']])
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const app = await buildApp(t, {
    webrtc: false,
    providers: { llm, stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() },
    agentForSession: async () => { await gate; return { systemPrompt: 'The chosen prompt.' } }
  })
  const client = await connect(app)
  client.send({ type: 'audio', data: utterance() })
  release()
  await client.next('tts-complete')
  t.equal(client.messages[0]?.type, 'ready', 'ready comes once the agent is chosen, before any answer')
  t.equal(llm.requests[0]?.messages[0]?.content, 'The chosen prompt.')
  client.ws.terminate()
})

t.test('a reconnect keeps the agent its session was created with', async t => {
  const supportLLM = new ScriptedLLM([])
  const salesLLM = new ScriptedLLM([['Still sales.']])
  const app = await buildApp(t, {
    webrtc: false,
    providers: { llm: new ScriptedLLM([]), stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() },
    agentForSession: (request) => request.query.get('agent') === 'sales'
      ? { systemPrompt: 'You sell.', providers: { llm: salesLLM } }
      : { systemPrompt: 'You support.', providers: { llm: supportLLM } }
  })
  const first = await connect(app, '/?agent=sales')
  const { id } = await first.next('ready')
  const second = await connect(app, '/?agent=support')
  await second.next('ready')
  second.send({ type: 'reconnect', sessionId: id })
  t.match(await second.next('reconnect-ack'), { success: true, sessionId: id })
  second.send({ type: 'audio', data: utterance() })
  await second.next('tts-complete')
  t.equal(salesLLM.requests.length, 1, 'the resumed session still talks to the sales LLM')
  t.equal(salesLLM.requests[0]?.messages[0]?.content, 'You sell.')
  t.equal(supportLLM.requests.length, 0)
  first.ws.terminate()
  second.ws.terminate()
})

t.test('a failing agentForSession closes only that connection, with a typed error', async t => {
  const llm = new ScriptedLLM([['Fine.']])
  const app = await buildApp(t, {
    webrtc: false,
    providers: { llm, stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() },
    agentForSession: async (request) => {
      const agent = request.query.get('agent')
      if (agent === 'crash') throw new Error('tenant database password=hunter2 unreachable')
      if (agent === 'unknown') throw new LLMRTC_ERR_AGENT_SELECTION('no agent is called "unknown"')
      if (agent === 'bad-tools') return { tools: 'lookup_order' } as unknown as AgentChoice
      if (agent === 'typo') return { systemPromt: 'x' } as unknown as AgentChoice
      if (agent === 'clash') return { tools: [bookDemo], playbook: { ...salesPlaybook, globalTools: [bookDemo] } }
      return undefined
    }
  })
  const healthy = await connect(app)
  await healthy.next('ready')

  const cases: Array<[string, RegExp]> = [
    ['crash', /^The agent of this session could not be chosen: agentForSession threw$/],
    ['unknown', /could not be chosen: no agent is called "unknown"$/],
    ['bad-tools', /invalid tools: expected an array of tools made with defineTool\(\), instead got string$/],
    ['typo', /expected only systemPrompt, tools, providers, playbook, record and backgroundAudio, instead got the unknown key "systemPromt"$/],
    ['clash', /invalid tools: expected names other than the playbook's tools', instead got "book_demo" in both$/]
  ]
  for (const [agent, message] of cases) {
    const client = await connect(app, `/?agent=${agent}`)
    t.match(await client.next('error'), { code: 'INTERNAL_ERROR', message }, agent)
    t.match(await client.closed, { code: 1011 }, `${agent}: the connection is closed with 1011`)
    t.notOk(client.messages.some(m => m.type === 'ready'), `${agent}: no ready`)
    t.notMatch(JSON.stringify(client.messages), /hunter2/, 'what the function threw stays on the server')
  }
  t.equal(app.llmrtcSessions.size, 1, 'the refused connections leave no session behind')
  healthy.send({ type: 'audio', data: utterance() })
  await healthy.next('tts-complete')
  t.equal(llm.requests.length, 1, 'the other session carries on')
  healthy.ws.terminate()
})

t.test('agentForSession must be a function', async t => {
  await t.rejects(buildApp(t, { webrtc: false, agentForSession: 'sales' as never }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"agentForSession": expected a function/ })
})

t.test('a session resumed from a shared store on another server takes the agent chosen for the reconnecting connection', async t => {
  const records = new Map<string, SessionRecord>()
  const store: SessionStore = {
    shared: true,
    get: async (id) => records.get(id),
    set: async (record) => { records.set(record.id, structuredClone(record)) },
    delete: async (id) => { records.delete(id) },
    close: async () => {}
  }
  const serverLLM = new ScriptedLLM([['Server here.']])
  const salesLLM = new ScriptedLLM([['Sales here.']])
  const options = (llm: ScriptedLLM): Parameters<typeof buildApp>[1] => ({
    webrtc: false,
    sessionStore: store,
    providers: { llm: serverLLM, stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() },
    agentForSession: (request) => request.query.get('agent') === 'sales' ? { systemPrompt: 'You sell.', providers: { llm } } : undefined
  })
  const first = await buildApp(t, options(new ScriptedLLM([])))
  const second = await buildApp(t, options(salesLLM))
  const before = await connectOverNetwork(first, '/?agent=sales')
  const { id } = await before.next('ready')
  before.ws.close()
  await until(() => records.has(id as string) && first.llmrtcSessions.get(id as string) === undefined, 'the session to wait in the shared store')

  const after = await connect(second, '/?agent=sales')
  await after.next('ready')
  after.send({ type: 'reconnect', sessionId: id })
  t.match(await after.next('reconnect-ack'), { success: true, sessionId: id })
  after.send({ type: 'audio', data: utterance() })
  await after.next('tts-complete')
  t.equal(salesLLM.requests.length, 1)
  t.equal(salesLLM.requests[0]?.messages[0]?.content, 'You sell.')
  t.equal(serverLLM.requests.length, 0)
  after.ws.terminate()
})

t.test('a chosen tool may not clash with the server\'s PLAYBOOK module\'s tools', async t => {
  const app = await buildApp(t, {
    webrtc: false,
    env: { PLAYBOOK: resolve(import.meta.dirname, '../../examples/support-playbook.mjs') },
    providers: { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() },
    agentForSession: () => ({ tools: [defineTool({ name: 'lookup_order', description: 'Another lookup', parameters: noParameters }, () => 1)] })
  })
  const client = await connect(app)
  t.match(await client.next('error'), { code: 'INTERNAL_ERROR', message: /instead got "lookup_order" in both$/ })
  t.match(await client.closed, { code: 1011 })
})
