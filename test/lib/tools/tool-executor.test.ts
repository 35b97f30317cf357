import { setImmediate as tick } from 'node:timers/promises'
import t from 'tap'
import { parseArguments } from '../../../lib/providers/openai/tool-call-accumulator.js'
import type { ToolCallRequest } from '../../../lib/providers/types.js'
import { defineTool } from '../../../lib/tools/define-tool.js'
import { ToolExecutor, toolResultMessage, type ToolExecutionContext } from '../../../lib/tools/tool-executor.js'
import type { Tool, ToolCallOutcome, ToolContext, ToolHandler, ToolPolicy } from '../../../lib/tools/types.js'
import { ToolRegistry } from '../../../lib/tools/tool-registry.js'
import { FakeClock } from '../../helpers/fake-clock.js'

const orderSchema = {
  type: 'object',
  properties: { orderId: { type: 'string' }, verbose: { type: 'boolean' } },
  required: ['orderId'],
  additionalProperties: false
}

function orderTool (handler: ToolHandler<{ orderId: string }>, policy?: ToolPolicy): Tool<{ orderId: string }> {
  return defineTool<{ orderId: string }>({ name: 'lookup_order', description: 'Finds an order', parameters: orderSchema }, handler, policy)
}

function turn (): { abort: AbortController, ctx: ToolExecutionContext } {
  const abort = new AbortController()
  return { abort, ctx: { signal: abort.signal, sessionId: 'session-1', turnId: 'turn-1', data: { plan: 'gold' } } }
}

function call (args: unknown, callId = 'call-1', name = 'lookup_order'): ToolCallRequest {
  return { callId, name, arguments: args as Record<string, unknown> }
}

interface Deferred<T> { promise: Promise<T>, resolve: (value: T) => void, reject: (err: unknown) => void }

function deferred<T = void> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}

/** A handler that waits to be released, recording that it started and what it was given. */
function gate<T = unknown> (): { handler: ToolHandler<{ orderId: string }>, started: Deferred<ToolContext>, release: Deferred<T>, calls: number } {
  const started = deferred<ToolContext>()
  const release = deferred<T>()
  const state = {
    started,
    release,
    calls: 0,
    handler: async (_args: { orderId: string }, ctx: ToolContext): Promise<T> => {
      state.calls++
      started.resolve(ctx)
      return await release.promise
    }
  }
  return state
}

function executor (options: { timeoutMs?: number, maxConcurrency?: number } = {}): { executor: ToolExecutor, clock: FakeClock } {
  const clock = new FakeClock()
  return { executor: new ToolExecutor({ clock, ...options }), clock }
}

t.test('a valid call runs the handler with its arguments and context, and returns the result', async t => {
  const { executor: exec, clock } = executor()
  const { ctx } = turn()
  let seen: { args: unknown, ctx: ToolContext } | undefined
  const tool = orderTool((args, toolCtx) => {
    seen = { args, ctx: toolCtx }
    return { status: 'shipped', orderId: args.orderId }
  })
  const outcome = await exec.execute(call({ orderId: 'A-1' }), tool, { ...ctx, stageId: 'billing' })
  t.same(outcome, { callId: 'call-1', name: 'lookup_order', arguments: { orderId: 'A-1' }, result: { status: 'shipped', orderId: 'A-1' }, durationMs: 0, cancelled: false })
  t.notOk('error' in outcome)
  t.same(seen?.args, { orderId: 'A-1' })
  t.equal(seen?.ctx.sessionId, 'session-1')
  t.equal(seen?.ctx.turnId, 'turn-1')
  t.equal(seen?.ctx.callId, 'call-1')
  t.equal(seen?.ctx.stageId, 'billing')
  t.equal(seen?.ctx.data, ctx.data, 'the session data object itself, so tools can update it')
  t.equal(seen?.ctx.signal.aborted, false)
  t.equal(clock.pending, 0, 'no timer is left behind')
})

