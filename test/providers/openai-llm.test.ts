import t, { type Test } from 'tap'
import { callSignal, classifyProviderError } from '../../lib/pipeline/provider-call.js'
import { OpenAILLM, type OpenAILLMOptions } from '../../lib/providers/openai/index.js'
import { isRetryableError } from '../../lib/providers/retry.js'
import type { LLMChunk, LLMRequest } from '../../lib/providers/types.js'
import { MOCK_REPLY, startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js'
import { llmConformance } from '../helpers/provider-conformance.js'
import { toolExchangeHistory, weatherTool } from '../helpers/tool-exchange.js'

async function setup (t: Test, options: Partial<OpenAILLMOptions> = {}): Promise<{ mock: OpenAIMock, llm: OpenAILLM }> {
  const mock = await startOpenAIMock()
  t.teardown(() => mock.close())
  return { mock, llm: new OpenAILLM({ apiKey: 'sk-test', baseURL: mock.baseURL, ...options }) }
}

async function collect (stream: AsyncIterable<LLMChunk>): Promise<LLMChunk[]> {
  const chunks: LLMChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

const hello: LLMRequest = { messages: [{ role: 'user', content: 'Hello' }] }

t.test('the OpenAI LLM passes the LLM conformance suite against the mock', async t => {
  const { mock, llm } = await setup(t)
  await llmConformance(t, llm)
  const streamed = mock.requestsTo('chat').filter(r => r.body.stream === true)
  t.ok(streamed.length >= 2, 'stream() sends stream: true')
  t.equal(mock.requestsTo('chat')[0]?.headers.authorization, 'Bearer sk-test', 'the key is sent as a Bearer token')
})

t.test('a streamed answer arrives word by word, then one done chunk that says end_turn', async t => {
  const { mock, llm } = await setup(t)
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), MOCK_REPLY)
  t.ok(chunks.length > 5, 'several text chunks')
  t.match(chunks.at(-1), { content: '', done: true, stopReason: 'end_turn' })
  t.notOk(chunks.at(-1)?.toolCalls, 'no tool calls')
  t.match(mock.requestsTo('chat')[0]?.body, { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hello' }] })
})

t.test('streamed tool-call deltas are accumulated per index and parsed on the final chunk', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', {
    type: 'chat',
    content: 'Let me look that up.',
    toolCalls: [
      { id: 'call_abc', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
      { id: 'call_def', name: 'get_time', arguments: '{"zone":"Europe/Paris"}' }
    ]
  })
  const chunks = await collect(llm.stream({ ...hello, tools: [weatherTool], toolChoice: 'auto' }))
  t.equal(chunks.filter(c => !c.done).map(c => c.content).join(''), 'Let me look that up.')
  t.ok(chunks.slice(0, -1).every(c => c.toolCalls === undefined), 'tool calls only on the final chunk')
  t.match(chunks.at(-1), {
    done: true,
    stopReason: 'tool_use',
    toolCalls: [
      { callId: 'call_abc', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
      { callId: 'call_def', name: 'get_time', arguments: { zone: 'Europe/Paris' } }
    ]
  })
  t.match(mock.requestsTo('chat')[0]?.body, {
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.parameters } }],
    tool_choice: 'auto'
  })
})

