import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/*
 * A loopback mock of Anthropic's Messages API (POST /v1/messages) for the real SDK: a whole `message`
 * as JSON, or the SSE sequence `message_start`, `content_block_start`, `ping`, `content_block_delta`
 * (`text_delta`, `input_json_delta` fragments), `content_block_stop`, `message_delta` (stop_reason and
 * usage), `message_stop`; `error` events mid-stream; HTTP errors in Anthropic's
 * `{type: 'error', error: {type, message}}` shape. Every request is recorded with whether the client
 * hung up first.
 */

export interface MockToolUse { id: string, name: string, /** The input's JSON text, streamed in fragments. */ input: string }

/** What one request gets. Scripts are used in order; an empty script gets a text answer (MOCK_REPLY). */
export type AnthropicMockAction =
  | {
    type: 'message'
    text?: string
    toolUses?: MockToolUse[]
    stopReason?: string
    /** Destroys the socket before the `n`th SSE event (a cut connection). */
    disconnectAfterEvents?: number
    /** Ends the response cleanly before the `n`th SSE event (no message_stop). */
    endAfterEvents?: number
    /** Sends this `error` event before the `n`th SSE event (`at`), then ends the response. */
    errorEvent?: { type: string, message: string, at: number }
  }
  /** An HTTP error in Anthropic's shape (a default body for 400/401/429/500/529). */
  | { type: 'error', status: number, body?: unknown, headers?: Record<string, string> }
  /** Accepts the request and never answers (timeouts, aborts). */
  | { type: 'hang' }

export interface AnthropicRecordedRequest {
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
  /** The client closed the connection before the response ended (abort, timeout). */
  clientAborted: boolean
  /** Resolves when the exchange is over, whoever ended it. */
  closed: Promise<void>
}

export interface AnthropicMock {
  /** Base URL for the SDK, `http://127.0.0.1:PORT` (the SDK adds `/v1/messages`). */
  baseURL: string
  requests: AnthropicRecordedRequest[]
  script: (...actions: AnthropicMockAction[]) => void
  /** Resolves with the `index`th request once it arrived. */
  waitForRequest: (index?: number) => Promise<AnthropicRecordedRequest>
  close: () => Promise<void>
}

export const MOCK_REPLY = 'Hello from the mock Claude. How can I help you today?'

