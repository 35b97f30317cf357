import t, { type Test } from 'tap'
import { callSignal, classifyProviderError } from '../../lib/pipeline/provider-call.js'
import { BedrockError, BedrockLLM, type BedrockLLMOptions } from '../../lib/providers/bedrock/index.js'
import { isRetryableError } from '../../lib/providers/retry.js'
import type { LLMChunk, LLMRequest } from '../../lib/providers/types.js'
import { BEDROCK_MOCK_REPLY, startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js'
import { llmConformance } from '../helpers/provider-conformance.js'
import { toolExchangeHistory, weatherTool } from '../helpers/tool-exchange.js'

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' }
const model = 'us.anthropic.claude-3-5-haiku-20241022-v1:0'

async function setup (t: Test, options: Partial<BedrockLLMOptions> = {}): Promise<{ mock: BedrockMock, llm: BedrockLLM }> {
  const mock = await startBedrockMock()
  t.teardown(() => mock.close())
  const llm = new BedrockLLM({ model, region: 'us-east-1', credentials, endpoint: mock.endpoint, retryBaseDelayMs: 1, ...options })
  t.teardown(() => llm.close())
  return { mock, llm }
}

async function collect (stream: AsyncIterable<LLMChunk>): Promise<LLMChunk[]> {
  const chunks: LLMChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

const hello: LLMRequest = { messages: [{ role: 'user', content: 'Hello' }] }

t.test('the Bedrock LLM passes the LLM conformance suite against the mock', async t => {
  const { mock, llm } = await setup(t)
  await llmConformance(t, llm)
  t.ok(mock.requests.length >= 3, 'complete() and stream() both use ConverseStream')
})

t.test('a streamed answer arrives word by word, then one done chunk that says end_turn, with the usage as raw', async t => {
  const { mock, llm } = await setup(t)
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), BEDROCK_MOCK_REPLY)
  t.ok(chunks.length > 5, 'several text chunks')
  t.match(chunks.at(-1), { content: '', done: true, stopReason: 'end_turn', raw: { usage: { inputTokens: 12, outputTokens: 34 } } })
  t.notOk(chunks.at(-1)?.toolCalls, 'no tool calls')
  const request = mock.requests[0]
  t.equal(request?.modelId, model, 'the inference profile id is the path\'s modelId')
  t.same(request?.body, { messages: [{ role: 'user', content: [{ text: 'Hello' }] }] }, 'no system, inferenceConfig or toolConfig without them')
})

t.test('requests are signed with SigV4 for bedrock in the region, and no secret travels', async t => {
  const { mock, llm } = await setup(t, { region: 'eu-west-3' })
  await collect(llm.stream(hello))
  const headers = mock.requests[0]?.headers ?? {}
  t.match(headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-3\/bedrock\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/)
  t.equal(headers['x-amz-security-token'], credentials.sessionToken, 'the session token is sent as AWS requires')
  t.notOk(JSON.stringify(headers).includes(credentials.secretAccessKey), 'the secret key is never sent')
})

t.test('an inference profile ARN passes through as the modelId', async t => {
  const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0'
  const { mock, llm } = await setup(t, { model: arn })
  await llm.complete(hello)
  t.equal(mock.requests[0]?.modelId, arn)
  t.match(mock.requests[0]?.path, /^\/model\/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus\./, 'URL-encoded in the path')
})

