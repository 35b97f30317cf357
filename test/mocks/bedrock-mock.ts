import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { crc32 } from 'node:zlib'

/*
 * A loopback mock of Amazon Bedrock's ConverseStream for the real AWS SDK, over HTTP/2 (cleartext, prior
 * knowledge) as the SDK's Bedrock runtime client speaks it: `POST /model/{modelId}/converse-stream`
 * answers `application/vnd.amazon.eventstream`, the AWS event stream binary encoding (prelude with total
 * and headers length and its CRC32, string headers :event-type / :message-type / :content-type, a JSON
 * payload, the message CRC32), with messageStart, contentBlockStart (tool uses), contentBlockDelta (text,
 * tool input JSON in pieces), contentBlockStop, messageStop and metadata events, or an exception message
 * inside the stream. Refusals are restJson1 errors (`x-amzn-errortype`, `{message}`). SigV4 signatures
 * are recorded, not checked. Every request is recorded with whether the client hung up first.
 */

export interface MockToolUse { id: string, name: string, input: string }

/** What one request gets. Scripts are used in order; an empty script gets the default answer. */
export type BedrockMockAction =
  | {
    type: 'stream'
    text?: string
    toolUses?: MockToolUse[]
    stopReason?: string
    /** The mock destroys the connection after this many events. */
    cutAfterEvents?: number
    /** The mock sends no more after this many events and keeps the connection open. */
    hangAfterEvents?: number
    /** An exception message (`throttlingException`, ...) after this many events, ending the stream. */
    exception?: { type: string, message?: string, afterEvents: number }
  }
  /** A refused request in restJson1's shape: `x-amzn-errortype` and `{message}`. */
  | { type: 'error', status: number, errorType: string, message?: string }
  /** Accepts the request and never answers (timeouts, aborts). */
  | { type: 'hang' }

export interface BedrockRecordedRequest {
  /** The decoded `{modelId}` of the path. */
  modelId: string
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
  /** The client closed the connection before the response ended (abort, timeout). */
  clientAborted: boolean
  /** Resolves when the exchange is over, whoever ended it. */
  closed: Promise<void>
}

export interface BedrockMock {
  /** Endpoint for the SDK, `http://127.0.0.1:PORT`. */
  endpoint: string
  requests: BedrockRecordedRequest[]
  /** Appends responses for the next requests. */
  script: (...actions: BedrockMockAction[]) => void
  /** Resolves with the `index`th request once it arrived. */
  waitForRequest: (index?: number) => Promise<BedrockRecordedRequest>
  close: () => Promise<void>
}

export const BEDROCK_MOCK_REPLY = 'Hello from the Bedrock mock. How can I help you today?'

/** One event stream message: prelude, headers (all strings, type 7), payload, CRC32s. */
export function encodeEventStreamMessage (headers: Record<string, string>, payload: Buffer): Buffer {
  const headerParts: Buffer[] = []
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8')
    const valueBytes = Buffer.from(value, 'utf8')
    const part = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length)
    part.writeUInt8(nameBytes.length, 0)
    nameBytes.copy(part, 1)
    part.writeUInt8(7, 1 + nameBytes.length)
    part.writeUInt16BE(valueBytes.length, 2 + nameBytes.length)
    valueBytes.copy(part, 4 + nameBytes.length)
    headerParts.push(part)
  }
  const headerBytes = Buffer.concat(headerParts)
  const total = 12 + headerBytes.length + payload.length + 4
  const message = Buffer.alloc(total)
  message.writeUInt32BE(total, 0)
  message.writeUInt32BE(headerBytes.length, 4)
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8)
  headerBytes.copy(message, 12)
  payload.copy(message, 12 + headerBytes.length)
  message.writeUInt32BE(crc32(message.subarray(0, total - 4)), total - 4)
  return message
}