t.test('durationMs is measured with the clock from start to outcome', async t => {
  const { executor: exec, clock } = executor()
  const gated = gate()
  const pending = exec.execute(call({ orderId: 'A-1' }), orderTool(gated.handler), turn().ctx)
  await gated.started.promise
  clock.advance(250)
  gated.release.resolve('done')
  const outcome = await pending
  t.equal(outcome.durationMs, 250)
  t.equal(outcome.result, 'done')
})

t.test('an unknown tool is an error outcome the LLM can read', async t => {
  const { executor: exec } = executor()
  const events: string[] = []
  const outcome = await exec.execute(call({}, 'call-9', 'nope'), undefined, turn().ctx, {
    onStart: c => events.push(`start ${c.name}`),
    onEnd: o => events.push(`end ${o.errorCode ?? ''}`)
  })
  t.equal(outcome.error, 'Unknown tool "nope"')
  t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_UNKNOWN')
  t.equal(outcome.cancelled, false)
  t.notOk('result' in outcome)
  t.same(events, ['start nope', 'end LLMRTC_ERR_TOOL_UNKNOWN'], 'an invalid call still starts and ends for the client')
})

t.test('invalid arguments are refused before the handler runs, naming the first offending field', async t => {
  const { executor: exec } = executor()
  let ran = 0
  const tool = orderTool(() => { ran++ })
  const cases: Array<[unknown, string]> = [
    [{ orderId: 42 }, 'Invalid arguments for tool "lookup_order": /orderId must be string'],
    [{}, 'Invalid arguments for tool "lookup_order": must have required property \'orderId\''],
    [{ orderId: 'A-1', extra: 1 }, 'Invalid arguments for tool "lookup_order": must NOT have additional properties ("extra")'],
    [{ orderId: 'A-1', verbose: 'yes' }, 'Invalid arguments for tool "lookup_order": /verbose must be boolean'],
    [parseArguments('{"orderId": "A-'), 'Invalid arguments for tool "lookup_order": the arguments are not a JSON object'],
    [parseArguments('["A-1"]'), 'Invalid arguments for tool "lookup_order": the arguments are not a JSON object'],
    [null, 'Invalid arguments for tool "lookup_order": the arguments are not a JSON object']
  ]
  for (const [args, error] of cases) {
    const outcome = await exec.execute(call(args), tool, turn().ctx)
    t.equal(outcome.error, error, JSON.stringify(args))
    t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_INVALID_ARGUMENTS')
    t.equal(outcome.arguments, args, 'the outcome keeps the arguments as the model sent them')
  }
  t.equal(ran, 0, 'the handler never ran')
})

t.test('extra fields pass when the schema allows them', async t => {
  const { executor: exec } = executor()
  const tool = defineTool({ name: 'open', description: '', parameters: { type: 'object', properties: { a: { type: 'string' } } } }, args => Object.keys(args))
  const outcome = await exec.execute(call({ a: 'x', b: 2 }, 'c', 'open'), tool, turn().ctx)
  t.same(outcome.result, ['a', 'b'])
})

t.test('a tool built by hand with a broken schema is an error outcome, not a throw', async t => {
  const { executor: exec } = executor()
  const broken: Tool = { definition: { name: 'broken', description: '', parameters: { type: 'object', required: 'a' } }, handler: () => 1 }
  const outcome = await exec.execute(call({}, 'c', 'broken'), broken, turn().ctx)
  t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_DEFINITION')
  t.match(outcome.error, /^Invalid tool "broken": parameters is not a valid JSON Schema/)
})

t.test('a handler that runs past its deadline times out, and its signal is aborted', async t => {
  const { executor: exec, clock } = executor({ timeoutMs: 1000 })
  const gated = gate()
  let settled = false
  const pending = exec.execute(call({ orderId: 'A-1' }), orderTool(gated.handler), turn().ctx).finally(() => { settled = true })
  const toolCtx = await gated.started.promise
  clock.advance(999)
  await tick()
  t.equal(settled, false, 'not before the deadline')
  t.equal(toolCtx.signal.aborted, false)
  clock.advance(1)
  const outcome = await pending
  t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_TIMEOUT')
  t.equal(outcome.error, 'Tool "lookup_order" did not finish within 1000 ms')
  t.equal(outcome.cancelled, false)
  t.equal(toolCtx.signal.aborted, true, 'the handler is told to stop')
  t.match(toolCtx.signal.reason, { code: 'LLMRTC_ERR_TOOL_TIMEOUT' })
  t.equal(clock.pending, 0)
})

