import t, { type Test } from 'tap'
import { callSignal, classifyProviderError } from '../../lib/pipeline/provider-call.js'
import { GeminiLLM, SKIP_THOUGHT_SIGNATURE, type GeminiLLMOptions } from '../../lib/providers/gemini/index.js'
import { isRetryableError } from '../../lib/providers/retry.js'
import type { LLMChunk, LLMRequest } from '../../lib/providers/types.js'
import { llmConformance } from '../helpers/provider-conformance.js'
import { GEMINI_MOCK_REPLY, startGeminiMock, type GeminiMock } from '../mocks/gemini-mock.js'
import { weatherTool } from '../helpers/tool-exchange.js'

async function setup (t: Test, options: Partial<GeminiLLMOptions> = {}, mockKey?: string): Promise<{ mock: GeminiMock, llm: GeminiLLM }> {
  const mock = await startGeminiMock(mockKey === undefined ? {} : { apiKey: mockKey })
  t.teardown(() => mock.close())
  return { mock, llm: new GeminiLLM({ apiKey: 'gemini-test-key', baseUrl: mock.baseUrl, retryBaseDelayMs: 1, ...options }) }
}

async function collect (stream: AsyncIterable<LLMChunk>): Promise<LLMChunk[]> {
  const chunks: LLMChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

const hello: LLMRequest = { messages: [{ role: 'user', content: 'Hello' }] }

t.test('the Gemini LLM passes the LLM conformance suite against the mock', async t => {
  const { mock, llm } = await setup(t, {}, 'gemini-test-key')
  await llmConformance(t, llm)
  t.ok(mock.requests.some(r => r.method === 'generateContent'), 'complete() calls generateContent')
  const streamed = mock.requests.filter(r => r.method === 'streamGenerateContent')
  t.ok(streamed.length >= 2, 'stream() calls streamGenerateContent')
  t.match(streamed[0]?.path, /^\/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent\?alt=sse$/, 'the default model, over SSE')
  t.equal(streamed[0]?.headers['x-goog-api-key'], 'gemini-test-key', 'the key is sent as x-goog-api-key')
})

t.test('a streamed answer arrives word by word, then one done chunk that says end_turn', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'answer', text: GEMINI_MOCK_REPLY, thought: 'Thinking about greetings.' })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), GEMINI_MOCK_REPLY, 'the text, without the thought summary')
  t.ok(chunks.length > 5, 'several text chunks')
  t.ok(chunks.slice(0, -1).every(c => !c.done && c.content !== ''), 'no empty text chunks')
  t.match(chunks.at(-1), { content: '', done: true, stopReason: 'end_turn' })
  t.notOk(chunks.at(-1)?.toolCalls, 'no tool calls')
  t.same(mock.requests[0]?.body.contents, [{ role: 'user', parts: [{ text: 'Hello' }] }])
})

