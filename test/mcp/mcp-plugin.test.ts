import Fastify from 'fastify'
import t from 'tap'
import type { Playbook } from '../../lib/playbooks/types.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import type { ChatMessage } from '../../lib/providers/types.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { until } from '../../testing/wait.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { startHttpFixture } from './fixtures/test-mcp-server.js'
import { running, stdioFixture } from './helpers.js'

const providers = (llm: ScriptedLLM): { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS } => ({ llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS(1) })
const toolMessages = (llm: ScriptedLLM, request: number): ChatMessage[] => llm.requests[request]?.messages.filter(m => m.role === 'tool') ?? []

t.test('an MCP tool is offered with its schema, called in a turn, and its result reaches the LLM', async t => {
  const llm = new ScriptedLLM([{ chunks: [], toolCalls: [{ callId: 'c1', name: 'fx_add', arguments: { a: 2, b: 3 } }] }, ['The sum is five.']])
  const app = await buildApp(t, { webrtc: false, demoPage: false, mcpServers: { fx: stdioFixture() }, providers: providers(llm) })
  t.match(app.llmrtcMcp.servers(), [{ name: 'fx', state: 'connected', tools: ['fx_echo', 'fx_add', 'fx_slow', 'fx_fail', 'fx_whoami', 'fx_cancelled_count', 'fx_grow'] }])
  const { result, messages } = await app.llmrtcPipeline.textTurn(app.llmrtcSessions.create(), 'What is two plus three?')
  t.match(llm.requests[0]?.tools?.find(tool => tool.name === 'fx_add'), { description: 'Adds two numbers', parameters: { type: 'object', required: ['a', 'b'] } })
  t.same(toolMessages(llm, 1).map(m => m.content), ['{"result":{"sum":5}}'])
  t.match(messages.find(m => m.type === 'tool-call-end'), { callId: 'c1', result: { sum: 5 } })
  t.equal(result?.assistantText, 'The sum is five.')
})

