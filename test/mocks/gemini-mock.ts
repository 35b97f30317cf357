import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/*
 * A loopback mock of the Gemini API's REST wire protocol for the real @google/genai SDK:
 * POST /v1beta/models/{model}:generateContent (one GenerateContentResponse as JSON) and
 * POST /v1beta/models/{model}:streamGenerateContent?alt=sse (SSE `data: {GenerateContentResponse}` events
 * separated by CRLF CRLF: text word by word, function calls whole in one part with a thought signature,
 * finishReason and usageMetadata on the last event). Errors in Google's shape `{error: {code, message,
 * status}}`. Responses are scripted in order; every request is recorded with whether the client hung up first.
 */

export type GeminiMockMethod = 'generateContent' | 'streamGenerateContent'

export interface MockFunctionCall { name: string, args: Record<string, unknown>, id?: string, thoughtSignature?: string }

export type GeminiMockAction =
  | {
    type: 'answer'
    text?: string
    functionCalls?: MockFunctionCall[]
    finishReason?: string
    /** `promptFeedback.blockReason`, with no candidates. */
    blockReason?: string
    /** Thought-summary text sent first as a `thought: true` part. */
    thought?: string
    /** Streamed: destroy the socket before this event (0-based), after the ones before it. */
    disconnectAfterEvents?: number
  }
  /** An HTTP error in Google's shape (defaults per status: 400 API_KEY_INVALID, 401, 403, 429, 500, 503). */
  | { type: 'error', status: number, body?: unknown }
  /** Streamed: the words of `text` as answer events, then an `{error}` event inside the stream (HTTP 200). */
  | { type: 'streamError', status: number, text?: string }
  /** Any status and body as is (malformed answers). */
  | { type: 'raw', status: number, contentType: string, body: string }
  /** Accepts the request and never answers (timeouts, aborts). */
  | { type: 'hang' }

export interface GeminiRecordedRequest {
  method: GeminiMockMethod | undefined
  model: string
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
  /** The client closed the connection before the response ended (abort, timeout). */
  clientAborted: boolean
  /** Resolves when the exchange is over, whoever ended it. */
  closed: Promise<void>
}

export interface GeminiMock {
  /** Base URL for the SDK's `httpOptions.baseUrl`: `http://127.0.0.1:PORT`. */
  baseUrl: string
  requests: GeminiRecordedRequest[]
  /** Appends responses for the next requests (either method). */
  script: (...actions: GeminiMockAction[]) => void
  /** Resolves with the `index`th request once it arrived. */
  waitForRequest: (index?: number) => Promise<GeminiRecordedRequest>
  close: () => Promise<void>
}

export interface GeminiMockOptions {
  /** Answer 400 API_KEY_INVALID (as Gemini does) unless `x-goog-api-key` is this key (default: any key). */
  apiKey?: string
  /** Pause between streamed events, in ms (default 5). */
  eventDelayMs?: number
}

export const GEMINI_MOCK_REPLY = 'Hello from the mock Gemini. How can I help you today?'

const ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)(?:\?(.*))?$/

export async function startGeminiMock (options: GeminiMockOptions = {}): Promise<GeminiMock> {
  const delayMs = options.eventDelayMs ?? 5
  const scripts: GeminiMockAction[] = []
  const requests: GeminiRecordedRequest[] = []
  const waiters = new Set<() => void>()

  const server = createServer((req, res) => { void handle(req, res) })
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = ROUTE.exec(req.url ?? '')
    const method = match?.[2] as GeminiMockMethod | undefined
    const record: GeminiRecordedRequest = { method, model: match?.[1] ?? '', path: req.url ?? '', headers: req.headers, body: {}, clientAborted: false, closed: Promise.resolve() }
    let destroyedByMock = false
    record.closed = new Promise(resolve => res.once('close', () => {
      record.clientAborted = !res.writableFinished && !destroyedByMock
      resolve()
    }))
    const raw = await readBody(req)
    try { record.body = JSON.parse(raw.toString('utf8')) as Record<string, unknown> } catch {}
    requests.push(record)
    for (const wake of waiters) wake()
    if (req.method !== 'POST' || method === undefined) return sendError(res, 404, { error: { code: 404, message: `Method not found: ${req.method ?? ''} ${req.url ?? ''}`, status: 'NOT_FOUND' } })
    if (method === 'streamGenerateContent' && !/(^|&)alt=sse(&|$)/.test(match?.[3] ?? '')) return sendError(res, 400, { error: { code: 400, message: 'the mock streams SSE only (alt=sse)', status: 'INVALID_ARGUMENT' } })
    if (options.apiKey !== undefined && req.headers['x-goog-api-key'] !== options.apiKey) return sendError(res, 400)
    const action = scripts.shift() ?? { type: 'answer', text: GEMINI_MOCK_REPLY }
    const disconnect = (): void => {
      destroyedByMock = true
      res.socket?.destroy()
    }
    await respond(action, method, record.model, res, delayMs, disconnect)
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    script: (...actions) => { scripts.push(...actions) },
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

async function respond (action: GeminiMockAction, method: GeminiMockMethod, model: string, res: ServerResponse, delayMs: number, disconnect: () => void): Promise<void> {
  switch (action.type) {
    case 'hang':
      return
    case 'error':
      return sendError(res, action.status, action.body)
    case 'raw':
      res.writeHead(action.status, { 'content-type': action.contentType }).end(action.body)
      return
    case 'streamError': {
      const events = answerEvents(model, { type: 'answer', text: action.text ?? '' }).slice(0, -1)
      events.push(errorBody(action.status))
      res.writeHead(200, sseHeaders)
      return await writeEvents(res, events, delayMs, undefined, disconnect)
    }
    case 'answer': {
      const events = answerEvents(model, action)
      if (method === 'generateContent') {
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(merged(events)))
        return
      }
      res.writeHead(200, sseHeaders)
      return await writeEvents(res, events, delayMs, action.disconnectAfterEvents, disconnect)
    }
  }
}

const sseHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }

async function writeEvents (res: ServerResponse, events: unknown[], delayMs: number, disconnectAfter: number | undefined, disconnect: () => void): Promise<void> {
  for (const [i, event] of events.entries()) {
    if (i === disconnectAfter) return disconnect()
    if (res.destroyed) return
    res.write(`data: ${JSON.stringify(event)}\r\n\r\n`)
    await new Promise(resolve => setTimeout(resolve, delayMs))
  }
  res.end()
}

type Answer = Extract<GeminiMockAction, { type: 'answer' }>
type Event = Record<string, unknown>

/** The SSE events of one answer: thought, text word by word, function calls in one event, then the finish. */
function answerEvents (model: string, action: Answer): Event[] {
  const meta = { modelVersion: model, responseId: 'mock-response-1' }
  const usage = { promptTokenCount: 12, candidatesTokenCount: 9, totalTokenCount: 21 }
  if (action.blockReason !== undefined) return [{ promptFeedback: { blockReason: action.blockReason }, usageMetadata: usage, ...meta }]
  const event = (parts: Event[], finishReason?: string): Event => ({
    candidates: [{ content: { parts, role: 'model' }, index: 0, ...(finishReason === undefined ? {} : { finishReason }) }],
    usageMetadata: usage,
    ...meta
  })
  const events: Event[] = []
  if (action.thought !== undefined) events.push(event([{ text: action.thought, thought: true }]))
  for (const word of (action.text ?? '').match(/\S+\s*/g) ?? []) events.push(event([{ text: word }]))
  const calls = action.functionCalls ?? []
  if (calls.length > 0) {
    events.push(event(calls.map(call => {
      const functionCall: Event = { name: call.name, args: call.args }
      if (call.id !== undefined) functionCall.id = call.id
      return call.thoughtSignature === undefined ? { functionCall } : { functionCall, thoughtSignature: call.thoughtSignature }
    })))
  }
  // The last event carries the finish reason, with an empty text part as Gemini sends it.
  events.push(event([{ text: '' }], action.finishReason ?? 'STOP'))
  return events
}

/** One whole response (generateContent): the events' parts joined in one candidate. */
function merged (events: Event[]): Event {
  const first = events[0] as { candidates?: Array<{ content: { parts: Event[] } }> }
  if (first.candidates === undefined) return first
  const parts: Event[] = []
  let text = ''
  for (const event of events) {
    for (const part of (event as typeof first).candidates?.[0]?.content.parts ?? []) {
      if (typeof part.text === 'string' && part.thought !== true) text += part.text
      else parts.push(part)
    }
  }
  const last = events.at(-1) as Event & { candidates: Array<Event> }
  const textParts = text === '' ? [] : [{ text }]
  return { ...last, candidates: [{ ...last.candidates[0], content: { parts: [...parts.filter(p => p.thought === true), ...textParts, ...parts.filter(p => p.thought !== true)], role: 'model' } }] }
}

const errorDefaults: Record<number, { message: string, status: string, details?: unknown[] }> = {
  400: {
    message: 'API key not valid. Please pass a valid API key.',
    status: 'INVALID_ARGUMENT',
    details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } }]
  },
  401: { message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', status: 'UNAUTHENTICATED' },
  403: { message: 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.', status: 'PERMISSION_DENIED' },
  404: { message: 'models/unknown is not found for API version v1beta, or is not supported for generateContent.', status: 'NOT_FOUND' },
  429: { message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' },
  500: { message: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting', status: 'INTERNAL' },
  503: { message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' }
}

function errorBody (status: number): Record<string, unknown> {
  const fallback = errorDefaults[status] ?? errorDefaults[status >= 500 ? 500 : 400]
  return { error: { code: status, ...fallback } }
}

function sendError (res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body ?? errorBody(status)))
}

async function readBody (req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  return Buffer.concat(parts)
}