t.test('several function calls in one answer become tool calls on the final chunk, with their ids', async t => {
  const { mock, llm } = await setup(t)
  mock.script({
    type: 'answer',
    text: 'Let me look that up.',
    functionCalls: [
      { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' }, thoughtSignature: 'c2lnbmF0dXJlLTE=' },
      { name: 'get_time', args: { zone: 'Europe/Paris' }, id: 'fc_2' }
    ]
  })
  const chunks = await collect(llm.stream({ ...hello, tools: [weatherTool], toolChoice: 'auto' }))
  t.equal(chunks.filter(c => !c.done).map(c => c.content).join(''), 'Let me look that up.')
  t.ok(chunks.slice(0, -1).every(c => c.toolCalls === undefined), 'tool calls only on the final chunk')
  const final = chunks.at(-1)
  t.match(final, {
    done: true,
    stopReason: 'tool_use',
    toolCalls: [
      { callId: /^call_[0-9a-f-]{36}$/, name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
      { callId: 'fc_2', name: 'get_time', arguments: { zone: 'Europe/Paris' } }
    ]
  })
  t.same(mock.requests[0]?.body.tools, [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather for a city', parametersJsonSchema: weatherTool.parameters }] }])
  t.same(mock.requests[0]?.body.toolConfig, { functionCallingConfig: { mode: 'AUTO' } })

  // The next turn replays the calls with the signature Gemini gave, and the results as functionResponse parts.
  const calls = final?.toolCalls ?? []
  await llm.complete({
    tools: [weatherTool],
    messages: [
      { role: 'user', content: 'Weather and time in Paris?' },
      { role: 'assistant', content: 'Let me look that up.', toolCalls: calls },
      { role: 'tool', toolCallId: calls[0]?.callId ?? '', toolName: 'get_weather', content: '{"temp":18}' },
      { role: 'tool', toolCallId: 'fc_2', content: '14:05' }
    ]
  })
  t.same(mock.requests[1]?.body.contents, [
    { role: 'user', parts: [{ text: 'Weather and time in Paris?' }] },
    {
      role: 'model',
      parts: [
        { text: 'Let me look that up.' },
        { functionCall: { id: calls[0]?.callId, name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } }, thoughtSignature: 'c2lnbmF0dXJlLTE=' },
        { functionCall: { id: 'fc_2', name: 'get_time', args: { zone: 'Europe/Paris' } } }
      ]
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { id: calls[0]?.callId, name: 'get_weather', response: { temp: 18 } } },
        { functionResponse: { id: 'fc_2', name: 'get_time', response: { output: '14:05' } } }
      ]
    }
  ], 'both answers in one user turn; the name of an unnamed result comes from its call')
})

t.test('a call from a history Gemini never signed is replayed with the documented skip signature', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({
    messages: [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', toolCalls: [{ callId: 'call_x', name: 'get_weather', arguments: { city: 'Oslo' } }, { callId: 'call_y', name: 'get_weather', arguments: '{"city": "Os' as unknown as Record<string, unknown> }] },
      { role: 'tool', toolCallId: 'call_x', toolName: 'get_weather', content: '[1,2]' },
      { role: 'tool', toolCallId: 'call_y', toolName: 'get_weather', content: 'error: invalid arguments' }
    ]
  })
  t.same(mock.requests[0]?.body.contents, [
    { role: 'user', parts: [{ text: 'Weather?' }] },
    {
      role: 'model',
      parts: [
        { functionCall: { id: 'call_x', name: 'get_weather', args: { city: 'Oslo' } }, thoughtSignature: SKIP_THOUGHT_SIGNATURE },
        { functionCall: { id: 'call_y', name: 'get_weather', args: { raw: '{"city": "Os' } } }
      ]
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { id: 'call_x', name: 'get_weather', response: { output: [1, 2] } } },
        { functionResponse: { id: 'call_y', name: 'get_weather', response: { output: 'error: invalid arguments' } } }
      ]
    }
  ])
})

t.test('a tool result without a call id is sent by name alone; a user turn with only an image has no text part', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({
    messages: [
      { role: 'user', content: '', attachments: [{ data: 'data:image/webp;base64,UklGRg==' }] },
      { role: 'assistant', content: 'Calling.', toolCalls: [] },
      { role: 'tool', toolName: 'get_time', content: '{"now":"14:05"}' }
    ]
  })
  t.same(mock.requests[0]?.body.contents, [
    { role: 'user', parts: [{ inlineData: { mimeType: 'image/webp', data: 'UklGRg==' } }] },
    { role: 'model', parts: [{ text: 'Calling.' }] },
    { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: { now: '14:05' } } }] }
  ])
})

t.test('complete() returns text or function calls from a whole response, and a named toolChoice', async t => {
  const { mock, llm } = await setup(t)
  mock.script(
    { type: 'answer', functionCalls: [{ name: 'get_weather', args: { city: 'Oslo' }, id: 'fc_9' }] },
    { type: 'answer', text: 'Cut short', finishReason: 'MAX_TOKENS' }
  )
  const tool = await llm.complete({ ...hello, tools: [weatherTool], toolChoice: { type: 'function', name: 'get_weather' } })
  t.same(tool.toolCalls, [{ callId: 'fc_9', name: 'get_weather', arguments: { city: 'Oslo' } }])
  t.equal(tool.stopReason, 'tool_use')
  t.equal(tool.fullText, '')
  t.same(mock.requests[0]?.body.toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } })
  const cut = await llm.complete(hello)
  t.same({ text: cut.fullText, stop: cut.stopReason }, { text: 'Cut short', stop: 'max_tokens' }, 'MAX_TOKENS is max_tokens')
  t.notOk(mock.requests[1]?.body.tools, 'no tools field without tools')
  t.equal(mock.requests[1]?.method, 'generateContent')
})

