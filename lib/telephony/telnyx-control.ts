import type { AnsweringMachineResult, CarrierControl, DialedCall, DialRequest } from './carrier-control.js'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID } from '../errors.js'
import { lazyModule, once } from '../providers/lazy-module.js'
import { scrubSecrets } from '../providers/scrub-secrets.js'
import { escapeXml, object, text } from './wire.js'

/** The Telnyx SDK (Stainless-generated REST client), loaded by the first call-control request. */
const telnyxSdk = lazyModule(async () => await import('telnyx'))

/** Options of the Telnyx call control. */
export interface TelnyxControlOptions {
  /** An API key of the account (Mission Control → API Keys): `Authorization: Bearer <key>`. */
  apiKey: string
  /**
   * The account's id (the `AccountSid` of every TeXML webhook): TeXML's REST API names calls under it
   * (`/v2/texml/Accounts/{account_sid}/Calls/{call_sid}`), so hang-up and transfer need it.
   */
  accountSid: string
  /**
   * The TeXML application's id (its connection id): outbound calls are placed through it
   * (`/v2/texml/calls/{connection_id}`). Without it, `dial` is refused.
   */
  applicationId?: string
  /** The REST API's base URL (default `https://api.telnyx.com/v2`); a mock in tests. */
  baseUrl?: string
}

/**
 * The TeXML that replaces the call's current TeXML on a cold transfer: `<Dial>` to a number or, for a
 * `sip:` URI, to a SIP endpoint. The stream ends with the old TeXML; the caller stays on the line.
 */
