import type { AnsweringMachineResult, CarrierControl, DialedCall, DialRequest } from './carrier-control.js'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID } from '../errors.js'
import { lazyModule } from '../providers/lazy-module.js'
import { scrubSecrets } from '../providers/scrub-secrets.js'
import { escapeXml, object, text } from './wire.js'

/**
 * The Plivo SDK's Call resource (request building: paths, parameter names, validation, response objects)
 * and its request wrapper (camelCase in, snake_case on the wire), loaded by the first request.
 */
const plivoCall = lazyModule(async () => await import('plivo/dist/resources/call.js'))
const plivoRest = lazyModule(async () => await import('plivo/dist/rest/utils.js'))

/** Options of the Plivo call control. */
export interface PlivoControlOptions {
  /** The account's (or sub-account's) auth id: the user of the REST API's Basic auth and part of its paths. */
  authId: string
  /** The auth token: the password of the Basic auth. */
  authToken: string
  /** The REST API's origin (default `https://api.plivo.com`); a mock in tests. */
  baseUrl?: string
  /**
   * A URL Plivo can fetch (POST) that answers `plivoTransferXml(target)`: a transfer points the call's
   * A leg at it. The plugin serves it on a one-time path. Without it, `transfer` is refused.
   */
  transferUrl?: (target: string, callId: string) => string
}

/**
 * The Plivo XML a transferred call fetches: `<Dial>` to a `<Number>` (digits, a leading `+` dropped as
 * Plivo writes numbers) or, for a `sip:` URI, to a `<User>`.
 */
