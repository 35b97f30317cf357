import t, { type Test } from 'tap'
import { callSignal, classifyProviderError } from '../../lib/pipeline/provider-call.js'
import { AnthropicLLM, AnthropicStreamError, ANTHROPIC_NO_SAMPLING_MODELS, type AnthropicLLMOptions } from '../../lib/providers/anthropic/index.js'
import { isRetryableError } from '../../lib/providers/retry.js'
import type { LLMChunk, LLMRequest } from '../../lib/providers/types.js'
import { apiKeyOf, MOCK_REPLY, startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js'
import { llmConformance } from '../helpers/provider-conformance.js'
import { toolExchangeHistory, weatherTool } from '../helpers/tool-exchange.js'

async function setup (t: Test, options: Partial<AnthropicLLMOptions> = {}): Promise<{ mock: AnthropicMock, llm: AnthropicLLM }> {
  const mock = await startAnthropicMock()
  t.teardown(() => mock.close())
  return { mock, llm: new AnthropicLLM({ apiKey: 'sk-ant-test', baseURL: mock.baseURL, retryDelayMs: 10, ...options }) }
}

async function collect (stream: AsyncIterable<LLMChunk>): Promise<LLMChunk[]> {
  const chunks: LLMChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

const hello: LLMRequest = { messages: [{ role: 'user', content: 'Hello' }] }

t.test('the Anthropic LLM passes the LLM conformance suite against the mock', async t => {
  const { mock, llm } = await setup(t)
  await llmConformance(t, llm)
  t.ok(mock.requests.filter(r => r.body.stream === true).length >= 2, 'stream() sends stream: true')
  const first = mock.requests[0]
  t.equal(first === undefined ? undefined : apiKeyOf(first.headers), 'sk-ant-test', 'the key is sent')
  t.ok(typeof first?.headers['anthropic-version'] === 'string', 'the SDK sends anthropic-version')
  t.match(first?.body, { system: 'Be brief.', messages: [{ role: 'user', content: 'Hello there' }] }, 'the system message becomes the top-level system')
})

t.test('a streamed answer arrives word by word (pings skipped), then one done chunk that says end_turn', async t => {
  const { mock, llm } = await setup(t)
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), MOCK_REPLY)
  t.ok(chunks.length > 5, 'several text chunks')
  t.ok(chunks.slice(0, -1).every(c => c.content !== '' && !c.done), 'no empty chunk before the end')
  t.match(chunks.at(-1), { content: '', done: true, stopReason: 'end_turn' })
  t.notOk(chunks.at(-1)?.toolCalls, 'no tool calls')
  t.same(mock.requests[0]?.body, { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello' }], stream: true })
})

t.test('several tool_use blocks streamed as input_json_delta fragments come whole on the final chunk', async t => {
  const { mock, llm } = await setup(t)
  mock.script({
    type: 'message',
    text: 'Let me look that up.',
    toolUses: [
      { id: 'toolu_01A', name: 'get_weather', input: '{"city":"Paris","unit":"celsius"}' },
      { id: 'toolu_01B', name: 'get_time', input: '{"zone":"Europe/Paris"}' }
    ]
  })
  const chunks = await collect(llm.stream({ ...hello, tools: [weatherTool], toolChoice: 'auto' }))
  t.equal(chunks.filter(c => !c.done).map(c => c.content).join(''), 'Let me look that up.')
  t.ok(chunks.slice(0, -1).every(c => c.toolCalls === undefined), 'tool calls only on the final chunk')
  t.same(chunks.at(-1), {
    content: '',
    done: true,
    stopReason: 'tool_use',
    toolCalls: [
      { callId: 'toolu_01A', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
      { callId: 'toolu_01B', name: 'get_time', arguments: { zone: 'Europe/Paris' } }
    ]
  })
  t.match(mock.requests[0]?.body, {
    tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: weatherTool.parameters }],
    tool_choice: { type: 'auto' }
  })
})

t.test('a tool_use whose streamed input is not valid JSON keeps the raw string', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'message', toolUses: [{ id: 'toolu_1', name: 'get_weather', input: '{"city": "Par' }] })
  const chunks = await collect(llm.stream({ ...hello, tools: [weatherTool] }))
  t.same(chunks, [{ content: '', done: true, stopReason: 'tool_use', toolCalls: [{ callId: 'toolu_1', name: 'get_weather', arguments: '{"city": "Par' }] }])
})