t.test('toolChoice none and required map to function calling modes NONE and ANY', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({ ...hello, tools: [weatherTool], toolChoice: 'none' })
  await llm.complete({ ...hello, tools: [weatherTool], toolChoice: 'required' })
  t.same(mock.requests.map(r => r.body.toolConfig), [{ functionCallingConfig: { mode: 'NONE' } }, { functionCallingConfig: { mode: 'ANY' } }])
})

t.test('images become inlineData parts (data URIs and bare base64) or fileData parts (URLs)', async t => {
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
  t.same(mock.requests[0]?.body.contents, [{
    role: 'user',
    parts: [
      { text: 'What is in these?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { fileUri: 'https://example.com/cat.jpg', mimeType: 'image/jpeg' } },
      { inlineData: { mimeType: 'image/gif', data: 'R0lGODlhAQABAAAAACw=' } }
    ]
  }])
})

t.test('the system prompt goes in systemInstruction; temperature, topP and maxOutputTokens in generationConfig', async t => {
  const { mock, llm } = await setup(t, { model: 'gemini-2.5-pro' })
  const config = { systemPrompt: 'Speak like a pirate.', temperature: 0.3, topP: 0.9, maxTokens: 120 }
  await collect(llm.stream({ ...hello, config }))
  const body = mock.requests[0]?.body
  t.match(mock.requests[0]?.path, /models\/gemini-2\.5-pro:streamGenerateContent/)
  t.same(body?.systemInstruction, { parts: [{ text: 'Speak like a pirate.' }], role: 'user' })
  t.same(body?.generationConfig, { temperature: 0.3, topP: 0.9, maxOutputTokens: 120 })
  t.same(body?.contents, [{ role: 'user', parts: [{ text: 'Hello' }] }], 'no system turn among the contents')
  await llm.complete({ messages: [{ role: 'system', content: 'Own prompt.' }, { role: 'user', content: 'Hi' }], config })
  t.same(mock.requests[1]?.body.systemInstruction, { parts: [{ text: 'Own prompt.' }], role: 'user' }, 'a system message in the history wins')
})

for (const status of [401, 403]) {
  t.test(`a ${status} is an authentication failure: not retried, status kept, key scrubbed`, async t => {
    const { mock, llm } = await setup(t)
    mock.script({ type: 'error', status })
    const error = await collect(llm.stream(hello)).catch((e: unknown) => e)
    t.match(error, { name: 'GeminiError', kind: 'auth', status, code: status === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED', message: /authentication failed/ })
    t.equal(isRetryableError(error), false)
    t.equal(mock.requests.length, 1, 'the mock saw one request')
  })
}

t.test('a wrong key (Gemini answers 400 API_KEY_INVALID) is an authentication failure too', async t => {
  const { mock, llm } = await setup(t, {}, 'the-right-key')
  const error = await llm.complete(hello).catch((e: unknown) => e)
  t.match(error, { kind: 'auth', status: 400, code: 'INVALID_ARGUMENT', message: /API key not valid/ })
  t.equal(mock.requests.length, 1, 'not retried')
  const turn = new AbortController()
  const call = callSignal(turn.signal, 5000)
  t.match(classifyProviderError('llm', llm.name, error, call, turn.signal, 5000), { code: 'LLMRTC_ERR_LLM', message: /gemini-llm.*400/ }, 'reported as LLM_ERROR')
})

t.test('a 429 RESOURCE_EXHAUSTED is retried and the retry streams the answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'error', status: 429 })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), GEMINI_MOCK_REPLY)
  t.equal(mock.requests.length, 2, 'the mock saw two requests')
})

t.test('a 5xx is retried up to maxRetries, then fails with the status kept and classified retryable', async t => {
  const { mock, llm } = await setup(t, { maxRetries: 1 })
  mock.script({ type: 'error', status: 500 }, { type: 'error', status: 503 })
  const error = await collect(llm.stream(hello)).catch((e: unknown) => e)
  t.match(error, { kind: 'server', status: 503, code: 'UNAVAILABLE', message: /overloaded/ })
  t.equal(isRetryableError(error), true, 'retryable (for failover)')
  t.equal(mock.requests.length, 2)
})

t.test('an error event inside the stream after text fails the stream and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'streamError', status: 500, text: 'One two three' })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.match(error, { kind: 'server', status: 500, code: 'INTERNAL' })
  t.same(received, ['One ', 'two ', 'three'])
  t.equal(mock.requests.length, 1, 'not retried after output')
})

t.test('a connection cut mid-stream fails after the partial output and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'answer', text: 'One two three four five six', disconnectAfterEvents: 3 })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.match(error, { name: 'GeminiError', kind: 'network' })
  t.same(received, ['One ', 'two ', 'three '], 'after the text that arrived')
  t.equal(mock.requests.length, 1, 'not retried')
})

