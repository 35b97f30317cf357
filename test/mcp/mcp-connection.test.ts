import t from 'tap'
import { ToolExecutor } from '../../lib/tools/tool-executor.js'
import type { Tool } from '../../lib/tools/types.js'
import { until } from '../../testing/wait.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { startHttpFixture } from './fixtures/test-mcp-server.js'
import { connection, running, stdioFixture } from './helpers.js'

const ctx = (signal = new AbortController().signal): { signal: AbortSignal, sessionId: string, turnId: string, data: Record<string, unknown> } => ({ signal, sessionId: 's1', turnId: 't1', data: {} })
const find = (tools: readonly Tool[], name: string): Tool => {
  const tool = tools.find(candidate => candidate.definition.name === name)
  if (tool === undefined) throw new Error(`no tool ${name}`)
  return tool
}
const call = (name: string, args: Record<string, unknown> = {}): { callId: string, name: string, arguments: Record<string, unknown> } => ({ callId: `c-${name}`, name, arguments: args })

t.test('a stdio server\'s tools are listed with its prefix and schemas, and their results reach the LLM', async t => {
  const { connection: fx } = connection(t, 'fx', stdioFixture())
  await fx.start()
  t.equal(fx.state, 'connected')
  t.ok(running(fx.pid!), 'the server runs as a child process')
  const names = fx.tools.map(tool => tool.definition.name)
  t.same(names, ['fx_echo', 'fx_add', 'fx_slow', 'fx_fail', 'fx_whoami', 'fx_cancelled_count', 'fx_grow'])
  const add = find(fx.tools, 'fx_add')
  t.match(add.definition, { description: 'Adds two numbers', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } })
  t.notOk('$schema' in add.definition.parameters, 'the schema dialect is dropped')

  const executor = new ToolExecutor()
  const lookup = (name: string): Tool | undefined => fx.tools.find(tool => tool.definition.name === name)
  const [echo, sum, failed, invalid] = await executor.executeAll([call('fx_echo', { text: 'hi' }), call('fx_add', { a: 2, b: 3 }), call('fx_fail'), call('fx_add', { a: 'x' })], lookup, ctx())
  t.same(echo?.result, 'echo: hi\ndone', 'text blocks are joined')
  t.same(sum?.result, { sum: 5 }, 'structuredContent is the result')
  t.equal(failed?.error, 'Tool "fx_fail" failed: MCP server "fx" reported an error: the order does not exist', 'isError is an error result naming the server')
  t.match(invalid, { errorCode: 'LLMRTC_ERR_TOOL_INVALID_ARGUMENTS' }, 'arguments are checked against the server\'s schema before the call')
})

t.test('a call past its deadline ends with the timeout error, and the server is told to cancel it', async t => {
  const http = await startHttpFixture()
  t.teardown(http.close)
  const { connection: web } = connection(t, 'web', { url: http.url, headers: { 'x-fixture-token': 'secret' }, timeoutMs: 200 })
  await web.start()
  const clock = new FakeClock()
  const executor = new ToolExecutor({ clock })
  const pending = executor.execute(call('web_slow', { ms: 60_000 }), find(web.tools, 'web_slow'), ctx())
  await until(() => http.log.calls.includes('slow'), 'the call to reach the server')
  clock.advance(200)
  const outcome = await pending
  t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_TIMEOUT')
  t.equal(outcome.error, 'Tool "web_slow" did not finish within 200 ms')
  await until(() => http.log.cancelled === 1, 'the server to see notifications/cancelled')
  t.pass('the server\'s handler saw its signal abort')
})

t.test('barge-in cancels a running call on the server', async t => {
  const http = await startHttpFixture()
  t.teardown(http.close)
  const { connection: web } = connection(t, 'web', { url: http.url, headers: { 'x-fixture-token': 'secret' } })
  await web.start()
  const turn = new AbortController()
  const pending = new ToolExecutor().execute(call('web_slow', { ms: 60_000 }), find(web.tools, 'web_slow'), ctx(turn.signal))
  await until(() => http.log.calls.includes('slow'), 'the call to reach the server')
  turn.abort()
  t.match(await pending, { cancelled: true, error: undefined })
  await until(() => http.log.cancelled === 1, 'the server to see notifications/cancelled')
  t.pass('the server\'s handler saw its signal abort')
})