t.test('tool choices map to auto, none, any and a named tool', async t => {
  const { mock, llm } = await setup(t)
  for (const toolChoice of ['auto', 'none', 'required', { type: 'function', name: 'get_weather' }] as const) {
    await llm.complete({ ...hello, tools: [weatherTool], toolChoice })
  }
  t.same(mock.requests.map(r => r.body.tool_choice), [{ type: 'auto' }, { type: 'none' }, { type: 'any' }, { type: 'tool', name: 'get_weather' }])
  await llm.complete(hello)
  t.notOk('tools' in (mock.requests[4]?.body ?? {}), 'no tools field without tools')
})

t.test('complete() returns text, or tool calls with their input, and the stop reason', async t => {
  const { mock, llm } = await setup(t)
  mock.script(
    { type: 'message', text: 'Checking.', toolUses: [{ id: 'toolu_9', name: 'get_weather', input: '{"city":"Oslo"}' }] },
    { type: 'message', text: 'Cut', stopReason: 'max_tokens' }
  )
  const tool = await llm.complete({ ...hello, tools: [weatherTool] })
  t.same({ text: tool.fullText, calls: tool.toolCalls, stop: tool.stopReason }, { text: 'Checking.', calls: [{ callId: 'toolu_9', name: 'get_weather', arguments: { city: 'Oslo' } }], stop: 'tool_use' })
  t.equal(mock.requests[0]?.body.stream, false, 'complete() does not stream')
  const cut = await llm.complete(hello)
  t.same({ text: cut.fullText, stop: cut.stopReason }, { text: 'Cut', stop: 'max_tokens' })
})

t.test('a multi-turn tool exchange is replayed as tool_use blocks and tool_result blocks in one user message', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({
    tools: [weatherTool],
    messages: toolExchangeHistory('toolu_', 'Checking both.')
  })
  const body = mock.requests[0]?.body
  t.equal(body?.system, 'You are terse.')
  t.same(body?.messages, [
    { role: 'user', content: 'Weather in Paris and Oslo?' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking both.' },
        { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: {} }
      ]
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_a', content: '{"temp":18}' },
        { type: 'tool_result', tool_use_id: 'toolu_b', content: 'error: invalid arguments' }
      ]
    },
    { role: 'assistant', content: 'Paris is 18 degrees.' },
    { role: 'user', content: 'Thanks' }
  ])
})

t.test('a history that starts with the assistant (a greeting, a trimmed history) or is empty gets a user turn first', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({ messages: [{ role: 'system', content: 'Be kind.' }, { role: 'assistant', content: 'Hi, how can I help?' }, { role: 'user', content: 'Time?' }] })
  t.same(mock.requests[0]?.body.messages, [
    { role: 'user', content: '(the conversation starts)' },
    { role: 'assistant', content: 'Hi, how can I help?' },
    { role: 'user', content: 'Time?' }
  ])
  await llm.complete({ messages: [{ role: 'system', content: 'Greet the user.' }] })
  t.same(mock.requests[1]?.body.messages, [{ role: 'user', content: '(the conversation starts)' }])
  t.equal(mock.requests[1]?.body.system, 'Greet the user.')
})

t.test('image attachments become image blocks: data URIs and bare base64 as base64 sources, URLs as url sources', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({
    messages: [{
      role: 'user',
      content: 'What is in these?',
      attachments: [
        { data: 'data:image/png;base64,iVBORw0KGgo=', mimeType: 'image/png' },
        { data: 'https://example.com/cat.jpg', alt: 'a cat' },
        { data: 'R0lGODlhAQABAAAAACw=', mimeType: 'image/gif' }
      ]
    }]
  })
  t.same(mock.requests[0]?.body.messages, [{
    role: 'user',
    content: [
      { type: 'text', text: 'What is in these?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/gif', data: 'R0lGODlhAQABAAAAACw=' } }
    ]
  }])
})

