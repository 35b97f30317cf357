import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/*
 * A loopback mock of OpenAI's REST wire protocol for the real SDK: chat completions (JSON, and SSE with
 * `data: {...}\n\n` chunks ending in `data: [DONE]`, tool-call deltas split across chunks), audio
 * transcriptions (multipart in, JSON `{text}` out; with `response_format: verbose_json` the verbose answer,
 * with `words` when `timestamp_granularities[]` asks for them) and audio speech (raw 24 kHz s16le PCM, chunked).
 * Responses are scripted per route; every request is recorded with whether the client hung up first.
 */

export type MockRoute = 'chat' | 'transcriptions' | 'speech'

export interface MockToolCall { id: string, name: string, arguments: string }

/** What one request gets. Scripts are used in order; an empty script gets the route's default answer. */
export type MockAction =
  | { type: 'chat', content?: string, toolCalls?: MockToolCall[], finishReason?: string, disconnectAfterChunks?: number }
  /** `words`: the verbose answer's words (seconds); default: the text's words, one per 300 ms from 0. */
  | { type: 'transcript', text: string, words?: Array<{ word: string, start: number, end: number }> }
  | { type: 'speech', pcm?: Buffer, disconnectAfterChunks?: number }
  /** An error in OpenAI's shape `{error: {message, type, param, code}}` (a default for 400/401/429/5xx). */
  | { type: 'error', status: number, body?: unknown, headers?: Record<string, string> }
  /** Any status and body as is (malformed answers). */
  | { type: 'raw', status: number, contentType: string, body: string }
  /** Accepts the request and never answers (timeouts, aborts). */
  | { type: 'hang' }

export interface RecordedRequest {
  route: MockRoute | undefined
  path: string
  headers: IncomingHttpHeaders
  /** The JSON body, or the multipart fields (files as `{filename, contentType, data}`). */
  body: Record<string, unknown>
  /** The client closed the connection before the response ended (abort, timeout). */
  clientAborted: boolean
  /** Resolves when the exchange is over, whoever ended it. */
  closed: Promise<void>
}

export interface OpenAIMock {
  /** Base URL for the SDK, `http://127.0.0.1:PORT/v1`. */
  baseURL: string
  requests: RecordedRequest[]
  requestsTo: (route: MockRoute) => RecordedRequest[]
  /** Appends responses for the next requests to `route`. */
  script: (route: MockRoute, ...actions: MockAction[]) => void
  /** Resolves with the `index`th request to `route` once it arrived. */
  waitForRequest: (route: MockRoute, index?: number) => Promise<RecordedRequest>
  close: () => Promise<void>
}

export interface OpenAIMockOptions {
  /** Answer 401 unless the Bearer token is this key (default: any key). */
  apiKey?: string
  /** Pause between streamed chunks, in ms (default 5). */
  chunkDelayMs?: number
}

const routes: Record<string, MockRoute> = { '/v1/chat/completions': 'chat', '/v1/audio/transcriptions': 'transcriptions', '/v1/audio/speech': 'speech' }
export const MOCK_REPLY = 'Hello from the mock model. How can I help you today?'
export const MOCK_TRANSCRIPT = 'What is the weather like today?'

export async function startOpenAIMock (options: OpenAIMockOptions = {}): Promise<OpenAIMock> {
  const delayMs = options.chunkDelayMs ?? 5
  const scripts: Record<MockRoute, MockAction[]> = { chat: [], transcriptions: [], speech: [] }
  const requests: RecordedRequest[] = []
  const waiters = new Set<() => void>()

  const server = createServer((req, res) => { void handle(req, res) })
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = routes[req.url ?? '']
    const record: RecordedRequest = { route, path: req.url ?? '', headers: req.headers, body: {}, clientAborted: false, closed: Promise.resolve() }
    let destroyedByMock = false
    record.closed = new Promise(resolve => res.once('close', () => {
      record.clientAborted = !res.writableFinished && !destroyedByMock
      resolve()
    }))
    const raw = await readBody(req)
    record.body = parseBody(req.headers['content-type'] ?? '', raw)
    requests.push(record)
    for (const wake of waiters) wake()
    res.setHeader('x-request-id', `req_mock_${requests.length}`)
    if (route === undefined) return sendError(res, 404, { error: { message: `Invalid URL (${req.method ?? ''} ${req.url ?? ''})`, type: 'invalid_request_error', param: null, code: null } })
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) return sendError(res, 401, invalidKey(req.headers.authorization))
    const action = scripts[route].shift() ?? defaultAction(route)
    const disconnect = (): void => {
      destroyedByMock = true
      res.socket?.destroy()
    }
    await respond(action, record.body, res, delayMs, disconnect)
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    requestsTo: route => requests.filter(r => r.route === route),
    script: (route, ...actions) => { scripts[route].push(...actions) },
    waitForRequest: async (route, index = 0) => await new Promise(resolve => {
      const check = (): void => {
        const found = requests.filter(r => r.route === route)[index]
        if (found === undefined) return
        waiters.delete(check)
        resolve(found)
      }
      waiters.add(check)
      check()
    }),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