export async function startAnthropicMock (options: { apiKey?: string, chunkDelayMs?: number } = {}): Promise<AnthropicMock> {
  const delayMs = options.chunkDelayMs ?? 5
  const script: AnthropicMockAction[] = []
  const requests: AnthropicRecordedRequest[] = []
  const waiters = new Set<() => void>()

  const server = createServer((req, res) => { void handle(req, res) })
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: AnthropicRecordedRequest = { path: req.url ?? '', headers: req.headers, body: {}, clientAborted: false, closed: Promise.resolve() }
    let destroyedByMock = false
    record.closed = new Promise(resolve => res.once('close', () => {
      record.clientAborted = !res.writableFinished && !destroyedByMock
      resolve()
    }))
    const raw = await readBody(req)
    record.body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) as Record<string, unknown> : {}
    requests.push(record)
    for (const wake of waiters) wake()
    res.setHeader('request-id', `req_mock${String(requests.length).padStart(4, '0')}`)
    if (req.method !== 'POST' || req.url !== '/v1/messages') return sendError(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } })
    if (options.apiKey !== undefined && apiKeyOf(req.headers) !== options.apiKey) return sendError(res, 401)
    const action = script.shift() ?? { type: 'message', text: MOCK_REPLY }
    const disconnect = (): void => {
      destroyedByMock = true
      res.socket?.destroy()
    }
    await respond(action, record.body, res, delayMs, disconnect)
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    script: (...actions) => { script.push(...actions) },
    waitForRequest: async (index = 0) => await new Promise(resolve => {
      const check = (): void => {
        const found = requests[index]
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

type MessageAction = Extract<AnthropicMockAction, { type: 'message' }>

async function respond (action: AnthropicMockAction, body: Record<string, unknown>, res: ServerResponse, delayMs: number, disconnect: () => void): Promise<void> {
  if (action.type === 'hang') return
  if (action.type === 'error') return sendError(res, action.status, action.body, action.headers)
  const model = String(body.model ?? 'claude-sonnet-4-5')
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(wholeMessage(model, action)))
    return
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
  const events = streamEvents(model, action)
  for (const [i, event] of events.entries()) {
    if (i === action.disconnectAfterEvents) return disconnect()
    if (i === action.endAfterEvents) break
    if (i === action.errorEvent?.at) {
      res.write(sse({ type: 'error', error: { type: action.errorEvent.type, message: action.errorEvent.message } }))
      break
    }
    if (res.destroyed) return
    res.write(sse(event))
    await new Promise(resolve => setTimeout(resolve, delayMs))
  }
  res.end()
}

/** One SSE event: Anthropic names each event after its `type`. */
function sse (data: { type: string } & Record<string, unknown>): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`
}

const usage = { input_tokens: 21, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 }

function stopReasonOf (action: MessageAction): string {
  return action.stopReason ?? ((action.toolUses ?? []).length > 0 ? 'tool_use' : 'end_turn')
}

function wholeMessage (model: string, action: MessageAction): Record<string, unknown> {
  const content: unknown[] = []
  if (action.text !== undefined && action.text !== '') content.push({ type: 'text', text: action.text })
  for (const tool of action.toolUses ?? []) content.push({ type: 'tool_use', id: tool.id, name: tool.name, input: JSON.parse(tool.input) })
  return { id: 'msg_mock01', type: 'message', role: 'assistant', model, content, stop_reason: stopReasonOf(action), stop_sequence: null, usage: { ...usage, output_tokens: 12 } }
}

/** The SSE events of one answer: text word by word, then each tool_use with its input in 9-character fragments. */
function streamEvents (model: string, action: MessageAction): Array<{ type: string } & Record<string, unknown>> {
  const events: Array<{ type: string } & Record<string, unknown>> = [
    { type: 'message_start', message: { id: 'msg_mock01', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage } }
  ]
  let index = 0
  if (action.text !== undefined && action.text !== '') {
    events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, { type: 'ping' })
    for (const word of action.text.match(/\S+\s*/g) ?? []) events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: word } })
    events.push({ type: 'content_block_stop', index })
    index++
  }
  for (const tool of action.toolUses ?? []) {
    events.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: tool.id, name: tool.name, input: {} } })
    events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } })
    for (let i = 0; i < tool.input.length; i += 9) events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: tool.input.slice(i, i + 9) } })
    events.push({ type: 'content_block_stop', index })
    index++
  }
  events.push({ type: 'message_delta', delta: { stop_reason: stopReasonOf(action), stop_sequence: null }, usage: { output_tokens: 15 } })
  events.push({ type: 'message_stop' })
  return events
}

const errorDefaults: Record<number, { type: string, message: string }> = {
  400: { type: 'invalid_request_error', message: 'messages: at least one message is required' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  429: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' },
  500: { type: 'api_error', message: 'Internal server error' },
  529: { type: 'overloaded_error', message: 'Overloaded' }
}

function sendError (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const error = errorDefaults[status] ?? errorDefaults[status >= 500 ? 500 : 400]
  const payload = body ?? { type: 'error', error, request_id: res.getHeader('request-id') }
  // The SDK honours retry-after-ms: keeps retry tests fast (Anthropic itself sends retry-after in seconds).
  const retryable = status === 429 || status >= 500
  res.writeHead(status, { 'content-type': 'application/json', ...(retryable ? { 'retry-after-ms': '10' } : {}), ...headers }).end(JSON.stringify(payload))
}

/** The key of a request: Anthropic takes `x-api-key` or, as SDK 1.x sends it, `Authorization: Bearer`. */
export function apiKeyOf (headers: IncomingHttpHeaders): string | undefined {
  const key = headers['x-api-key']
  if (typeof key === 'string') return key
  return /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1]
}

async function readBody (req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  return Buffer.concat(parts)
}
