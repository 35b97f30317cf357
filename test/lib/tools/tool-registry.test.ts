import t from 'tap'
import { defineTool } from '../../../lib/tools/define-tool.js'
import { ToolRegistry } from '../../../lib/tools/tool-registry.js'
import type { Tool } from '../../../lib/tools/types.js'

function tool (name: string): Tool {
  return defineTool({ name, description: `${name} tool`, parameters: { type: 'object', properties: { q: { type: 'string' } } } }, () => name)
}

t.test('a registry built from a list finds its tools by name and keeps their order', async t => {
  const weather = tool('weather')
  const orders = tool('orders')
  const registry = new ToolRegistry([weather, orders])
  t.equal(registry.size, 2)
  t.equal(registry.get('weather'), weather)
  t.equal(registry.get('nope'), undefined)
  t.ok(registry.has('orders'))
  t.notOk(registry.has('nope'))
  t.same(registry.list(), [weather, orders])
  t.same(new ToolRegistry().list(), [])
})

t.test('definitions are what the LLM is sent: name, description and schema, in order', async t => {
  const registry = new ToolRegistry([tool('b'), tool('a')])
  t.same(registry.definitions(), [
    { name: 'b', description: 'b tool', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
    { name: 'a', description: 'a tool', parameters: { type: 'object', properties: { q: { type: 'string' } } } }
  ])
  t.same(Object.keys(registry.definitions()[0] ?? {}), ['name', 'description', 'parameters'], 'no policy or handler leaks into a definition')
})

t.test('registering a name twice is refused', async t => {
  const registry = new ToolRegistry([tool('weather')])
  t.throws(() => registry.register(tool('weather')), {
    code: 'LLMRTC_ERR_TOOL_DEFINITION',
    message: 'Invalid tool "weather": a tool with this name is already registered'
  })
  t.throws(() => new ToolRegistry([tool('x'), tool('x')]), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
  t.equal(registry.size, 1, 'the first one stays')
})

t.test('register chains and the list is a copy', async t => {
  const registry = new ToolRegistry().register(tool('a')).register(tool('b'))
  registry.list().pop()
  t.equal(registry.size, 2)
})

t.test('an invalid tool built by hand is refused at registration', async t => {
  const handMade = { definition: { name: 'bad name', description: '', parameters: { type: 'object' } }, handler: () => null }
  t.throws(() => new ToolRegistry([handMade]), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
  const badSchema = { definition: { name: 'ok', description: '', parameters: { type: 'object', properties: 3 } }, handler: () => null }
  t.throws(() => new ToolRegistry([badSchema]), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
})

t.test('get works detached, as an executeAll lookup', async t => {
  const weather = tool('weather')
  const { get } = new ToolRegistry([weather])
  t.equal(['weather'].map(get)[0], weather)
})