t.test('a connection cut before any output is retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'answer', text: 'Lost', disconnectAfterEvents: 0 })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), GEMINI_MOCK_REPLY)
  t.equal(mock.requests.length, 2)
})

t.test('timeoutMs ends a request whose answer never starts: a timeout error, and the mock sees the close', async t => {
  const { mock, llm } = await setup(t, { timeoutMs: 100, maxRetries: 0 })
  mock.script({ type: 'hang' })
  const error = await collect(llm.stream(hello)).catch((e: unknown) => e)
  t.match(error, { name: 'GeminiError', kind: 'timeout', code: 'ETIMEDOUT', message: /no answer within 100 ms/ })
  const request = await mock.waitForRequest()
  await request.closed
  t.equal(request.clientAborted, true)
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

t.test('aborting mid-answer ends the stream quietly and closes the connection', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'answer', text: 'a b c d e f g h i j k l m n o p' })
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

t.test('a reader that stops early closes the connection', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'answer', text: 'a b c d e f g h i j k l m n o p' })
  for await (const chunk of llm.stream(hello)) if (chunk.content !== '') break
  const request = await mock.waitForRequest()
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('an abort while waiting to retry ends the stream quietly', async t => {
  const { mock, llm } = await setup(t, { retryBaseDelayMs: 60_000 })
  mock.script({ type: 'error', status: 429 })
  const controller = new AbortController()
  const pending = collect(llm.stream({ ...hello, signal: controller.signal }))
  await mock.waitForRequest()
  await new Promise(resolve => setTimeout(resolve, 50))
  controller.abort()
  t.same(await pending, [], 'no chunk, no error')
  t.equal(mock.requests.length, 1)
})

t.test('a blocked prompt fails with its block reason; an empty stream is a malformed answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script(
    { type: 'answer', blockReason: 'SAFETY' },
    { type: 'answer', blockReason: 'PROHIBITED_CONTENT' },
    { type: 'raw', status: 200, contentType: 'text/event-stream', body: '' }
  )
  await t.rejects(collect(llm.stream(hello)), { kind: 'blocked', message: /blocked \(SAFETY\)/ })
  await t.rejects(llm.complete(hello), { kind: 'blocked', message: /PROHIBITED_CONTENT/ })
  await t.rejects(collect(llm.stream(hello)), { code: 'LLMRTC_ERR_LLM', message: /without any response/ })
  t.equal(mock.requests.length, 3, 'none retried')
})

t.test('options are checked when the provider is made', async t => {
  t.throws(() => new GeminiLLM({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /GEMINI_API_KEY/ })
  t.throws(() => new GeminiLLM({ apiKey: 'k', maxRetries: -1 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new GeminiLLM({ apiKey: 'k', timeoutMs: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new GeminiLLM({ apiKey: 'k', baseUrl: 'ftp://x' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.equal(new GeminiLLM({ apiKey: 'k' }).model, 'gemini-2.5-flash', 'usable on its own in library mode')
})