export function telnyxTransferTexml (target: string): string {
  const noun = /^sips?:/i.test(target) ? 'Sip' : 'Number'
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Dial><${noun}>${escapeXml(target)}</${noun}></Dial></Response>`
}

/** Telnyx's detection results, TeXML (`AnsweredBy`) and Call Control (`result`), in the contract's words. */
function answeredBy (value: string): AnsweringMachineResult['answeredBy'] {
  if (value === 'human' || value.startsWith('human_')) return 'human'
  if (value === 'machine' || value.startsWith('machine_')) return 'machine'
  if (value === 'fax' || value === 'fax_detected') return 'fax'
  return 'unknown'
}

/**
 * The answering-machine detection result from a Telnyx callback, or undefined when the body is not one:
 * the TeXML `AsyncAmdStatusCallback` (form fields `CallSid`, `AnsweredBy`: human, machine_start,
 * machine_end_beep, machine_end_silence, machine_end_other, fax, unknown), or a Call Control webhook
 * `call.machine.detection.ended` / `call.machine.premium.detection.ended` (JSON `data.payload.result`:
 * human, machine, not_sure; premium: human_residence, human_business, silence, fax_detected…).
 */
export function parseTelnyxMachineDetection (body: Record<string, unknown>): AnsweringMachineResult | undefined {
  const data = object(body.data)
  const eventType = text(data.event_type)
  if (eventType === 'call.machine.detection.ended' || eventType === 'call.machine.premium.detection.ended') {
    const payload = object(data.payload)
    const callId = text(payload.call_control_id)
    const result = text(payload.result)
    if (callId === '' || result === '') return undefined
    return { callId, answeredBy: answeredBy(result), detail: result }
  }
  const callId = text(body.CallSid)
  const result = text(body.AnsweredBy)
  if (callId === '' || result === '') return undefined
  return { callId, answeredBy: answeredBy(result), detail: result }
}

/** The first `errors[]` entry of a Telnyx error body (`{ errors: [{ code, title, detail }] }`). */
function telnyxReason (body: unknown): string {
  const errors = object(body).errors
  const first = object(Array.isArray(errors) ? errors[0] : undefined)
  const code = text(first.code)
  const detail = text(first.detail) || text(first.title)
  return code === '' ? detail : `${detail} (code ${code})`
}

/**
 * A failed request as a typed error: the signal's reason when the caller aborted, else
 * LLMRTC_ERR_CALL_CONTROL with the HTTP status and Telnyx's own message, credentials scrubbed.
 */
function controlError (error: unknown, apiKey: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason
  const status = (error as { status?: unknown }).status
  const reason = typeof status === 'number'
    ? `status ${status}: ${telnyxReason((error as { error?: unknown }).error) || 'no error body'}`
    : `the API was not reached (${(error as Error).message})`
  return new LLMRTC_ERR_CALL_CONTROL('telnyx', scrubSecrets(reason.split(apiKey).join('[redacted]')), { cause: error })
}

/**
 * Call control for Telnyx TeXML calls (the kind `createTelnyxAdapter` answers) through the official
 * `telnyx` SDK. TeXML calls are driven by TeXML's REST API, not by Call Control actions: Telnyx warns
 * against issuing Call Control commands (hangup, transfer) on a call a TeXML application runs.
 * - hang-up: `POST /v2/texml/Accounts/{account_sid}/Calls/{call_sid}` with `Status=completed`;
 * - transfer: the same request with `Texml=<Response><Dial>…</Dial></Response>` (a number or a SIP URI),
 *   which replaces the running TeXML (and so ends the media stream) by the dial;
 * - dial: `POST /v2/texml/calls/{application_id}` with `From`, `To`, `Url` (our answer webhook, POST) and,
 *   when a detection URL is given, asynchronous answering-machine detection (`MachineDetection=Enable`,
 *   `AsyncAmd`, `AsyncAmdStatusCallback`): the call's `call_sid` is its id.
 * The SDK does not retry (a retried dial could place two calls); every request honours `signal`.
 */
export function createTelnyxControl (options: TelnyxControlOptions): CarrierControl {
  const { apiKey, accountSid, applicationId, baseUrl } = options
  if (typeof apiKey !== 'string' || apiKey === '') throw new LLMRTC_ERR_OPTIONS_INVALID('telnyx.apiKey', 'a Telnyx API key', typeof apiKey === 'string' ? 'an empty string' : typeof apiKey)
  if (typeof accountSid !== 'string' || accountSid === '') throw new LLMRTC_ERR_OPTIONS_INVALID('telnyx.accountSid', 'the Telnyx account id (AccountSid of the TeXML webhooks)', typeof accountSid === 'string' ? 'an empty string' : typeof accountSid)
  if (applicationId !== undefined && (typeof applicationId !== 'string' || applicationId === '')) {
    throw new LLMRTC_ERR_OPTIONS_INVALID('telnyx.applicationId', 'the TeXML application id', String(applicationId))
  }

  const client = once(async () => {
    const { default: Telnyx } = await telnyxSdk.load()
    return new Telnyx({ apiKey, baseURL: baseUrl ?? null, maxRetries: 0 })
  })

  /** Runs one request; its failure becomes a typed error. */
  async function request<T> (signal: AbortSignal | undefined, run: (telnyx: Awaited<ReturnType<typeof client>>) => Promise<T>): Promise<T> {
    signal?.throwIfAborted()
    const telnyx = await client()
    try {
      return await run(telnyx)
    } catch (error) {
      throw controlError(error, apiKey, signal)
    }
  }

  return {
    carrier: 'telnyx',

    async hangup (callId: string, signal?: AbortSignal): Promise<void> {
      await request(signal, async (telnyx) => await telnyx.texml.accounts.calls.update(callId, { account_sid: accountSid, Status: 'completed' }, { signal }))
    },

    async transfer (callId: string, target: string, signal?: AbortSignal): Promise<void> {
      await request(signal, async (telnyx) => await telnyx.texml.accounts.calls.update(callId, { account_sid: accountSid, Texml: telnyxTransferTexml(target) }, { signal }))
    },

    async dial (dialRequest: DialRequest, signal?: AbortSignal): Promise<DialedCall> {
      if (applicationId === undefined) throw new LLMRTC_ERR_OPTIONS_INVALID('telnyx.applicationId', 'the TeXML application id, to place outbound calls', 'nothing')
      // AMD fields are part of the endpoint (Telnyx's AMD guide) but not of the SDK's type for it.
      const detection = dialRequest.machineDetectionUrl === undefined
        ? {}
        : { MachineDetection: 'Enable', AsyncAmd: true, AsyncAmdStatusCallback: dialRequest.machineDetectionUrl, AsyncAmdStatusCallbackMethod: 'POST' }
      const body = { From: dialRequest.from, To: dialRequest.to, Url: dialRequest.answerUrl, Method: 'POST' as const, ...detection }
      const created = await request(signal, async (telnyx) => await telnyx.texml.calls.create(applicationId, body, { signal }))
      const callId = text(created.call_sid)
      if (callId === '') throw new LLMRTC_ERR_CALL_CONTROL('telnyx', 'the outbound call was accepted without a call_sid')
      return { callId }
    }
  }
}