export function plivoTransferXml (target: string): string {
  const noun = /^sips?:/i.test(target) ? `<User>${escapeXml(target)}</User>` : `<Number>${escapeXml(target.replace(/^\+/, ''))}</Number>`
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Dial>${noun}</Dial></Response>`
}

/** A number as Plivo writes it (country code, no `+`); a SIP URI as it is. */
function plivoNumber (address: string): string {
  return /^sips?:/i.test(address) ? address : address.replace(/^\+/, '')
}

/**
 * The answering-machine detection result Plivo posts to `machine_detection_url` (form fields `CallUUID`,
 * `Machine` 'true' or 'false', `Event` 'MachineDetection'), or undefined when the body is not one.
 */
export function parsePlivoMachineDetection (body: Record<string, unknown>): AnsweringMachineResult | undefined {
  const callId = text(body.CallUUID)
  const machine = text(body.Machine).toLowerCase()
  if (callId === '' || (machine !== 'true' && machine !== 'false')) return undefined
  if (body.Event !== undefined && body.Event !== 'MachineDetection') return undefined
  return { callId, answeredBy: machine === 'true' ? 'machine' : 'human', detail: `Machine=${machine}` }
}

/** What a refused request carries to controlError. */
class PlivoHttpError extends Error {
  constructor (readonly status: number, readonly body: unknown) {
    super(`Plivo answered ${status}`)
  }
}

/**
 * A failed request as a typed error: the signal's reason when the caller aborted, else
 * LLMRTC_ERR_CALL_CONTROL with the HTTP status and Plivo's `error`, credentials scrubbed.
 */
function controlError (error: unknown, secrets: string[], signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason
  let reason: string
  if (error instanceof PlivoHttpError) {
    const body = object(error.body)
    reason = `status ${error.status}: ${text(body.error) || text(body.message) || (typeof error.body === 'string' ? error.body : 'no error body')}`
  } else {
    reason = `the API was not reached (${(error as Error).message})`
  }
  for (const secret of secrets) reason = reason.split(secret).join('[redacted]')
  return new LLMRTC_ERR_CALL_CONTROL('plivo', scrubSecrets(reason), { cause: error })
}

/**
 * Call control for Plivo calls through the official `plivo` SDK's Call resource:
 * - hang-up: `calls.hangup(uuid)` → `DELETE /v1/Account/{auth_id}/Call/{uuid}/`;
 * - transfer: `calls.transfer(uuid, { legs: 'aleg', alegUrl })` → `POST …/Call/{uuid}/`: Plivo fetches
 *   `alegUrl`, which answers `plivoTransferXml(target)`, and the stream's XML is replaced by that dial;
 * - dial: `calls.create(from, to, answerUrl, { answerMethod: 'POST', machineDetection, machineDetectionUrl })`
 *   → `POST …/Call/` (numbers without their `+`, as Plivo writes them); Plivo answers `{ api_id, message,
 *   request_uuid }`, and the call's id is that `request_uuid` (the answer webhook carries it as
 *   `RequestUUID`, the call itself as `CallUUID`).
 * The SDK's own HTTP layer is not used: it sends every voice request to `https://api.plivo.com` whatever
 * the client's options (no base URL to point at a mock or a regional edge), takes no AbortSignal, and
 * retries 5xx answers, which for `create` could place the call twice. The Call resource is given our
 * request function instead (fetch: the same JSON body, Basic auth and paths, `signal` honoured).
 */
export function createPlivoControl (options: PlivoControlOptions): CarrierControl {
  const { authId, authToken, transferUrl } = options
  if (typeof authId !== 'string' || authId === '') throw new LLMRTC_ERR_OPTIONS_INVALID('plivo.authId', 'the Plivo auth id', typeof authId === 'string' ? 'an empty string' : typeof authId)
  if (typeof authToken !== 'string' || authToken === '') throw new LLMRTC_ERR_OPTIONS_INVALID('plivo.authToken', 'the Plivo auth token', typeof authToken === 'string' ? 'an empty string' : typeof authToken)
  const base = (options.baseUrl ?? 'https://api.plivo.com').replace(/\/+$/, '')
  const authorization = `Basic ${Buffer.from(`${authId}:${authToken}`).toString('base64')}`

  /** The SDK's request function (`client(method, action, params)`), over fetch with `signal`. */
  function transport (signal: AbortSignal | undefined) {
    return async (method: string, action: string, params: Record<string, unknown> = {}): Promise<{ response: { status: number }, body: unknown }> => {
      const { is_voice_request: _voice, ...fields } = params
      const hasBody = method !== 'GET' && Object.keys(fields).length > 0
      const response = await fetch(`${base}/v1/Account/${encodeURIComponent(authId)}/${action}`, {
        method,
        headers: { authorization, 'content-type': 'application/json', 'user-agent': 'llmrtc (plivo-node Call resource)' },
        body: hasBody ? JSON.stringify(fields) : undefined,
        signal
      })
      const raw = await response.text()
      let body: unknown = raw
      try {
        body = raw === '' ? {} : JSON.parse(raw)
      } catch {}
      if (!response.ok) throw new PlivoHttpError(response.status, body)
      return { response: { status: response.status }, body }
    }
  }

  /** Runs one request through a Call resource bound to `signal`; its failure becomes a typed error. */
  async function request<T> (signal: AbortSignal | undefined, run: (calls: InstanceType<Awaited<ReturnType<typeof plivoCall.load>>['CallInterface']>) => Promise<T>): Promise<T> {
    signal?.throwIfAborted()
    const [{ CallInterface }, { camelCaseRequestWrapper }] = await Promise.all([plivoCall.load(), plivoRest.load()])
    try {
      return await run(new CallInterface(camelCaseRequestWrapper(transport(signal))))
    } catch (error) {
      throw controlError(error, [authToken, authorization], signal)
    }
  }

  return {
    carrier: 'plivo',

    async hangup (callId: string, signal?: AbortSignal): Promise<void> {
      await request(signal, async (calls) => await calls.hangup(callId))
    },

    async transfer (callId: string, target: string, signal?: AbortSignal): Promise<void> {
      if (transferUrl === undefined) throw new LLMRTC_ERR_OPTIONS_INVALID('plivo.transferUrl', 'a function giving the URL that serves the transfer XML', 'nothing')
      const alegUrl = transferUrl(target, callId)
      // The SDK's type lists every field; Plivo wants only the A leg's.
      const params = { legs: 'aleg', alegUrl, alegMethod: 'POST' } as unknown as Parameters<InstanceType<Awaited<ReturnType<typeof plivoCall.load>>['CallInterface']>['transfer']>[1]
      await request(signal, async (calls) => await calls.transfer(callId, params))
    },

    async dial (dialRequest: DialRequest, signal?: AbortSignal): Promise<DialedCall> {
      const detection = dialRequest.machineDetectionUrl === undefined
        ? {}
        : { machineDetection: 'true', machineDetectionUrl: dialRequest.machineDetectionUrl, machineDetectionMethod: 'POST' }
      const created = await request(signal, async (calls) => await calls.create(plivoNumber(dialRequest.from), plivoNumber(dialRequest.to), dialRequest.answerUrl, { answerMethod: 'POST', ...detection }))
      const uuid = Array.isArray(created.requestUuid) ? created.requestUuid[0] : created.requestUuid
      if (typeof uuid !== 'string' || uuid === '') throw new LLMRTC_ERR_CALL_CONTROL('plivo', 'the outbound call was accepted without a request_uuid')
      return { callId: uuid }
    }
  }
}
