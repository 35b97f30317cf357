import t from 'tap'
import { silentLogger } from '../../lib/logger.js'
import { validatePlaybook } from '../../lib/playbooks/validate-playbook.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { resolveMcpServers } from '../../lib/tools/mcp/mcp-options.js'
import { McpServers } from '../../lib/tools/mcp/mcp-servers.js'
import { mcpTool, resultOf } from '../../lib/tools/mcp/mcp-tool.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import type { Tool } from '../../lib/tools/types.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { startHttpFixture } from './fixtures/test-mcp-server.js'

const schema = { type: 'object', properties: {} }
const tool = (name: string): Tool => defineTool({ name, description: name, parameters: schema }, () => name)
const noCall = async (): Promise<never> => await Promise.reject(new Error('not called'))

t.test('a registry lists and finds its sources\' tools after its own, which win a shared name', async t => {
  let live = [tool('mcp_a'), tool('own')]
  const registry = new ToolRegistry([tool('own')]).addSource({ tools: () => live })
  t.same(registry.list().map(entry => entry.definition.name), ['own', 'mcp_a'])
  t.equal(registry.size, 2)
  t.equal(registry.get('own'), registry.list()[0], 'the registered tool wins')
  t.ok(registry.has('mcp_a'))
  live = [tool('mcp_b')]
  t.same(registry.definitions().map(definition => definition.name), ['own', 'mcp_b'], 'read on every listing')
  t.notOk(registry.has('mcp_a'))
  t.equal(registry.get('nothing'), undefined)
})

t.test('what the LLM reads of an MCP result: structuredContent, else text with other blocks named; isError throws', async t => {
  t.same(resultOf('s', { content: [{ type: 'text', text: 'a' }], structuredContent: { n: 1 } }), { n: 1 })
  t.equal(resultOf('s', {
    content: [
      { type: 'text', text: 'a' },
      { type: 'image', data: 'xx', mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'file:///a.txt', text: 'inside' } },
      { type: 'resource', resource: { uri: 'file:///b.bin', blob: 'xx' } },
      { type: 'resource_link', uri: 'file:///c' },
      { type: 'audio' }
    ]
  }), 'a\n[image image/png]\ninside\n[resource file:///b.bin]\n[resource file:///c]\n[audio]')
  t.equal(resultOf('s', {}), '')
  t.throws(() => resultOf('crm', { isError: true, content: [{ type: 'text', text: 'no such order' }] }), { code: 'LLMRTC_ERR_MCP_TOOL_ERROR', message: 'MCP server "crm" reported an error: no such order' })
  t.throws(() => resultOf('crm', { isError: true }), { message: 'MCP server "crm" reported an error: the tool failed' })
})

t.test('MCP tool names take the prefix and lose characters tools may not have; too long a name is refused', async t => {
  const made = mcpTool({ name: 'files/read.v2', title: 'Read', inputSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' } }, { server: 'fs', toolPrefix: 'fs_', timeoutMs: 500, cancelOnBargeIn: false, call: noCall })
  t.match(made, { definition: { name: 'fs_files_read_v2', description: 'Read', parameters: { type: 'object' } }, timeoutMs: 500, cancelOnBargeIn: false })
  t.throws(() => mcpTool({ name: 'x'.repeat(64), inputSchema: { type: 'object' } }, { server: 'fs', toolPrefix: 'fs_', timeoutMs: undefined, cancelOnBargeIn: true, call: noCall }), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
})

t.test('server options: defaults, and each bad value named', async t => {
  t.same(resolveMcpServers(undefined), [])
  t.match(resolveMcpServers({ a: { command: 'srv' }, b: { url: 'http://127.0.0.1/mcp', transport: 'http' } }), [
    { name: 'a', transport: 'stdio', command: 'srv', args: [], toolPrefix: 'a_', required: false, cancelOnBargeIn: true, connectTimeoutMs: 10_000, reconnectDelayMs: 500, maxReconnectDelayMs: 30_000 },
    { name: 'b', transport: 'http', headers: {} }
  ])
  for (const [servers, key] of [
    [{ a: null }, 'mcpServers.a'],
    [{ a: { command: '' } }, 'mcpServers.a.command'],
    [{ a: { command: 'x', url: 'http://x' } }, 'mcpServers.a.url'],
    [{ a: { url: 'http://x', command: 'x', transport: 'http' } }, 'mcpServers.a.command'],
    [{ a: { url: 'not a url' } }, 'mcpServers.a.url'],
    [{ a: { command: 'x', args: [1] } }, 'mcpServers.a.args'],
    [{ a: { command: 'x', env: { A: 1 } } }, 'mcpServers.a.env'],
    [{ a: { command: 'x', cwd: '' } }, 'mcpServers.a.cwd'],
    [{ a: { url: 'http://x', headers: 'h' } }, 'mcpServers.a.headers'],
    [{ a: { command: 'x', toolPrefix: 'a b' } }, 'mcpServers.a.toolPrefix'],
    [{ a: { command: 'x', required: 'yes' } }, 'mcpServers.a.required'],
    [{ a: { command: 'x', timeoutMs: 0 } }, 'mcpServers.a.timeoutMs'],
    [{ a: { command: 'x', reconnectDelayMs: 1.5 } }, 'mcpServers.a.reconnectDelayMs']
  ] as const) {
    t.throws(() => resolveMcpServers(servers), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: new RegExp(`"${key.replace(/\./g, '\\.')}"`) }, key)
  }
})

t.test('a playbook stage\'s bad mcpServers fail its validation, naming the stage', async t => {
  const playbook = { id: 'p', name: 'P', initialStage: 'a', transitions: [], stages: [{ id: 'a', name: 'A', systemPrompt: 'x', mcpServers: { s: { url: 'ftp://x' } } }] }
  t.throws(() => validatePlaybook(playbook), { code: 'LLMRTC_ERR_PLAYBOOK_INVALID', message: /stage "a": .*"mcpServers\.s\.url": expected an http: or https: URL/ })
})

t.test('two servers of one name are refused; a later server\'s tool of a taken name is not offered, and reported once', async t => {
  const clock = new FakeClock()
  t.throws(() => new McpServers({ servers: resolveMcpServers({ a: { command: 'x' } }), stages: [{ stage: {}, servers: resolveMcpServers({ a: { command: 'y' } }) }], clock, log: silentLogger, onError: () => {} }), { code: 'LLMRTC_ERR_TOOL_DEFINITION', message: /two MCP servers have this name/ })

  const http = await startHttpFixture()
  t.teardown(http.close)
  const errors: Array<[string, string]> = []
  const headers = { 'x-fixture-token': 'secret' }
  const set = new McpServers({
    servers: resolveMcpServers({ one: { url: http.url, headers, toolPrefix: '' }, two: { url: http.url, headers, toolPrefix: '' } }),
    reservedNames: () => new Set(['whoami']),
    clock,
    log: silentLogger,
    onError: (err, server) => { errors.push([server, (err as Error & { code: string }).code]) }
  })
  t.teardown(() => set.close())
  await set.start()
  const [one, two] = set.status()
  t.ok(one?.tools.includes('echo'))
  t.notOk(one?.tools.includes('whoami'), 'a name the app\'s tools have is not offered')
  t.same(two?.tools, [], 'every name of the second server is taken')
  t.equal(errors.filter(([server]) => server === 'one').length, 1)
  t.equal(errors.filter(([server]) => server === 'two').length, 7)
  t.same(set.serverTools.tools().map(entry => entry.definition.name), one?.tools)
  t.same(set.stageTools({}).tools(), [])
  t.equal(set.connection('nope'), undefined)
})