t.test('a killed stdio server: its tools report it unavailable, then it is restarted and they work again', async t => {
  const { connection: fx, clock, errors } = connection(t, 'fx', stdioFixture({ reconnectDelayMs: 1000 }))
  await fx.start()
  const first = fx.pid!
  process.kill(first, 'SIGKILL')
  await until(() => fx.state === 'disconnected', 'the drop to be seen')
  t.match(errors, [{ code: 'LLMRTC_ERR_MCP_UNAVAILABLE', message: /^MCP server "fx" is unavailable/ }], 'reported once')
  const executor = new ToolExecutor()
  const whoami = find(fx.tools, 'fx_whoami')
  const down = await executor.execute(call('fx_whoami'), whoami, ctx())
  t.match(down.error, /^Tool "fx_whoami" failed: MCP server "fx" is unavailable: /, 'the LLM is told the server is unavailable')
  clock.advance(999)
  t.equal(fx.state, 'disconnected', 'not before the backoff delay')
  clock.advance(1)
  await until(() => fx.state === 'connected', 'the reconnection', 10_000)
  const up = await executor.execute(call('fx_whoami'), find(fx.tools, 'fx_whoami'), ctx())
  t.not(up.result, String(first), 'a new server process answers')
  t.equal(up.result, String(fx.pid))
  t.equal(errors.length, 1)
})

t.test('a server that cannot start is retried with a doubling, capped delay; a required one fails start()', async t => {
  const { connection: missing, clock, errors } = connection(t, 'gone', { command: '/nonexistent/mcp-server', reconnectDelayMs: 100, maxReconnectDelayMs: 250 })
  await missing.start()
  t.equal(missing.state, 'disconnected')
  t.equal(missing.tools.length, 0)
  t.equal(errors.length, 1)
  for (const step of [99, 1, 199, 1, 249, 1]) {
    clock.advance(step)
    // The attempts run in between; each failed one schedules the next.
    if (step === 1) await until(() => clock.pending === 1 && missing.state === 'disconnected', 'the next attempt to fail')
  }
  t.equal(errors.length, 1, 'reported once per outage')
  const { connection: required } = connection(t, 'needed', { command: '/nonexistent/mcp-server', required: true })
  await t.rejects(required.start(), { code: 'LLMRTC_ERR_MCP_UNAVAILABLE', message: /^MCP server "needed" is unavailable: / })
})

t.test('an HTTP server: headers are sent, tools are called, a stopped server is unavailable and reconnected', async t => {
  const http = await startHttpFixture()
  t.teardown(http.close)
  const { connection: refused } = connection(t, 'web', { url: http.url, required: true })
  await t.rejects(refused.start(), { code: 'LLMRTC_ERR_MCP_UNAVAILABLE' }, 'without the header the server refuses')

  const { connection: web, clock, errors } = connection(t, 'web', { url: http.url, headers: { 'x-fixture-token': 'secret' }, toolPrefix: '' })
  await web.start()
  t.ok(web.tools.some(tool => tool.definition.name === 'echo'), 'toolPrefix "" keeps the server\'s names')
  const executor = new ToolExecutor()
  t.equal((await executor.execute(call('echo', { text: 'web' }), find(web.tools, 'echo'), ctx())).result, 'echo: web\ndone')

  await http.close()
  const down = await executor.execute(call('echo', { text: 'web' }), find(web.tools, 'echo'), ctx())
  t.match(down.error, /MCP server "web" is unavailable/)
  t.equal(web.state, 'disconnected')
  t.equal(errors.length, 1)
  const again = await startHttpFixture(http.port)
  t.teardown(again.close)
  clock.advance(500)
  await until(() => web.state === 'connected', 'the reconnection', 10_000)
  t.equal((await executor.execute(call('echo', { text: 'back' }), find(web.tools, 'echo'), ctx())).result, 'echo: back\ndone')
})

t.test('tools are listed again on notifications/tools/list_changed', async t => {
  const { connection: fx, toolChanges } = connection(t, 'fx', stdioFixture())
  await fx.start()
  const before = toolChanges()
  t.notOk(fx.tools.some(tool => tool.definition.name === 'fx_extra'))
  await new ToolExecutor().execute(call('fx_grow'), find(fx.tools, 'fx_grow'), ctx())
  await until(() => toolChanges() > before, 'the refreshed list')
  t.ok(fx.tools.some(tool => tool.definition.name === 'fx_extra'), 'the new tool is offered')
})

t.test('close() ends the stdio server\'s process and is idempotent', async t => {
  const { connection: fx } = connection(t, 'fx', stdioFixture())
  await fx.start()
  const pid = fx.pid!
  await fx.close()
  await fx.close()
  await until(() => !running(pid), 'the child to exit')
  t.equal(fx.state, 'closed')
  t.match(await new ToolExecutor().execute(call('fx_echo', { text: 'x' }), find(fx.tools, 'fx_echo'), ctx()), { error: /MCP server "fx" is unavailable/ })
})
