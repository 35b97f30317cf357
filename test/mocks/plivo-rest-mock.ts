import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A loopback stand-in for Plivo's Voice REST API (the calls call control uses), speaking its wire:
 * `Authorization: Basic base64(auth_id:auth_token)` and the auth id in the path (else 401 with Plivo's
 * `{ api_id, error }`), JSON bodies,
 * - `POST /v1/Account/{auth_id}/Call/` (`from`, `to`, `answer_url`…): 201 `{ api_id, message: 'call fired', request_uuid }`;
 * - `POST /v1/Account/{auth_id}/Call/{uuid}/` (`legs`, `aleg_url`…): 202 `{ api_id, message: 'call transferred', call_uuids }`;
 * - `DELETE /v1/Account/{auth_id}/Call/{uuid}/`: 204, no body.
 * Anything else is a 404 `{ api_id, error: 'not found' }`. `fail()` scripts the next request's answer.
 * Every request is recorded, with whether the client stayed until the answer. Binds 127.0.0.1:0.
 */
export interface PlivoRestMockOptions {
  authId?: string
  authToken?: string
}

/** A scripted answer to the next request: an HTTP error with Plivo's error body, or no answer at all. */
export type PlivoRestFailure =
  | { kind: 'status', status: number, error?: string }
  | { kind: 'hang' }

export interface PlivoRestRequest {
  method: string
  path: string
  authorization: string | undefined
  contentType: string | undefined
  /** The JSON body ({} when there was none). */
  fields: Record<string, unknown>
  status: number
  /** 'aborted' when the client went away before the answer was complete. */
  finished: Promise<'completed' | 'aborted'>
}

export interface PlivoRestMock {
  /** http://127.0.0.1:PORT: the API origin (the control's `baseUrl`). */
  readonly baseUrl: string
  readonly authId: string
  readonly authToken: string
  readonly requests: PlivoRestRequest[]
  fail: (failure: PlivoRestFailure) => void
  close: () => Promise<void>
}

export async function startPlivoRestMock (options: PlivoRestMockOptions = {}): Promise<PlivoRestMock> {
  const authId = options.authId ?? 'MAXXXXXXXXXXXXXXXXXX'
  const authToken = options.authToken ?? 'test-plivo-auth-token'
  const expected = `Basic ${Buffer.from(`${authId}:${authToken}`).toString('base64')}`
  const failures: PlivoRestFailure[] = []
  const requests: PlivoRestRequest[] = []

  function answer (res: ServerResponse, status: number, body?: Record<string, unknown>): void {
    if (body === undefined) {
      res.writeHead(status)
      res.end()
      return
    }
    const text = JSON.stringify({ api_id: randomUUID(), ...body })
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const path = new URL(req.url ?? '/', 'http://mock').pathname
    let resolveFinished: (value: 'completed' | 'aborted') => void = () => {}
    const finished = new Promise<'completed' | 'aborted'>((resolve) => { resolveFinished = resolve })
    res.on('close', () => { resolveFinished(res.writableFinished ? 'completed' : 'aborted') })
    const record: PlivoRestRequest = { method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'], fields: raw === '' ? {} : JSON.parse(raw) as Record<string, unknown>, status: 0, finished }
    requests.push(record)

    const prefix = `/v1/Account/${authId}/`
    if (req.headers.authorization !== expected || !path.startsWith(prefix)) {
      record.status = 401
      answer(res, 401, { error: 'Authentication failed' })
      return
    }
    const failure = failures.shift()
    if (failure?.kind === 'hang') return
    if (failure?.kind === 'status') {
      record.status = failure.status
      answer(res, failure.status, { error: failure.error ?? 'the mock was told to fail' })
      return
    }
    const action = path.slice(prefix.length)
    if (req.method === 'POST' && action === 'Call/') {
      record.status = 201
      answer(res, 201, { message: 'call fired', request_uuid: randomUUID() })
      return
    }
    const call = /^Call\/([^/]+)\/$/.exec(action)
    if (call !== null && req.method === 'POST') {
      record.status = 202
      answer(res, 202, { message: 'call transferred', call_uuids: [call[1]] })
      return
    }
    if (call !== null && req.method === 'DELETE') {
      record.status = 204
      answer(res, 204)
      return
    }
    record.status = 404
    answer(res, 404, { error: 'not found' })
  }

  const server = createServer((req, res) => { void handle(req, res) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    authId,
    authToken,
    requests,
    fail: (failure) => { failures.push(failure) },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}
