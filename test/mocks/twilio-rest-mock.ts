import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A loopback stand-in for Twilio's Programmable Voice REST API (`https://api.twilio.com/2010-04-01`), as the
 * `twilio` SDK speaks to it:
 * - `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (form: To, From, Url, Method, MachineDetection,
 *   AsyncAmd, AsyncAmdStatusCallback…) → 201 and the call resource as JSON (`sid` CA…, `status: queued`);
 * - `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` (form: Status=completed, or Twiml, or Url)
 *   → 200 and the call resource; an unknown call → 404;
 * - HTTP Basic auth with the account SID and auth token, else 401; another account's path → 401 too.
 * Errors are Twilio's JSON: `{ code, message, more_info, status }`. Binds 127.0.0.1:0; records each request.
 */
export interface TwilioRestMockOptions {
  accountSid: string
  authToken: string
}

export interface TwilioRestRequest {
  method: string
  path: string
  /** The call an update names (`Calls/{CallSid}.json`), undefined for a create. */
  callSid: string | undefined
  /** The form fields. */
  params: Record<string, string>
  authorized: boolean
  status: number
  /** How the request's connection ended: answered, or closed by the client first. */
  finished: Promise<'completed' | 'aborted'>
}

export type TwilioRestFailure =
  | { kind: 'status', status: number, code: number, message: string }
  /** Read the request and never answer (until the client gives up). */
  | { kind: 'hang' }

export interface TwilioRestMock {
  /** The origin to give the SDK (`client.api.baseUrl`). */
  readonly url: string
  readonly requests: TwilioRestRequest[]
  /** Calls the mock knows (created through it, or added): updates of other calls get 404. */
  readonly calls: Map<string, Record<string, unknown>>
  /** Makes `sid` a known, in-progress call (an inbound call Twilio would know). */
  addCall: (sid: string, fields?: Record<string, unknown>) => void
  /** The next request(s) fail this way. */
  fail: (failure: TwilioRestFailure, times?: number) => void
  /** Called with each request as it arrives, before it is answered (to see what the test's other side had by then). */
  onRequest: ((request: TwilioRestRequest) => void) | undefined
  /** Resolves once `count` requests arrived. */
  waitForRequests: (count: number, timeoutMs?: number) => Promise<TwilioRestRequest[]>
  close: () => Promise<void>
}

const CALLS = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/
const CALL = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/]+)\.json$/

function twilioError (res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }))
}

export async function startTwilioRestMock (options: TwilioRestMockOptions): Promise<TwilioRestMock> {
  const { accountSid, authToken } = options
  const failures: TwilioRestFailure[] = []
  const sockets = new Set<Socket>()
  const calls = new Map<string, Record<string, unknown>>()
  const server = createServer((req, res) => { handle(req, res).catch(() => { if (!res.headersSent) twilioError(res, 500, 20500, 'Internal Server Error') }) })
  server.on('connection', socket => { sockets.add(socket); socket.on('close', () => { sockets.delete(socket) }) })
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })

  function resource (sid: string, fields: Record<string, unknown>): Record<string, unknown> {
    const now = new Date().toUTCString()
    return {
      sid,
      account_sid: accountSid,
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      direction: 'outbound-api',
      status: 'queued',
      uri: `/2010-04-01/Accounts/${accountSid}/Calls/${sid}.json`,
      ...fields
    }
  }

  const mock: TwilioRestMock = {
    get url () { return `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    requests: [],
    calls,
    addCall: (sid, fields = {}) => { calls.set(sid, resource(sid, { direction: 'inbound', status: 'in-progress', ...fields })) },
    fail: (failure, times = 1) => { for (let i = 0; i < times; i++) failures.push(failure) },
    onRequest: undefined,
    waitForRequests: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs
      while (mock.requests.length < count) {
        if (Date.now() > deadline) throw new Error(`the Twilio mock got ${mock.requests.length} requests, expected ${count}`)
        await new Promise(resolve => setTimeout(resolve, 10))
      }
      return mock.requests
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }

  function authorized (req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? ''
    return header === `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://mock').pathname
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
    const create = CALLS.exec(path)
    const update = CALL.exec(path)
    const record: TwilioRestRequest = {
      method: req.method ?? '',
      path,
      callSid: update?.[2],
      params,
      authorized: authorized(req),
      status: 0,
      finished: new Promise(resolve => {
        res.on('close', () => { resolve(res.writableFinished ? 'completed' : 'aborted') })
      })
    }
    mock.requests.push(record)
    mock.onRequest?.(record)
    const reply = (status: number, body?: Record<string, unknown>, error?: { code: number, message: string }): void => {
      record.status = status
      if (error !== undefined) twilioError(res, status, error.code, error.message)
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    // Twilio checks the credentials first, and a path of another account is not theirs either.
    const account = create?.[1] ?? update?.[1]
    if (!record.authorized || (account !== undefined && account !== accountSid)) {
      reply(401, undefined, { code: 20003, message: 'Authenticate' })
      return
    }
    const failure = failures.shift()
    if (failure?.kind === 'hang') return
    if (failure?.kind === 'status') {
      reply(failure.status, undefined, failure)
      return
    }
    if (req.method === 'POST' && create !== null) {
      const missing = ['To', 'From'].find(name => params[name] === undefined)
      if (missing !== undefined) {
        reply(400, undefined, { code: 21201, message: `No '${missing}' number is specified` })
        return
      }
      if (params.Url === undefined && params.Twiml === undefined && params.ApplicationSid === undefined) {
        reply(400, undefined, { code: 21205, message: 'Url parameter is required.' })
        return
      }
      const sid = `CA${randomBytes(16).toString('hex')}`
      const call = resource(sid, { to: params.To, from: params.From, status: 'queued' })
      calls.set(sid, call)
      reply(201, call)
      return
    }
    if (req.method === 'POST' && update !== null) {
      const sid = update[2] as string
      const call = calls.get(sid)
      if (call === undefined) {
        reply(404, undefined, { code: 20404, message: `The requested resource ${path} was not found` })
        return
      }
      if (params.Status !== undefined) call.status = params.Status
      reply(200, call)
      return
    }
    reply(404, undefined, { code: 20404, message: `The requested resource ${path} was not found` })
  }

  return mock
}