t.test('tool-call arguments that are not valid JSON are kept as the raw string, streamed or not', async t => {
  const { mock, llm } = await setup(t)
  const broken = { type: 'chat' as const, toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city": "Par' }] }
  mock.script('chat', broken, broken)
  const chunks = await collect(llm.stream({ ...hello, tools: [weatherTool] }))
  t.same(chunks.at(-1)?.toolCalls, [{ callId: 'call_1', name: 'get_weather', arguments: '{"city": "Par' }])
  const result = await llm.complete({ ...hello, tools: [weatherTool] })
  t.same(result.toolCalls, [{ callId: 'call_1', name: 'get_weather', arguments: '{"city": "Par' }])
  t.equal(result.stopReason, 'tool_use')
  t.equal(result.fullText, '')
})

t.test('complete() returns text or parsed tool calls from a whole response, and a named toolChoice', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'chat', toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: '{"city":"Oslo"}' }] }, { type: 'chat', content: 'Cut', finishReason: 'length' })
  const tool = await llm.complete({ ...hello, tools: [weatherTool], toolChoice: { type: 'function', name: 'get_weather' } })
  t.same(tool.toolCalls, [{ callId: 'call_9', name: 'get_weather', arguments: { city: 'Oslo' } }])
  t.match(mock.requestsTo('chat')[0]?.body, { stream: false, tool_choice: { type: 'function', function: { name: 'get_weather' } } })
  const cut = await llm.complete(hello)
  t.same({ text: cut.fullText, stop: cut.stopReason }, { text: 'Cut', stop: 'max_tokens' }, 'finish_reason length is max_tokens')
  t.notOk(mock.requestsTo('chat')[1]?.body.tools, 'no tools field without tools')
})

t.test('a multi-turn tool exchange is replayed as tool_calls and tool_call_id messages', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({
    tools: [weatherTool],
    messages: toolExchangeHistory('call_', '')
  })
  t.same(mock.requestsTo('chat')[0]?.body.messages, [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Weather in Paris and Oslo?' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Os' } }
      ]
    },
    { role: 'tool', tool_call_id: 'call_a', content: '{"temp":18}' },
    { role: 'tool', tool_call_id: 'call_b', content: 'error: invalid arguments' },
    { role: 'assistant', content: 'Paris is 18 degrees.' },
    { role: 'user', content: 'Thanks' }
  ])
})

t.test('vision attachments become image_url parts: data URIs and URLs as given, bare base64 as a data URI', async t => {
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
  t.same(mock.requestsTo('chat')[0]?.body.messages, [{
    role: 'user',
    content: [
      { type: 'text', text: 'What is in these?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
      { type: 'image_url', image_url: { url: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' } }
    ]
  }])
})

t.test('system prompt, temperature, top_p and max tokens from the config are in the body', async t => {
  const { mock, llm } = await setup(t, { model: 'llama3.2' })
  const config = { systemPrompt: 'Speak like a pirate.', temperature: 0.3, topP: 0.9, maxTokens: 120 }
  await collect(llm.stream({ ...hello, config }))
  t.same(mock.requestsTo('chat')[0]?.body, {
    model: 'llama3.2',
    messages: [{ role: 'system', content: 'Speak like a pirate.' }, { role: 'user', content: 'Hello' }],
    temperature: 0.3,
    top_p: 0.9,
    max_tokens: 120,
    stream: true
  }, 'a custom base URL gets max_tokens, which compatible servers read')
  await llm.complete({ messages: [{ role: 'system', content: 'Own prompt.' }, { role: 'user', content: 'Hi' }], config })
  t.same(mock.requestsTo('chat')[1]?.body.messages, [{ role: 'system', content: 'Own prompt.' }, { role: 'user', content: 'Hi' }], 'a system message in the history wins')
  const official = new OpenAILLM({ apiKey: 'sk-test', baseURL: mock.baseURL, maxTokensField: 'max_completion_tokens' })
  await official.complete({ ...hello, config: { maxTokens: 50 } })
  t.match(mock.requestsTo('chat')[2]?.body, { max_completion_tokens: 50 })
  t.notOk('max_tokens' in (mock.requestsTo('chat')[2]?.body ?? {}))
})

t.test('a 401 fails at once with OpenAI\'s error and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'error', status: 401 })
  const error = await collect(llm.stream(hello)).catch((e: unknown) => e)
  t.match(error, { status: 401, code: 'invalid_api_key', type: 'invalid_request_error', message: /Incorrect API key/ })
  t.equal(isRetryableError(error), false)
  t.equal(mock.requestsTo('chat').length, 1, 'the mock saw one request')
})

t.test('a 429 is retried by the SDK and the retry streams the answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'error', status: 429 })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), MOCK_REPLY)
  t.equal(mock.requestsTo('chat').length, 2, 'the mock saw two requests')
})

t.test('a 500 is retried up to maxRetries, then fails with the status kept', async t => {
  const { mock, llm } = await setup(t, { maxRetries: 1 })
  mock.script('chat', { type: 'error', status: 500 }, { type: 'error', status: 500 })
  const error = await llm.complete(hello).catch((e: unknown) => e)
  t.match(error, { status: 500, message: /server had an error/ })
  t.equal(isRetryableError(error), true, 'classified retryable (for failover)')
  t.equal(mock.requestsTo('chat').length, 2)
})

t.test('a connection lost mid-stream fails after the partial output and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'chat', content: 'One two three four five six', disconnectAfterChunks: 4 })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.ok(error instanceof Error, 'the stream throws')
  t.same(received, ['One ', 'two ', 'three '], 'after the text that arrived')
  t.equal(mock.requestsTo('chat').length, 1, 'not retried')
})