function eventMessage (eventType: string, body: unknown): Buffer {
  return encodeEventStreamMessage({ ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' }, Buffer.from(JSON.stringify(body)))
}

function exceptionMessage (exceptionType: string, message: string): Buffer {
  return encodeEventStreamMessage({ ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' }, Buffer.from(JSON.stringify({ message })))
}

/** The events of an answer, as Bedrock sends them (text blocks have no contentBlockStart; tool uses do). */
function answerEvents (action: Extract<BedrockMockAction, { type: 'stream' }>): Buffer[] {
  const events: Buffer[] = [eventMessage('messageStart', { p: 'abcd', role: 'assistant' })]
  let index = 0
  const text = action.text ?? (action.toolUses === undefined ? BEDROCK_MOCK_REPLY : '')
  if (text !== '') {
    for (const word of text.match(/\S+\s*/g) ?? []) events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { text: word }, p: 'abc' }))
    events.push(eventMessage('contentBlockStop', { contentBlockIndex: index, p: 'ab' }))
    index++
  }
  for (const use of action.toolUses ?? []) {
    events.push(eventMessage('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { name: use.name, toolUseId: use.id } }, p: 'abcdef' }))
    const half = Math.ceil(use.input.length / 2)
    for (const piece of [use.input.slice(0, half), use.input.slice(half)]) {
      if (piece !== '') events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: piece } }, p: 'a' }))
    }
    events.push(eventMessage('contentBlockStop', { contentBlockIndex: index, p: 'abc' }))
    index++
  }
  events.push(eventMessage('messageStop', { p: 'abcd', stopReason: action.stopReason ?? (action.toolUses !== undefined ? 'tool_use' : 'end_turn') }))
  events.push(eventMessage('metadata', { metrics: { latencyMs: 42 }, p: 'abc', usage: { inputTokens: 12, outputTokens: 34, totalTokens: 46 } }))
  return events
}

export async function startBedrockMock (options: { eventDelayMs?: number } = {}): Promise<BedrockMock> {
  const delayMs = options.eventDelayMs ?? 5
  const scripts: BedrockMockAction[] = []
  const requests: BedrockRecordedRequest[] = []
  const waiters = new Set<() => void>()

  const sessions = new Set<ServerHttp2Session>()
  const server = createServer((req, res) => { void handle(req, res) })
  server.on('session', session => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  async function handle (req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const match = /^\/model\/([^/]+)\/converse-stream$/.exec(req.url ?? '')
    const record: BedrockRecordedRequest = { modelId: decodeURIComponent(match?.[1] ?? ''), path: req.url ?? '', headers: req.headers, body: {}, clientAborted: false, closed: Promise.resolve() }
    let destroyedByMock = false
    // Node's HTTP/2 compat response emits 'finish' on any stream close: whether the mock ended it is kept here.
    let endedByMock = false
    const end = (data?: Buffer): void => {
      endedByMock = true
      if (data === undefined) res.end()
      else res.end(data)
    }
    record.closed = new Promise(resolve => res.once('close', () => {
      record.clientAborted = !endedByMock && !destroyedByMock
      resolve()
    }))
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    record.body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
    requests.push(record)
    for (const wake of waiters) wake()
    res.setHeader('x-amzn-requestid', randomUUID())
    if (req.method !== 'POST' || match === null) {
      endedByMock = true
      return sendError(res, 404, 'UnknownOperationException', 'Unknown operation')
    }
    const action = scripts.shift() ?? { type: 'stream' }
    if (action.type === 'hang') return
    if (action.type === 'error') {
      endedByMock = true
      return sendError(res, action.status, action.errorType, action.message ?? `${action.errorType} from the mock`)
    }
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' })
    const events = answerEvents(action)
    for (let i = 0; i < events.length; i++) {
      if (res.stream.destroyed) return
      if (action.cutAfterEvents === i) {
        // The whole connection goes, as when a network path breaks.
        destroyedByMock = true
        res.stream.session?.destroy()
        return
      }
      if (action.hangAfterEvents === i) return
      if (action.exception?.afterEvents === i) {
        end(exceptionMessage(action.exception.type, action.exception.message ?? `${action.exception.type} from the mock`))
        return
      }
      res.write(events[i] as Buffer)
      await new Promise(resolve => setTimeout(resolve, delayMs))
    }
    end()
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
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
      for (const session of sessions) session.destroy()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

function sendError (res: Http2ServerResponse, status: number, errorType: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/` })
  res.end(JSON.stringify({ message }))
}