t.test('a killed server\'s tools are reported unavailable, the turn still answers, and the server comes back', async t => {
  const llm = new ScriptedLLM([
    { chunks: [], toolCalls: [{ callId: 'c1', name: 'fx_whoami', arguments: {} }] }, ['That service is down.'],
    { chunks: [], toolCalls: [{ callId: 'c2', name: 'fx_whoami', arguments: {} }] }, ['It is back.']
  ])
  const errors: Error[] = []
  const app = await buildApp(t, { webrtc: false, demoPage: false, mcpServers: { fx: stdioFixture({ reconnectDelayMs: 1500 }) }, hooks: { onError: (err) => { errors.push(err) } }, providers: providers(llm) })
  const connection = app.llmrtcMcp.set!.connection('fx')!
  const first = connection.pid!
  process.kill(first, 'SIGKILL')
  await until(() => connection.state !== 'connected', 'the drop to be seen')
  const session = app.llmrtcSessions.create()
  // The reconnection may already be under way: whatever the state, the call fails, the turn answers.
  if (connection.state !== 'connected') {
    const { result } = await app.llmrtcPipeline.textTurn(session, 'Who are you?')
    t.match(toolMessages(llm, 1)[0]?.content, /"error":"Tool \\"fx_whoami\\" failed: MCP server \\"fx\\" is unavailable: /)
    t.equal(result?.assistantText, 'That service is down.')
  }
  t.match(errors, [{ code: 'LLMRTC_ERR_MCP_UNAVAILABLE' }], 'onError heard of the outage')
  await until(() => connection.state === 'connected', 'the reconnection', 60_000)
  llm.scripts.splice(0, llm.scripts.length - 2)
  const before = llm.requests.length
  const { result } = await app.llmrtcPipeline.textTurn(session, 'And now?')
  const answer = toolMessages(llm, before + 1).at(-1)?.content
  t.equal(answer, JSON.stringify({ result: String(connection.pid) }), 'a new process answers')
  t.not(connection.pid, first)
  t.equal(result?.assistantText, 'It is back.')
})

t.test('a new turn (barge-in) cancels the running MCP call on the server', async t => {
  const http = await startHttpFixture()
  t.teardown(http.close)
  const llm = new ScriptedLLM([{ chunks: [], toolCalls: [{ callId: 'c1', name: 'web_slow', arguments: { ms: 60_000 } }] }, ['Sure.']])
  const app = await buildApp(t, { webrtc: false, demoPage: false, mcpServers: { web: { url: http.url, headers: { 'x-fixture-token': 'secret' } } }, providers: providers(llm) })
  const session = app.llmrtcSessions.create()
  const first = app.llmrtcPipeline.textTurn(session, 'Do the slow thing.')
  await until(() => http.log.calls.includes('slow'), 'the call to reach the server')
  const second = await app.llmrtcPipeline.textTurn(session, 'Never mind.')
  t.not((await first).result?.outcome, 'completed', 'the first turn did not complete')
  t.equal(second.result?.assistantText, 'Sure.')
  await until(() => http.log.cancelled === 1, 'the server to see notifications/cancelled')
  t.pass('the server\'s handler saw its signal abort')
})

t.test('a playbook stage\'s MCP server is offered in that stage only', async t => {
  const http = await startHttpFixture()
  t.teardown(http.close)
  const playbook: Playbook = {
    id: 'desk',
    name: 'Desk',
    initialStage: 'lookup',
    stages: [
      { id: 'lookup', name: 'Lookup', systemPrompt: 'Look it up.', mcpServers: { web: { url: http.url, headers: { 'x-fixture-token': 'secret' } } } },
      { id: 'wrap', name: 'Wrap up', systemPrompt: 'Say goodbye.' }
    ],
    transitions: [{ id: 'done', from: 'lookup', condition: { type: 'tool_call', toolName: 'web_echo' }, action: { targetStage: 'wrap' } }]
  }
  const own = defineTool({ name: 'own_tool', description: 'The app\'s own', parameters: { type: 'object', properties: {} } }, () => 'own')
  const llm = new ScriptedLLM([{ chunks: [], toolCalls: [{ callId: 'c1', name: 'web_echo', arguments: { text: 'order 42' } }] }, ['Found it.'], ['Goodbye.']])
  const app = await buildApp(t, { webrtc: false, demoPage: false, playbook, tools: [own], providers: providers(llm) })
  t.match(app.llmrtcMcp.servers(), [{ name: 'web', stage: playbook.stages[0], state: 'connected' }])
  const session = app.llmrtcSessions.create()
  await app.llmrtcPipeline.textTurn(session, 'Where is order 42?')
  const offered = llm.requests[0]?.tools?.map(tool => tool.name) ?? []
  t.ok(offered.includes('web_echo') && offered.includes('own_tool'), 'the stage offers its server\'s tools beside the server\'s')
  t.same(toolMessages(llm, 1).map(m => m.content), ['{"result":"echo: order 42\\ndone"}'])
  t.same(http.log.calls, ['echo'])
  await app.llmrtcPipeline.textTurn(session, 'Thanks')
  const later = llm.requests.at(-1)?.tools?.map(tool => tool.name) ?? []
  t.same(later, ['own_tool'], 'the next stage does not offer them')
})

t.test('startup goes on when a server is down (onError), fails when it is required, and refuses bad options', async t => {
  const errors: Error[] = []
  const app = await buildApp(t, { webrtc: false, demoPage: false, mcpServers: { gone: { command: '/nonexistent/mcp-server' } }, hooks: { onError: (err) => { errors.push(err) } } })
  t.match(app.llmrtcMcp.servers(), [{ name: 'gone', state: 'disconnected', tools: [] }])
  t.match(errors, [{ code: 'LLMRTC_ERR_MCP_UNAVAILABLE', message: /^MCP server "gone" is unavailable: / }])

  const required = Fastify({ logger: false })
  t.teardown(() => required.close())
  await t.rejects(async () => {
    await required.register(llmrtc, { env: false, webrtc: false, demoPage: false, mcpServers: { gone: { command: '/nonexistent/mcp-server', required: true } } })
    await required.ready()
  }, { code: 'LLMRTC_ERR_MCP_UNAVAILABLE' }, 'a required server that cannot be reached fails startup')

  for (const [mcpServers, message] of [
    [{ web: { url: 'ftp://x' } }, /"mcpServers\.web\.url": expected an http: or https: URL/],
    [{ 'bad name': { command: 'x' } }, /expected a server name/],
    [{ s: { command: 'x', port: 1 } }, /"mcpServers\.s\.port": expected one of transport, command/],
    [{ s: {} }, /"mcpServers\.s\.transport": expected "stdio"/],
    [[], /"mcpServers": expected an object of MCP servers by name/]
  ] as const) {
    const bad = Fastify({ logger: false })
    t.teardown(() => bad.close())
    await t.rejects(async () => {
      await bad.register(llmrtc, { env: false, webrtc: false, demoPage: false, mcpServers: mcpServers as never })
      await bad.ready()
    }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message })
  }
})

t.test('an MCP tool whose name is taken by the app\'s own tool is not offered, and reported', async t => {
  const echo = defineTool({ name: 'echo', description: 'Mine', parameters: { type: 'object', properties: {} } }, () => 'mine')
  const errors: Error[] = []
  const app = await buildApp(t, { webrtc: false, demoPage: false, tools: [echo], mcpServers: { fx: stdioFixture({ toolPrefix: '' }) }, hooks: { onError: (err) => { errors.push(err) } } })
  const status = app.llmrtcMcp.servers()[0]
  t.notOk(status?.tools.includes('echo'))
  t.ok(status?.tools.includes('add'))
  t.match(errors, [{ code: 'LLMRTC_ERR_TOOL_DEFINITION', message: /^Invalid tool "echo": the MCP server "fx" offers a tool of a name already taken/ }])
})

t.test('without MCP servers nothing is connected and the MCP SDK is not loaded', async t => {
  const app = await buildApp(t, { webrtc: false, demoPage: false })
  t.same(app.llmrtcMcp.servers(), [])
  t.equal(app.llmrtcMcp.set, undefined)
})

t.test('app.close() ends the stdio server\'s process: no child is left behind', async t => {
  const app = Fastify({ logger: false })
  await app.register(llmrtc, { env: false, webrtc: false, demoPage: false, mcpServers: { fx: stdioFixture() } })
  await app.ready()
  const pid = app.llmrtcMcp.set!.connection('fx')!.pid!
  t.ok(running(pid))
  await app.close()
  await until(() => !running(pid), 'the child to exit', 10_000)
  t.equal(app.llmrtcMcp.servers()[0]?.state, 'closed')
})