t.test('streamed tool uses are rebuilt from contentBlockStart and partial input JSON, several per answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script({
    type: 'stream',
    text: 'Let me look that up.',
    toolUses: [
      { id: 'tooluse_abc', name: 'get_weather', input: '{"city":"Paris","unit":"celsius"}' },
      { id: 'tooluse_def', name: 'get_time', input: '{"zone":"Europe/Paris"}' }
    ]
  })
  const chunks = await collect(llm.stream({ ...hello, tools: [weatherTool], toolChoice: 'auto' }))
  t.equal(chunks.filter(c => !c.done).map(c => c.content).join(''), 'Let me look that up.')
  t.ok(chunks.slice(0, -1).every(c => c.toolCalls === undefined), 'tool calls only on the final chunk')
  t.match(chunks.at(-1), {
    done: true,
    stopReason: 'tool_use',
    toolCalls: [
      { callId: 'tooluse_abc', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
      { callId: 'tooluse_def', name: 'get_time', arguments: { zone: 'Europe/Paris' } }
    ]
  })
  t.same(mock.requests[0]?.body.toolConfig, {
    tools: [{ toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: weatherTool.parameters } } }],
    toolChoice: { auto: {} }
  })
})

t.test('tool input that is not valid JSON is kept as the raw string; complete() gives the tool calls too', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'stream', toolUses: [{ id: 'tooluse_1', name: 'get_weather', input: '{"city": "Par' }] })
  const result = await llm.complete({ ...hello, tools: [weatherTool], toolChoice: 'required' })
  t.same(result.toolCalls, [{ callId: 'tooluse_1', name: 'get_weather', arguments: '{"city": "Par' }])
  t.equal(result.stopReason, 'tool_use')
  t.equal(result.fullText, '')
  t.same(mock.requests[0]?.body.toolConfig, { tools: [{ toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: weatherTool.parameters } } }], toolChoice: { any: {} } })
})

t.test('a named tool choice is {tool: {name}}; none leaves the tools out unless the history holds tool blocks', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({ ...hello, tools: [weatherTool], toolChoice: { type: 'function', name: 'get_weather' } })
  t.same((mock.requests[0]?.body.toolConfig as { toolChoice: unknown }).toolChoice, { tool: { name: 'get_weather' } })
  await llm.complete({ ...hello, tools: [weatherTool], toolChoice: 'none' })
  t.notOk('toolConfig' in (mock.requests[1]?.body ?? {}), 'none: no toolConfig')
  await llm.complete({
    tools: [weatherTool],
    toolChoice: 'none',
    messages: [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', toolCalls: [{ callId: 'tooluse_1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { role: 'tool', toolCallId: 'tooluse_1', toolName: 'get_weather', content: '{"temp":3}' }
    ]
  })
  t.same(mock.requests[2]?.body.toolConfig, { tools: [{ toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: weatherTool.parameters } } }] }, 'the history\'s tool blocks need a toolConfig')
})

t.test('a multi-turn tool exchange is replayed as toolUse and toolResult blocks, roles merged to alternate', async t => {
  const { mock, llm } = await setup(t)
  await llm.complete({
    tools: [weatherTool],
    messages: toolExchangeHistory('tooluse_', 'Checking.')
  })
  const body = mock.requests[0]?.body
  t.same(body?.system, [{ text: 'You are terse.' }])
  t.same(body?.messages, [
    { role: 'user', content: [{ text: 'Weather in Paris and Oslo?' }] },
    {
      role: 'assistant',
      content: [
        { text: 'Checking.' },
        { toolUse: { toolUseId: 'tooluse_a', name: 'get_weather', input: { city: 'Paris' } } },
        { toolUse: { toolUseId: 'tooluse_b', name: 'get_weather', input: {} } }
      ]
    },
    {
      role: 'user',
      content: [
        { toolResult: { toolUseId: 'tooluse_a', content: [{ text: '{"temp":18}' }] } },
        { toolResult: { toolUseId: 'tooluse_b', content: [{ text: 'error: invalid arguments' }] } }
      ]
    },
    { role: 'assistant', content: [{ text: 'Paris is 18 degrees.' }] },
    { role: 'user', content: [{ text: 'Thanks' }] }
  ])
})