t.test('the system prompt is the top-level system, with cache_control when promptCaching is on', async t => {
  const { mock, llm } = await setup(t, { promptCaching: true, maxTokens: 300 })
  await collect(llm.stream({ ...hello, config: { systemPrompt: 'Speak like a pirate.' } }))
  t.same(mock.requests[0]?.body.system, [{ type: 'text', text: 'Speak like a pirate.', cache_control: { type: 'ephemeral' } }])
  t.equal(mock.requests[0]?.body.max_tokens, 300, 'the maxTokens option when the config gives none')
  await llm.complete({ messages: [{ role: 'system', content: 'Own prompt.' }, { role: 'user', content: 'Hi' }], config: { systemPrompt: 'Ignored.', maxTokens: 50 } })
  t.same(mock.requests[1]?.body.system, [{ type: 'text', text: 'Own prompt.', cache_control: { type: 'ephemeral' } }], 'a system message in the history wins')
  t.equal(mock.requests[1]?.body.max_tokens, 50, 'config.maxTokens wins')
  const plain = new AnthropicLLM({ apiKey: 'k', baseURL: mock.baseURL })
  await plain.complete({ ...hello, config: { systemPrompt: 'Plain.' } })
  t.equal(mock.requests[2]?.body.system, 'Plain.', 'a plain string without promptCaching')
})

t.test('temperature wins over top_p (never both); models without sampling parameters get neither', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({ ...hello, config: { temperature: 0.3, topP: 0.9 } })
  await llm.complete({ ...hello, config: { topP: 0.9 } })
  t.match(mock.requests[0]?.body, { temperature: 0.3 })
  t.notOk('top_p' in (mock.requests[0]?.body ?? {}), 'no top_p beside temperature')
  t.match(mock.requests[1]?.body, { top_p: 0.9 })
  for (const model of ['claude-opus-4-7', 'us.anthropic.claude-opus-4-8-v1:0', 'claude-sonnet-5']) {
    const noSampling = new AnthropicLLM({ apiKey: 'k', baseURL: mock.baseURL, model })
    await noSampling.complete({ ...hello, config: { temperature: 0.3, topP: 0.9 } })
    const body = mock.requests.at(-1)?.body ?? {}
    t.ok(!('temperature' in body) && !('top_p' in body), `${model}: neither temperature nor top_p`)
  }
  for (const model of ['claude-sonnet-4-5', 'claude-opus-4-1-20250805', 'claude-haiku-4-5', 'claude-3-5-haiku-latest', 'claude-opus-4-10-x']) {
    t.equal(ANTHROPIC_NO_SAMPLING_MODELS.test(model), model === 'claude-opus-4-10-x', `${model} ${model === 'claude-opus-4-10-x' ? 'rejects' : 'takes'} sampling parameters`)
  }
  const custom = new AnthropicLLM({ apiKey: 'k', baseURL: mock.baseURL, model: 'my-proxy-model', noSamplingModels: /^my-proxy/ })
  await custom.complete({ ...hello, config: { temperature: 0.3 } })
  t.notOk('temperature' in (mock.requests.at(-1)?.body ?? {}), 'a configured pattern')
})

t.test('a 401 fails at once with an authentication error and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'error', status: 401 })
  const error = await collect(llm.stream(hello)).catch((e: unknown) => e)
  t.match(error, { status: 401, type: 'authentication_error', message: /invalid x-api-key/ })
  t.equal(isRetryableError(error), false)
  t.equal(mock.requests.length, 1, 'the mock saw one request')
})

t.test('a 429 and a 529 overloaded are retried by the SDK and the retry streams the answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'error', status: 429 }, { type: 'error', status: 529 })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), MOCK_REPLY)
  t.equal(mock.requests.length, 3, 'the mock saw three requests')
})

t.test('a 500 is retried up to maxRetries, then fails with the status kept and classified retryable', async t => {
  const { mock, llm } = await setup(t, { maxRetries: 1 })
  mock.script({ type: 'error', status: 500 }, { type: 'error', status: 500 })
  const error = await llm.complete(hello).catch((e: unknown) => e)
  t.match(error, { status: 500, type: 'api_error' })
  t.equal(isRetryableError(error), true, 'retryable (for failover)')
  t.equal(mock.requests.length, 2)
})

t.test('an overloaded error event before any text is retried; the retry streams the answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'message', text: 'Lost', errorEvent: { type: 'overloaded_error', message: 'Overloaded', at: 1 } })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), MOCK_REPLY)
  t.equal(mock.requests.length, 2, 'a second request')
})

