import { Type } from '@sinclair/typebox'
import t from 'tap'
import { checkTool, defineTool } from '../../../lib/tools/define-tool.js'
import type { Tool } from '../../../lib/tools/types.js'

const orderSchema = {
  type: 'object',
  description: 'Which order to look up',
  properties: { orderId: { type: 'string', description: 'The order number', examples: ['A-1'] } },
  required: ['orderId'],
  additionalProperties: false
}

const noop = (): null => null

t.test('defineTool returns the definition, the handler and the default policy', async t => {
  const handler = (): string => 'ok'
  const tool = defineTool({ name: 'lookup_order', description: 'Finds an order', parameters: orderSchema }, handler)
  t.same(tool.definition, { name: 'lookup_order', description: 'Finds an order', parameters: orderSchema })
  t.equal(tool.handler, handler)
  t.equal(tool.cancelOnBargeIn, true)
  t.equal(tool.timeoutMs, undefined)
  t.notOk('timeoutMs' in tool, 'no timeoutMs key when the policy has none')
})

t.test('defineTool keeps the policy it is given', async t => {
  const tool = defineTool({ name: 'pay', description: '', parameters: { type: 'object' } }, noop, { cancelOnBargeIn: false, timeoutMs: 30_000 })
  t.equal(tool.cancelOnBargeIn, false)
  t.equal(tool.timeoutMs, 30_000)
})

t.test('the definition is a frozen copy: changing the schema afterwards changes neither what the LLM sees nor the validation', async t => {
  const parameters: Record<string, unknown> = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }
  const tool = defineTool({ name: 't', description: 'd', parameters }, noop)
  ;(parameters.required as string[]).push('b')
  parameters.properties = {}
  t.same(tool.definition.parameters, { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })
  t.ok(Object.isFrozen(tool), 'the tool is frozen')
  t.ok(Object.isFrozen(tool.definition), 'the definition is frozen')
  t.ok(Object.isFrozen((tool.definition.parameters.properties as Record<string, object>).a), 'the schema is frozen deeply')
  const validate = checkTool(tool)
  t.equal(validate({ a: 'x' }), true)
  t.equal(validate({ a: 1 }), false)
})

t.test('the schema is compiled once, when the tool is defined', async t => {
  const tool = defineTool({ name: 't', description: 'd', parameters: orderSchema }, noop)
  const validate = checkTool(tool)
  t.equal(checkTool(tool), validate, 'the same validator every time')
  t.equal(checkTool({ ...tool, timeoutMs: 5 }), validate, 'a copy with another policy shares it')
})

t.test('names follow OpenAI\'s rule: 1 to 64 letters, digits, "_" or "-"', async t => {
  for (const name of ['a', 'lookup_order', 'get-weather2', 'x'.repeat(64)]) {
    t.doesNotThrow(() => defineTool({ name, description: '', parameters: { type: 'object' } }, noop), name)
  }
  for (const name of ['', 'has space', 'dot.ted', 'ünicode', 'x'.repeat(65)]) {
    t.throws(() => defineTool({ name, description: '', parameters: { type: 'object' } }, noop), {
      code: 'LLMRTC_ERR_TOOL_DEFINITION',
      message: `Invalid tool "${name}": expected the name to be 1 to 64 letters, digits, "_" or "-"`
    }, JSON.stringify(name))
  }
  try {
    defineTool({ name: 'a b', description: '', parameters: { type: 'object' } }, noop)
    t.fail('should throw')
  } catch (err) {
    t.ok(err instanceof TypeError, 'a bad definition is a TypeError')
  }
  t.throws(() => defineTool({ name: 42 as unknown as string, description: '', parameters: { type: 'object' } }, noop), {
    code: 'LLMRTC_ERR_TOOL_DEFINITION',
    message: /instead got number/
  })
  t.throws(() => defineTool(undefined as unknown as Tool['definition'], noop), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
})

t.test('a description that is not a string is refused', async t => {
  t.throws(() => defineTool({ name: 't', description: undefined as unknown as string, parameters: { type: 'object' } }, noop), {
    code: 'LLMRTC_ERR_TOOL_DEFINITION',
    message: 'Invalid tool "t": expected the description to be a string, instead got undefined'
  })
})

t.test('parameters must be a JSON Schema of type object', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /expected parameters to be a JSON Schema object, instead got undefined/],
    [null, /instead got null/],
    [[], /instead got an array/],
    [{ properties: {} }, /of type "object", instead got type undefined/],
    [{ type: 'string' }, /of type "object", instead got type "string"/],
    [{ type: 'object', properties: { a: { type: 'strnig' } } }, /parameters is not a valid JSON Schema: /],
    [{ type: 'object', required: 'a' }, /parameters is not a valid JSON Schema: /],
    [{ type: 'object', $async: true }, /must not be an \$async schema/],
    [{ type: 'object', default: () => 1 }, /parameters must be plain JSON data/]
  ]
  for (const [parameters, message] of cases) {
    t.throws(() => defineTool({ name: 't', description: '', parameters: parameters as Record<string, unknown> }, noop), { code: 'LLMRTC_ERR_TOOL_DEFINITION', message }, JSON.stringify(parameters))
  }
})

