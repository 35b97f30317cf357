import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A loopback stand-in for Telnyx's REST API (the TeXML REST commands call control uses), speaking its wire:
 * `Authorization: Bearer <apiKey>` (else 401 with Telnyx's `{ errors: [{ code, title, detail }] }`),
 * - `POST /v2/texml/Accounts/{account_sid}/Calls/{call_sid}` (form-urlencoded `Status`, `Texml`…):
 *   the call resource, flat JSON (`{ account_sid, sid, status, … }`);
 * - `POST /v2/texml/calls/{connection_id}` (JSON `From`, `To`, `Url`…): `{ call_sid, from, to, status: 'queued' }`.
 * Anything else is a 404 in the same error shape. `fail()` scripts the next request's answer. Every
 * request is recorded, with whether the client stayed until the answer. Binds 127.0.0.1:0.
 */
export interface TelnyxRestMockOptions {
  /** The accepted API key (default 'KEYtest-telnyx-api-key'). */
  apiKey?: string
}

/** A scripted answer to the next request: an HTTP error with Telnyx's error body, or no answer at all. */
export type TelnyxRestFailure =
  | { kind: 'status', status: number, code?: string, title?: string, detail?: string }
  | { kind: 'hang' }

export interface TelnyxRestRequest {
  method: string
  /** The path, percent-decoded (`/v2/texml/Accounts/acc/Calls/v3:abc`). */
  path: string
  authorization: string | undefined
  contentType: string | undefined
  /** The body's fields: the form's or the JSON object's (values as sent). */
  fields: Record<string, unknown>
  status: number
  /** 'aborted' when the client went away before the answer was complete. */
  finished: Promise<'completed' | 'aborted'>
}

export interface TelnyxRestMock {
  /** http://127.0.0.1:PORT/v2: the SDK's `baseURL`. */
  readonly baseUrl: string
  readonly apiKey: string
  readonly requests: TelnyxRestRequest[]
  /** The next request gets this answer (one per call, in order). */
  fail: (failure: TelnyxRestFailure) => void
  close: () => Promise<void>
}

function errorBody (code: string, title: string, detail: string): string {
  return JSON.stringify({ errors: [{ code, title, detail }] })
}

function fields (contentType: string | undefined, body: string): Record<string, unknown> {
  if (body === '') return {}
  if (/json/i.test(contentType ?? '')) return JSON.parse(body) as Record<string, unknown>
  return Object.fromEntries(new URLSearchParams(body))
}

export async function startTelnyxRestMock (options: TelnyxRestMockOptions = {}): Promise<TelnyxRestMock> {
  const apiKey = options.apiKey ?? 'KEYtest-telnyx-api-key'
  const failures: TelnyxRestFailure[] = []
  const requests: TelnyxRestRequest[] = []

  function answer (res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://mock').pathname)
    let resolveFinished: (value: 'completed' | 'aborted') => void = () => {}
    const finished = new Promise<'completed' | 'aborted'>((resolve) => { resolveFinished = resolve })
    res.on('close', () => { resolveFinished(res.writableFinished ? 'completed' : 'aborted') })
    const record: TelnyxRestRequest = { method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'], fields: fields(req.headers['content-type'], raw), status: 0, finished }
    requests.push(record)

    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      record.status = 401
      answer(res, 401, errorBody('10009', 'Authentication failed', 'The API key is not valid.'))
      return
    }
    const failure = failures.shift()
    if (failure?.kind === 'hang') return
    if (failure?.kind === 'status') {
      record.status = failure.status
      answer(res, failure.status, errorBody(failure.code ?? String(failure.status), failure.title ?? 'Error', failure.detail ?? 'The mock was told to fail.'))
      return
    }
    const update = /^\/v2\/texml\/Accounts\/([^/]+)\/Calls\/([^/]+)$/.exec(path)
    if (req.method === 'POST' && update !== null) {
      record.status = 200
      const status = record.fields.Status === 'completed' ? 'completed' : 'in-progress'
      answer(res, 200, JSON.stringify({ account_sid: update[1], sid: update[2], status, uri: `/v2/texml/Accounts/${update[1] ?? ''}/Calls/${update[2] ?? ''}.json` }))
      return
    }
    if (req.method === 'POST' && /^\/v2\/texml\/calls\/[^/]+$/.test(path)) {
      record.status = 200
      answer(res, 200, JSON.stringify({ call_sid: `v3:${randomUUID()}`, from: record.fields.From, to: record.fields.To, status: 'queued' }))
      return
    }
    record.status = 404
    answer(res, 404, errorBody('10005', 'Resource not found', `No route for ${req.method ?? ''} ${path}`))
  }

  const server = createServer((req, res) => { void handle(req, res) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}/v2`,
    apiKey,
    requests,
    fail: (failure) => { failures.push(failure) },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}