t.test('images become image blocks of bytes; URLs and unknown types are refused before any request', async t => {
  const { mock, llm } = await setup(t)
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  await llm.complete({
    messages: [{
      role: 'user',
      content: 'What is in these?',
      attachments: [
        { data: `data:image/png;base64,${png.toString('base64')}`, mimeType: 'image/png' },
        { data: Buffer.from('GIF89a').toString('base64'), mimeType: 'image/gif' }
      ]
    }]
  })
  t.same(mock.requests[0]?.body.messages, [{
    role: 'user',
    content: [
      { text: 'What is in these?' },
      // The SDK's JSON protocol sends bytes as base64.
      { image: { format: 'png', source: { bytes: png.toString('base64') } } },
      { image: { format: 'gif', source: { bytes: Buffer.from('GIF89a').toString('base64') } } }
    ]
  }])
  await t.rejects(llm.complete({ messages: [{ role: 'user', content: 'This?', attachments: [{ data: 'https://example.com/cat.jpg' }] }] }), { code: 'LLMRTC_ERR_LLM', message: /data URI/ })
  await t.rejects(llm.complete({ messages: [{ role: 'user', content: 'This?', attachments: [{ data: 'AAAA', mimeType: 'image/bmp' }] }] }), { code: 'LLMRTC_ERR_LLM', message: /image\/bmp/ })
  t.equal(mock.requests.length, 1, 'refused images sent nothing')
})

t.test('system prompt, temperature, topP and max tokens from the config are in the input', async t => {
  const { mock, llm } = await setup(t)
  const config = { systemPrompt: 'Speak like a pirate.', temperature: 0.3, topP: 0.9, maxTokens: 120 }
  await collect(llm.stream({ ...hello, config }))
  t.same(mock.requests[0]?.body, {
    messages: [{ role: 'user', content: [{ text: 'Hello' }] }],
    system: [{ text: 'Speak like a pirate.' }],
    inferenceConfig: { maxTokens: 120, temperature: 0.3, topP: 0.9 }
  })
  await llm.complete({ messages: [{ role: 'system', content: 'Own prompt.' }, { role: 'user', content: 'Hi' }], config })
  t.same(mock.requests[1]?.body.system, [{ text: 'Own prompt.' }], 'a system message in the history wins')
})

t.test('a stop reason of max_tokens is reported as such', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'stream', text: 'Cut', stopReason: 'max_tokens' })
  const result = await llm.complete(hello)
  t.same({ text: result.fullText, stop: result.stopReason }, { text: 'Cut', stop: 'max_tokens' })
})

t.test('a 403 UnrecognizedClientException fails at once as an auth error and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'error', status: 403, errorType: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' })
  const error = await collect(llm.stream(hello)).catch((e: unknown) => e)
  t.ok(error instanceof BedrockError)
  t.match(error, { status: 403, code: 'UnrecognizedClientException', auth: true, message: /^UnrecognizedClientException \(403\): The security token/ })
  t.equal(isRetryableError(error), false)
  t.equal(mock.requests.length, 1, 'the mock saw one request')
  const turn = new AbortController()
  const call = callSignal(turn.signal, 5000)
  t.match(classifyProviderError('llm', llm.name, error, call, turn.signal, 5000), { code: 'LLMRTC_ERR_LLM', message: /403/ })
})

t.test('a 429 ThrottlingException is retried by llmrtc (the SDK retries nothing) and the retry streams the answer', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'error', status: 429, errorType: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), BEDROCK_MOCK_REPLY)
  t.equal(mock.requests.length, 2, 'the mock saw two requests')
})

t.test('a 429 with retries: 0 fails with the throttling error, after one request', async t => {
  const { mock, llm } = await setup(t, { retries: 0 })
  mock.script({ type: 'error', status: 429, errorType: 'ThrottlingException' })
  const error = await llm.complete(hello).catch((e: unknown) => e)
  t.match(error, { name: 'BedrockError', status: 429, code: 'ThrottlingException', auth: false })
  t.equal(isRetryableError(error), true, 'classified retryable (for failover)')
  t.equal(mock.requests.length, 1, 'maxAttempts 1: the SDK did not retry on its own')
})