t.test('schema annotations and unknown keywords are allowed', async t => {
  const parameters = { type: 'object', title: 'Args', 'x-internal': true, properties: { when: { type: 'string', format: 'date-time', description: 'ISO time' } } }
  t.doesNotThrow(() => defineTool({ name: 't', description: '', parameters }, noop))
})

t.test('two tools may use schemas with the same $id', async t => {
  const parameters = { $id: 'https://example.com/args', type: 'object', properties: { a: { $ref: '#/definitions/a' } }, definitions: { a: { type: 'string' } } }
  const one = defineTool({ name: 'one', description: '', parameters }, noop)
  const two = defineTool({ name: 'two', description: '', parameters: { ...parameters, definitions: { a: { type: 'number' } } } }, noop)
  t.equal(checkTool(one)({ a: 'x' }), true)
  t.equal(checkTool(two)({ a: 'x' }), false, 'each keeps its own schema')
  t.equal(checkTool(two)({ a: 1 }), true)
})

t.test('the handler and the policy are checked', async t => {
  const definition = { name: 't', description: '', parameters: { type: 'object' } }
  t.throws(() => defineTool(definition, 'nope' as unknown as typeof noop), { code: 'LLMRTC_ERR_TOOL_DEFINITION', message: /handler to be a function, instead got string/ })
  t.throws(() => defineTool(definition, noop, { timeoutMs: 0 }), { code: 'LLMRTC_ERR_TOOL_DEFINITION', message: /timeoutMs to be a positive number of ms, instead got 0/ })
  t.throws(() => defineTool(definition, noop, { timeoutMs: Number.NaN }), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
  t.throws(() => defineTool(definition, noop, { cancelOnBargeIn: 'no' as unknown as boolean }), { code: 'LLMRTC_ERR_TOOL_DEFINITION', message: /cancelOnBargeIn to be a boolean/ })
})

t.test('a tool built by hand is checked and compiled on first use', async t => {
  const handMade: Tool = { definition: { name: 'hand', description: '', parameters: { type: 'object', required: ['a'] } }, handler: noop }
  const validate = checkTool(handMade)
  t.equal(validate({}), false)
  t.equal(checkTool(handMade), validate)
  t.throws(() => checkTool({ ...handMade, definition: { ...handMade.definition, parameters: { type: 'array' } } }), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
  t.throws(() => checkTool({ ...handMade, timeoutMs: -1 }), { code: 'LLMRTC_ERR_TOOL_DEFINITION' }, 'the policy is checked even when the schema is compiled')
})

t.test('a typed tool fits in a list of tools', async t => {
  const typed = defineTool<{ orderId: string }, { status: string }>(
    { name: 'lookup_order', description: '', parameters: orderSchema },
    async ({ orderId }) => ({ status: orderId.toUpperCase() })
  )
  const tools: Tool[] = [typed]
  t.equal(tools.length, 1)
})

t.test('a TypeBox schema is the tool\'s parameters: plain JSON for the LLM, checked like any schema', async t => {
  const tool = defineTool({
    name: 'lookup_order',
    description: 'Finds an order',
    parameters: Type.Object({ orderId: Type.String() })
  }, ({ orderId }) => orderId.toUpperCase())
  t.same(JSON.parse(JSON.stringify(tool.definition.parameters)), { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] })
  t.same(Object.getOwnPropertySymbols(tool.definition.parameters), [], 'TypeBox\'s symbols stay out of the definition')
  const validate = checkTool(tool)
  t.equal(validate({ orderId: 'A1' }), true)
  t.equal(validate({ orderId: 1 }), false)
  t.equal(await tool.handler({ orderId: 'a1' }, { signal: new AbortController().signal, sessionId: 's', turnId: 't', callId: 'c', data: {} }), 'A1')
})