function defaultAction (route: MockRoute): MockAction {
  if (route === 'chat') return { type: 'chat', content: MOCK_REPLY }
  if (route === 'transcriptions') return { type: 'transcript', text: MOCK_TRANSCRIPT }
  return { type: 'speech' }
}

async function respond (action: MockAction, body: Record<string, unknown>, res: ServerResponse, delayMs: number, disconnect: () => void): Promise<void> {
  switch (action.type) {
    case 'hang':
      return
    case 'error':
      return sendError(res, action.status, action.body, action.headers)
    case 'raw':
      res.writeHead(action.status, { 'content-type': action.contentType }).end(action.body)
      return
    case 'transcript':
      return transcript(action, body, res)
    case 'speech': {
      const pcm = action.pcm ?? tone(String(body.input ?? '').length * 50)
      res.writeHead(200, { 'content-type': 'audio/pcm' })
      // 4801 bytes: chunks that split samples, as network chunks do.
      const parts = []
      for (let offset = 0; offset < pcm.length; offset += 4801) parts.push(pcm.subarray(offset, offset + 4801))
      return await writeParts(res, parts, delayMs, action.disconnectAfterChunks, disconnect)
    }
    case 'chat': {
      const model = String(body.model ?? 'gpt-4o-mini')
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(model, action)))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
      const events = chunks(model, action).map(c => `data: ${JSON.stringify(c)}\n\n`)
      events.push('data: [DONE]\n\n')
      return await writeParts(res, events, delayMs, action.disconnectAfterChunks, disconnect)
    }
  }
}

/** OpenAI's answers to a transcription: `{text}`, or verbose_json (words only when asked for, and only there). */
function transcript (action: Extract<MockAction, { type: 'transcript' }>, body: Record<string, unknown>, res: ServerResponse): void {
  const format = body.response_format ?? 'json'
  const wantsWords = body['timestamp_granularities[]'] === 'word'
  if (wantsWords && format !== 'verbose_json') {
    return sendError(res, 400, { error: { message: 'timestamp_granularities is only supported with response_format verbose_json.', type: 'invalid_request_error', param: 'timestamp_granularities', code: null } })
  }
  if (format !== 'verbose_json') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: action.text }))
    return
  }
  const words = action.words ?? action.text.split(/\s+/).filter(w => w !== '').map((w, i) => ({ word: w.replace(/[^\p{L}\p{N}']/gu, ''), start: i * 0.3, end: i * 0.3 + 0.25 }))
  const duration = words.at(-1)?.end ?? 0
  const verbose: Record<string, unknown> = { task: 'transcribe', language: 'english', duration, text: action.text, ...(wantsWords ? { words } : {}) }
  if (!wantsWords) verbose.segments = [{ id: 0, seek: 0, start: 0, end: duration, text: action.text, tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01 }]
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verbose))
}

async function writeParts (res: ServerResponse, parts: Array<string | Buffer>, delayMs: number, disconnectAfter: number | undefined, disconnect: () => void): Promise<void> {
  for (const [i, part] of parts.entries()) {
    if (i === disconnectAfter) return disconnect()
    if (res.destroyed) return
    res.write(part)
    await new Promise(resolve => setTimeout(resolve, delayMs))
  }
  res.end()
}

const base = (model: string, object: string): Record<string, unknown> => ({ id: 'chatcmpl-mock123', object, created: 1764086400, model, system_fingerprint: 'fp_mock' })

function completion (model: string, action: Extract<MockAction, { type: 'chat' }>): Record<string, unknown> {
  const toolCalls = action.toolCalls ?? []
  const message: Record<string, unknown> = { role: 'assistant', content: toolCalls.length > 0 ? null : action.content ?? '', refusal: null }
  if (toolCalls.length > 0) message.tool_calls = toolCalls.map(c => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }))
  const finishReason = action.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop')
  return { ...base(model, 'chat.completion'), choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }], usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 } }
}