t.test('an error event after text fails the stream after the partial output, classified by its type, not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'message', text: 'One two three four five', errorEvent: { type: 'overloaded_error', message: 'Overloaded', at: 5 } })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.same(received, ['One ', 'two '])
  t.ok(error instanceof AnthropicStreamError)
  t.match(error, { status: 529, type: 'overloaded_error', message: /overloaded_error: Overloaded/ })
  t.equal(mock.requests.length, 1, 'not retried')
})

t.test('an invalid_request_error event is final even before any text', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'message', text: 'x', errorEvent: { type: 'invalid_request_error', message: 'bad', at: 1 } })
  const error = await collect(llm.stream(hello)).catch((e: unknown) => e)
  t.match(error, { status: 400, type: 'invalid_request_error' })
  t.equal(isRetryableError(error), false)
  t.equal(mock.requests.length, 1)
})

t.test('a connection lost mid-stream fails after the partial output and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'message', text: 'One two three four five six', disconnectAfterEvents: 6 })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.ok(error instanceof Error, 'the stream throws')
  t.same(received, ['One ', 'two ', 'three '], 'after the text that arrived')
  t.equal(mock.requests.length, 1, 'not retried')
})

t.test('a connection dropped before any text is retried; the retry streams the answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'message', text: 'Lost', disconnectAfterEvents: 2 })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), MOCK_REPLY)
  t.equal(mock.requests.length, 2, 'a second request')
})

t.test('a response that ends without message_stop is an error (LLMRTC_ERR_LLM), never a silent partial answer', async t => {
  const { mock, llm } = await setup(t, { maxRetries: 0 })
  mock.script({ type: 'message', text: 'One two three', endAfterEvents: 4 })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.same(received, ['One '])
  t.match(error, { code: 'LLMRTC_ERR_LLM', message: /before message_stop/ })
})

t.test('a deadline aborts a request that never answers: LLM_TIMEOUT, and the mock sees the connection closed', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'hang' })
  const turn = new AbortController()
  const call = callSignal(turn.signal, 150)
  const error = await collect(llm.stream({ ...hello, signal: call.signal })).catch((e: unknown) => e)
  t.match(classifyProviderError('llm', llm.name, error, call, turn.signal, 150), { code: 'LLMRTC_ERR_LLM_TIMEOUT' })
  const request = await mock.waitForRequest()
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('the SDK timeout (timeoutMs) ends a request whose answer never starts', async t => {
  const { mock, llm } = await setup(t, { timeoutMs: 100, maxRetries: 0 })
  mock.script({ type: 'hang' })
  await t.rejects(llm.complete(hello), { message: /timed out/i })
  const request = await mock.waitForRequest()
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('aborting mid-answer ends the stream quietly and closes the connection', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'message', text: 'a b c d e f g h i j k l m n o p' })
  const controller = new AbortController()
  const received: LLMChunk[] = []
  for await (const chunk of llm.stream({ ...hello, signal: controller.signal })) {
    received.push(chunk)
    if (received.length === 2) controller.abort()
  }
  t.equal(received.length, 2, 'nothing after the abort, no error')
  const request = await mock.waitForRequest()
  await request.closed
  t.equal(request.clientAborted, true, 'the mock saw the request closed')
})

t.test('an abort while the SDK waits out a long retry-after ends the call at once', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'error', status: 529, headers: { 'retry-after-ms': '30000' } })
  const controller = new AbortController()
  const pending = llm.complete({ ...hello, signal: controller.signal })
  await mock.waitForRequest()
  controller.abort()
  await t.rejects(pending, { name: 'APIUserAbortError' })
  t.equal(mock.requests.length, 1, 'no second attempt')
})

t.test('options are checked when the provider is made', async t => {
  t.throws(() => new AnthropicLLM({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /ANTHROPIC_API_KEY/ })
  t.throws(() => new AnthropicLLM({ apiKey: 'k', maxRetries: -1 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new AnthropicLLM({ apiKey: 'k', timeoutMs: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new AnthropicLLM({ apiKey: 'k', maxTokens: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new AnthropicLLM({ apiKey: 'k', noSamplingModels: 'opus' as unknown as RegExp }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.equal(new AnthropicLLM({ apiKey: 'k' }).model, 'claude-sonnet-4-5', 'usable on its own in library mode')
})