t.test('a tool\'s own timeoutMs wins over the executor\'s', async t => {
  const { executor: exec, clock } = executor({ timeoutMs: 10_000 })
  const handler: ToolHandler<{ orderId: string }> = async (_args, { signal }) => await new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => { reject(signal.reason) })
  })
  const started = deferred()
  const pending = exec.execute(call({ orderId: 'A-1' }), orderTool(handler, { timeoutMs: 50 }), turn().ctx, { onStart: () => { started.resolve() } })
  await started.promise
  clock.advance(50)
  const outcome = await pending
  t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_TIMEOUT', 'a handler rejecting on abort still reads as a timeout')
  t.equal(outcome.error, 'Tool "lookup_order" did not finish within 50 ms')
})

t.test('deadlines work on the system clock too', async t => {
  const exec = new ToolExecutor()
  // The system clock's timers are unref'd: something else must keep this process alive meanwhile.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(keepAlive) })
  const outcome = await exec.execute(call({ orderId: 'A-1' }), orderTool(gate().handler, { timeoutMs: 20 }), turn().ctx)
  t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_TIMEOUT')
})

t.test('a handler that throws is a failed outcome with the message, its cause kept out of JSON', async t => {
  const { executor: exec, clock } = executor()
  const boom = new Error('database unreachable')
  for (const handler of [() => { throw boom }, async () => { throw boom }]) {
    const outcome = await exec.execute(call({ orderId: 'A-1' }), orderTool(handler), turn().ctx)
    t.equal(outcome.error, 'Tool "lookup_order" failed: database unreachable')
    t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_FAILED')
    t.equal(outcome.cause, boom, 'the cause is there for logs')
    t.notMatch(JSON.stringify(outcome), /cause|stack|\bat /, 'neither cause nor stack is serialised')
  }
  const outcome = await exec.execute(call({ orderId: 'A-1' }), orderTool(() => { throw 'plain string' }), turn().ctx) // eslint-disable-line no-throw-literal
  t.equal(outcome.error, 'Tool "lookup_order" failed: plain string')
  t.equal(clock.pending, 0)
})