/** The SSE chunks of one answer: role, content word by word, tool calls (id and name, then argument fragments), finish. */
function chunks (model: string, action: Extract<MockAction, { type: 'chat' }>): Array<Record<string, unknown>> {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> =>
    ({ ...base(model, 'chat.completion.chunk'), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] })
  const out = [chunk({ role: 'assistant', content: '', refusal: null })]
  for (const word of (action.content ?? '').match(/\S+\s*/g) ?? []) out.push(chunk({ content: word }))
  const toolCalls = action.toolCalls ?? []
  for (const [index, call] of toolCalls.entries()) {
    out.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }))
    for (let i = 0; i < call.arguments.length; i += 7) out.push(chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(i, i + 7) } }] }))
  }
  out.push(chunk({}, action.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop')))
  return out
}

const errorDefaults: Record<number, { message: string, type: string, code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: { message: 'Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', code: 'invalid_api_key' },
  429: { message: 'Rate limit reached for requests. Please try again in 10ms.', type: 'requests', code: 'rate_limit_exceeded' },
  500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null }
}

/** OpenAI's 401 for a wrong key, which echoes it masked (its first 8 and last 4 characters; short keys whole). */
function invalidKey (authorization: string | undefined): unknown {
  const key = (authorization ?? '').replace(/^Bearer /, '')
  const shown = key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}` : key
  return { error: { message: `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }
}

function sendError (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const fallback = errorDefaults[status] ?? errorDefaults[status >= 500 ? 500 : 400]
  const payload = body ?? { error: { ...fallback, param: null } }
  // The SDK honours retry-after-ms: keeps retry tests fast (OpenAI itself sends x-ratelimit-* headers).
  const retryable = status === 429 || status >= 500
  res.writeHead(status, { 'content-type': 'application/json', ...(retryable ? { 'retry-after-ms': '10' } : {}), ...headers }).end(JSON.stringify(payload))
}

async function readBody (req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

function parseBody (contentType: string, raw: Buffer): Record<string, unknown> {
  if (contentType.startsWith('application/json')) return JSON.parse(raw.toString('utf8')) as Record<string, unknown>
  if (contentType.startsWith('multipart/form-data')) {
    const fields: Record<string, string | MultipartField> = {}
    for (const field of parseMultipart(contentType, raw)) fields[field.name] = field.filename === undefined ? field.data.toString('utf8') : field
    return fields
  }
  return {}
}

/** `ms` of a 440 Hz tone at 24 kHz s16le: clearly not silent. */
export function tone (ms: number): Buffer {
  const samples = new Int16Array(Math.round(24 * Math.max(ms, 200)))
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / 24000))
  return Buffer.from(samples.buffer)
}

/** One part of a multipart/form-data body. */
interface MultipartField {
  name: string
  filename?: string
  contentType?: string
  data: Buffer
}

/** Splits a multipart/form-data body (RFC 7578) into its parts; enough for the SDK's uploads. */
function parseMultipart (contentType: string, body: Buffer): MultipartField[] {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType)
  const value = boundary?.[1] ?? boundary?.[2]
  if (value === undefined) return []
  const delimiter = Buffer.from(`--${value}`)
  const fields: MultipartField[] = []
  let start = body.indexOf(delimiter)
  while (start >= 0) {
    const partStart = start + delimiter.length
    if (body.subarray(partStart, partStart + 2).toString() === '--') break
    const next = body.indexOf(delimiter, partStart)
    if (next < 0) break
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = body.subarray(partStart + 2, next - 2)
    const headerEnd = part.indexOf('\r\n\r\n')
    const headers = part.subarray(0, headerEnd).toString('utf8')
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? ''
    const field: MultipartField = { name: /name="([^"]*)"/.exec(disposition)?.[1] ?? '', data: part.subarray(headerEnd + 4) }
    const filename = /filename="([^"]*)"/.exec(disposition)?.[1]
    if (filename !== undefined) field.filename = filename
    const type = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]
    if (type !== undefined) field.contentType = type
    fields.push(field)
    start = next
  }
  return fields
}