t.test('a throttlingException inside the event stream before any text is retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'stream', exception: { type: 'throttlingException', afterEvents: 1 } })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), BEDROCK_MOCK_REPLY)
  t.equal(mock.requests.length, 2)
})

t.test('a 500 is retried up to `retries`, then fails with the status kept', async t => {
  const { mock, llm } = await setup(t, { retries: 1 })
  mock.script({ type: 'error', status: 500, errorType: 'InternalServerException' }, { type: 'error', status: 500, errorType: 'InternalServerException' })
  const error = await llm.complete(hello).catch((e: unknown) => e)
  t.match(error, { status: 500, code: 'InternalServerException' })
  t.equal(isRetryableError(error), true)
  t.equal(mock.requests.length, 2)
})

t.test('a 5xx exception after text has been yielded is final: not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'stream', text: 'One two three four five six', exception: { type: 'serviceUnavailableException', afterEvents: 3 } })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.match(error, { name: 'BedrockError', status: 503, code: 'ServiceUnavailableException' })
  t.same(received, ['One ', 'two '], 'after the text that arrived')
  t.equal(mock.requests.length, 1, 'not retried')
})

t.test('a connection cut mid-stream fails after the partial output and is not retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'stream', text: 'One two three four five six', cutAfterEvents: 4 })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.ok(error instanceof BedrockError, 'the stream throws a BedrockError')
  t.same(received, ['One ', 'two ', 'three '], 'after the text that arrived')
  t.equal(mock.requests.length, 1, 'not retried')
})

t.test('a connection cut before any text is retried', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'stream', cutAfterEvents: 1 })
  const chunks = await collect(llm.stream(hello))
  t.equal(chunks.map(c => c.content).join(''), BEDROCK_MOCK_REPLY)
  t.equal(mock.requests.length, 2)
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

t.test('timeoutMs ends a stream that stalls after its first events, and the connection is closed', async t => {
  const { mock, llm } = await setup(t, { timeoutMs: 150, retries: 0 })
  mock.script({ type: 'stream', text: 'One two three', hangAfterEvents: 2 })
  const received: string[] = []
  const error = await (async () => { for await (const chunk of llm.stream(hello)) received.push(chunk.content) })().catch((e: unknown) => e)
  t.match(error, { name: 'BedrockError', code: 'ETIMEDOUT' })
  t.same(received, ['One '])
  const request = await mock.waitForRequest()
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('a consumer slower than timeoutMs between chunks does not time the answer out', async t => {
  const { llm } = await setup(t, { timeoutMs: 100, retries: 0 })
  const received: string[] = []
  for await (const chunk of llm.stream(hello)) {
    received.push(chunk.content)
    if (received.length === 1) await new Promise(resolve => setTimeout(resolve, 250))
  }
  t.equal(received.join(''), BEDROCK_MOCK_REPLY)
})

t.test('aborting mid-answer ends the stream quietly and closes the connection', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'stream', text: 'a b c d e f g h i j k l m n o p' })
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

t.test('aborting while the request waits for its answer ends the call at once; complete() rejects with AbortError', async t => {
  const { mock, llm } = await setup(t)
  mock.script({ type: 'hang' })
  const controller = new AbortController()
  const pending = llm.complete({ ...hello, signal: controller.signal })
  const request = await mock.waitForRequest()
  controller.abort()
  await t.rejects(pending, { name: 'AbortError' })
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('options are checked when the provider is built', async t => {
  t.throws(() => new BedrockLLM({ model: '' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /BEDROCK_MODEL/ })
  t.throws(() => new BedrockLLM({ model, retries: -1 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new BedrockLLM({ model, timeoutMs: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  const error = (() => { try { return new BedrockLLM({ model, credentials: { accessKeyId: 'AKID', secretAccessKey: '' } }) } catch (e) { return e } })()
  t.match(error, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /credentials/ })
})