t.test('a deadline aborts a request that never answers: LLM_TIMEOUT, and the mock sees the connection closed', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'hang' })
  const turn = new AbortController()
  const call = callSignal(turn.signal, 150)
  const error = await collect(llm.stream({ ...hello, signal: call.signal })).catch((e: unknown) => e)
  t.match(classifyProviderError('llm', llm.name, error, call, turn.signal, 150), { code: 'LLMRTC_ERR_LLM_TIMEOUT' })
  const request = await mock.waitForRequest('chat')
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('the SDK timeout (timeoutMs) ends a request whose answer never starts', async t => {
  const { mock, llm } = await setup(t, { timeoutMs: 100, maxRetries: 0 })
  mock.script('chat', { type: 'hang' })
  await t.rejects(llm.complete(hello), { name: 'Error', message: /timed out/i })
  const request = await mock.waitForRequest('chat')
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('aborting mid-answer ends the stream quietly and closes the connection', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'chat', content: 'a b c d e f g h i j k l m n o p' })
  const controller = new AbortController()
  const received: LLMChunk[] = []
  for await (const chunk of llm.stream({ ...hello, signal: controller.signal })) {
    received.push(chunk)
    if (received.length === 2) controller.abort()
  }
  t.equal(received.length, 2, 'nothing after the abort, no error')
  const request = await mock.waitForRequest('chat')
  await request.closed
  t.equal(request.clientAborted, true, 'the mock saw the request closed')
})

t.test('an abort while the SDK waits out a long retry-after ends the call at once', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'error', status: 429, headers: { 'retry-after-ms': '30000' } })
  const controller = new AbortController()
  const started = Date.now()
  const pending = llm.complete({ ...hello, signal: controller.signal })
  await mock.waitForRequest('chat')
  controller.abort()
  await t.rejects(pending, { message: /aborted/ })
  t.ok(Date.now() - started < 10_000, 'not after the 30 s retry-after')
  t.equal(mock.requestsTo('chat').length, 1)
})

t.test('a stream without any choice is a malformed answer (LLMRTC_ERR_LLM)', async t => {
  const { mock, llm } = await setup(t)
  mock.script('chat', { type: 'raw', status: 200, contentType: 'text/event-stream', body: 'data: [DONE]\n\n' }, { type: 'raw', status: 200, contentType: 'application/json', body: '{"id":"x","choices":[]}' })
  await t.rejects(collect(llm.stream(hello)), { code: 'LLMRTC_ERR_LLM', message: /without any choice/ })
  await t.rejects(llm.complete(hello), { code: 'LLMRTC_ERR_LLM', message: /no choices/ })
})

t.test('options are checked when the provider is made', async t => {
  t.throws(() => new OpenAILLM({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /OPENAI_API_KEY/ })
  t.throws(() => new OpenAILLM({ apiKey: 'k', maxRetries: -1 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new OpenAILLM({ apiKey: 'k', timeoutMs: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.equal(new OpenAILLM({ apiKey: 'k' }).model, 'gpt-4o-mini', 'usable on its own in library mode')
})