t.test('a result that is not JSON-serialisable is a failed outcome', async t => {
  const { executor: exec } = executor()
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  for (const result of [{ big: 1n }, cyclic]) {
    const outcome = await exec.execute(call({ orderId: 'A-1' }), orderTool(() => result), turn().ctx)
    t.equal(outcome.errorCode, 'LLMRTC_ERR_TOOL_FAILED')
    t.match(outcome.error, /^Tool "lookup_order" failed: its result is not JSON-serialisable \(/)
    t.notOk('result' in outcome)
  }
})

t.test('results are kept as plain JSON data', async t => {
  const { executor: exec } = executor()
  const when = new Date('2024-01-02T03:04:05.000Z')
  t.same((await exec.execute(call({ orderId: 'A-1' }), orderTool(() => ({ when, skip: undefined })), turn().ctx)).result, { when: '2024-01-02T03:04:05.000Z' })
  t.equal((await exec.execute(call({ orderId: 'A-1' }), orderTool(() => undefined), turn().ctx)).result, null, 'nothing returned reads as null')
})

t.test('barge-in cancels a cancellable tool: its signal is aborted and its outcome is cancelled', async t => {
  const { executor: exec, clock } = executor()
  const { abort, ctx } = turn()
  const gated = gate()
  const events: string[] = []
  const pending = exec.execute(call({ orderId: 'A-1' }), orderTool(gated.handler), ctx, {
    onStart: () => events.push('start'),
    onEnd: o => events.push(`end cancelled=${String(o.cancelled)}`)
  })
  const toolCtx = await gated.started.promise
  abort.abort()
  const outcome = await pending
  t.equal(outcome.cancelled, true)
  t.notOk('error' in outcome, 'no error for the LLM')
  t.notOk('result' in outcome)
  t.equal(toolCtx.signal.aborted, true)
  t.same(events, ['start', 'end cancelled=true'])
  gated.release.resolve('too late')
  await tick()
  t.equal(clock.pending, 0)
})

t.test('a tool that survives barge-in runs to completion and its outcome is recorded', async t => {
  const { executor: exec } = executor()
  const { abort, ctx } = turn()
  const gated = gate()
  const pending = exec.execute(call({ orderId: 'A-1' }), orderTool(gated.handler, { cancelOnBargeIn: false }), ctx)
  const toolCtx = await gated.started.promise
  abort.abort()
  await tick()
  t.equal(toolCtx.signal.aborted, false, 'the handler is not told to stop')
  gated.release.resolve('paid')
  const outcome = await pending
  t.equal(outcome.cancelled, false)
  t.equal(outcome.result, 'paid')
})

t.test('a tool that survives barge-in still has a deadline', async t => {
  const { executor: exec, clock } = executor({ timeoutMs: 100 })
  const { abort, ctx } = turn()
  const gated = gate()
  const pending = exec.execute(call({ orderId: 'A-1' }), orderTool(gated.handler, { cancelOnBargeIn: false }), ctx)
  const toolCtx = await gated.started.promise
  abort.abort()
  clock.advance(100)
  t.equal((await pending).errorCode, 'LLMRTC_ERR_TOOL_TIMEOUT')
  t.equal(toolCtx.signal.aborted, true)
})

t.test('a call on an already aborted turn never starts, whatever its policy', async t => {
  const { executor: exec, clock } = executor()
  const { abort, ctx } = turn()
  abort.abort()
  const events: string[] = []
  const listeners = { onStart: () => events.push('start'), onEnd: () => events.push('end') }
  for (const policy of [{}, { cancelOnBargeIn: false }]) {
    const gated = gate()
    const outcome = await exec.execute(call({ orderId: 'A-1' }), orderTool(gated.handler, policy), ctx, listeners)
    t.same(outcome, { callId: 'call-1', name: 'lookup_order', arguments: { orderId: 'A-1' }, durationMs: 0, cancelled: true })
    t.equal(gated.calls, 0, 'the handler never ran')
  }
  t.equal((await exec.execute(call({}, 'c', 'nope'), undefined, ctx, listeners)).cancelled, true, 'not even an unknown tool is reported')
  t.same(events, [], 'no start, so no end')
  t.equal(clock.pending, 0)
})

t.test('events: start before the handler runs, end with the outcome after it', async t => {
  const { executor: exec } = executor()
  const events: string[] = []
  const tool = orderTool(() => { events.push('handler'); return 1 })
  let ended: ToolCallOutcome | undefined
  const outcome = await exec.execute(call({ orderId: 'A-1' }), tool, turn().ctx, {
    onStart: c => events.push(`start ${c.callId}`),
    onEnd: o => { ended = o; events.push('end') }
  })
  t.same(events, ['start call-1', 'handler', 'end'])
  t.equal(ended, outcome)
})

t.test('a listener that throws does not break the call', async t => {
  const { executor: exec } = executor()
  const outcome = await exec.execute(call({ orderId: 'A-1' }), orderTool(() => 'ok'), turn().ctx, {
    onStart: () => { throw new Error('listener bug') },
    onEnd: () => { throw new Error('listener bug') }
  })
  t.equal(outcome.result, 'ok')
})

t.test('executeAll never runs more handlers at once than maxConcurrency, and returns outcomes in call order', async t => {
  const { executor: exec, clock } = executor({ maxConcurrency: 2 })
  let running = 0
  let maxRunning = 0
  const waiting: Array<() => void> = []
  const tool = orderTool(async ({ orderId }) => {
    running++
    maxRunning = Math.max(maxRunning, running)
    await new Promise<void>(resolve => waiting.push(resolve))
    running--
    return orderId
  })
  const calls = ['a', 'b', 'c', 'd', 'e'].map((id, i) => call({ orderId: id }, `call-${i}`))
  const started: string[] = []
  const pending = exec.executeAll(calls, () => tool, turn().ctx, { onStart: c => started.push(c.callId) })
  let released = 0
  while (released < calls.length) {
    while (waiting.length === 0) await tick()
    t.ok(running <= 2, `${running} handlers running`)
    // Release the newest first, so completion order differs from call order.
    waiting.pop()?.()
    released++
    await tick()
  }
  const outcomes = await pending
  t.equal(maxRunning, 2, 'two at once, never more')
  t.same(outcomes.map(o => o.result), ['a', 'b', 'c', 'd', 'e'])
  t.same(outcomes.map(o => o.callId), ['call-0', 'call-1', 'call-2', 'call-3', 'call-4'])
  t.same(started.slice(0, 2), ['call-0', 'call-1'], 'calls start in order')
  t.equal(clock.pending, 0)
})

t.test('executeAll looks tools up by name and mixes results and errors in call order', async t => {
  const { executor: exec } = executor()
  const registry = new ToolRegistry([orderTool(({ orderId }) => orderId)])
  const outcomes = await exec.executeAll([
    call({ orderId: 'A-1' }, 'c1'),
    call({}, 'c2', 'nope'),
    call({ orderId: 3 }, 'c3'),
    call({ orderId: 'B-2' }, 'c4')
  ], registry.get, turn().ctx)
  t.same(outcomes.map(o => o.result ?? o.errorCode), ['A-1', 'LLMRTC_ERR_TOOL_UNKNOWN', 'LLMRTC_ERR_TOOL_INVALID_ARGUMENTS', 'B-2'])
  t.same(await exec.executeAll([], registry.get, turn().ctx), [])
  const throwing = await exec.executeAll([call({ orderId: 'A-1' })], () => { throw new Error('lookup bug') }, turn().ctx)
  t.equal(throwing[0]?.errorCode, 'LLMRTC_ERR_TOOL_UNKNOWN', 'a lookup that throws reads as an unknown tool')
})

t.test('barge-in during executeAll cancels the running call and starts none of the waiting ones', async t => {
  const { executor: exec } = executor({ maxConcurrency: 1 })
  const { abort, ctx } = turn()
  const gated = gate()
  const tool = orderTool(gated.handler)
  const ends: ToolCallOutcome[] = []
  const pending = exec.executeAll([call({ orderId: 'a' }, 'c1'), call({ orderId: 'b' }, 'c2'), call({ orderId: 'c' }, 'c3')], () => tool, ctx, { onEnd: o => ends.push(o) })
  await gated.started.promise
  abort.abort()
  const outcomes = await pending
  t.same(outcomes.map(o => [o.callId, o.cancelled]), [['c1', true], ['c2', true], ['c3', true]])
  t.equal(gated.calls, 1, 'only the first handler ever ran')
  t.same(ends.map(o => o.callId), ['c1'], 'only the started call ends for the client')
})

t.test('the executor options are checked', async t => {
  t.throws(() => new ToolExecutor({ maxConcurrency: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: 'Invalid llmrtc option "maxConcurrency": expected a positive integer, instead got 0' })
  t.throws(() => new ToolExecutor({ maxConcurrency: 1.5 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new ToolExecutor({ timeoutMs: -1 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"timeoutMs": expected a positive number of ms, instead got -1/ })
  t.throws(() => new ToolExecutor({ timeoutMs: Infinity }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
})

t.test('toolResultMessage answers the call with the result or the error as JSON', async t => {
  const base = { callId: 'c1', name: 'lookup_order', arguments: {}, durationMs: 3, cancelled: false }
  t.same(toolResultMessage({ ...base, result: { status: 'shipped' } }), { role: 'tool', content: '{"result":{"status":"shipped"}}', toolCallId: 'c1', toolName: 'lookup_order' })
  t.same(toolResultMessage({ ...base, result: null }).content, '{"result":null}')
  t.same(toolResultMessage(base).content, '{"result":null}')
  t.same(toolResultMessage({ ...base, error: 'Unknown tool "x"', errorCode: 'LLMRTC_ERR_TOOL_UNKNOWN' }).content, '{"error":"Unknown tool \\"x\\""}')
  t.same(toolResultMessage({ ...base, cancelled: true }).content, '{"error":"Tool \\"lookup_order\\" was cancelled before it finished"}')
})
