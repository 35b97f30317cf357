import type { AnsweringMachineResult, CarrierControl, DialedCall, DialRequest } from './carrier-control.js'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID } from '../errors.js'
import { lazyModule } from '../providers/lazy-module.js'
import { scrubSecrets } from '../providers/scrub-secrets.js'

/** The Twilio SDK (heavy: about a second of CPU at import), loaded by the first call-control request. */
const twilioSdk = lazyModule(async () => await import('twilio'))

type TwilioSdk = typeof import('twilio')
type TwilioClient = ReturnType<TwilioSdk>

/** Default deadline of one REST request, in ms (the SDK's own default is 30 s). */
const REQUEST_TIMEOUT_MS = 15_000

/** Options of the Twilio call control. */
export interface TwilioControlOptions {
  /** The account's SID (`AC…`): REST resources are named under it. */
  accountSid: string
  /** The account's auth token (HTTP Basic auth with the SID). */
  authToken: string
  /** The REST API's origin (default `https://api.twilio.com`): a proxy, or a mock in tests. */
  baseUrl?: string
  /** Deadline of one request in ms (default 15000). */
  timeoutMs?: number
}

/** Twilio's `AnsweredBy` values in the contract's words. */
function answeredBy (value: string): AnsweringMachineResult['answeredBy'] {
  if (value === 'human') return 'human'
  if (value.startsWith('machine')) return 'machine'
  if (value === 'fax') return 'fax'
  return 'unknown'
}

/**
 * The answering-machine detection result of Twilio's `asyncAmdStatusCallback` (form fields `CallSid`,
 * `AnsweredBy`: human, machine_start, machine_end_beep, machine_end_silence, machine_end_other, fax,
 * unknown), or undefined when the fields are not one.
 */
export function parseTwilioMachineDetection (params: Record<string, unknown>): AnsweringMachineResult | undefined {
  const callId = typeof params.CallSid === 'string' ? params.CallSid : ''
  const detail = typeof params.AnsweredBy === 'string' ? params.AnsweredBy : ''
  if (callId === '' || detail === '') return undefined
  return { callId, answeredBy: answeredBy(detail), detail }
}

/**
 * The TwiML of a cold transfer: `<Dial>` to a number, or `<Sip>` for a `sip:`/`sips:` URI, written by the
 * SDK's VoiceResponse (which escapes the XML).
 */
export function twilioTransferTwiml (sdk: TwilioSdk, target: string): string {
  const response = new sdk.twiml.VoiceResponse()
  const dial = response.dial()
  if (/^sips?:/i.test(target)) dial.sip(target)
  else dial.number(target)
  return response.toString()
}

/**
 * A failed request as a typed error: the signal's reason when the caller aborted, else
 * LLMRTC_ERR_CALL_CONTROL with Twilio's HTTP status, error code and message (a RestException), or the
 * network failure; the auth token is never in it.
 */
function controlError (error: unknown, authToken: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason
  const rest = error as { status?: unknown, code?: unknown, message?: unknown }
  const reason = typeof rest.status === 'number'
    ? `status ${rest.status}${typeof rest.code === 'number' ? ` (code ${rest.code})` : ''}: ${typeof rest.message === 'string' && rest.message !== '' ? rest.message : 'no error body'}`
    : `the API was not reached (${error instanceof Error ? error.message : String(error)})`
  return new LLMRTC_ERR_CALL_CONTROL('twilio', scrubSecrets(reason.split(authToken).join('[redacted]')), { cause: error })
}

/**
 * Call control for Twilio calls through the official `twilio` SDK (Programmable Voice REST API,
 * `/2010-04-01/Accounts/{AccountSid}/Calls`):
 * - hang-up: `calls(sid).update({ status: 'completed' })`;
 * - transfer: `calls(sid).update({ twiml })` with `<Dial><Number>` or `<Dial><Sip>`: the new TwiML replaces
 *   the `<Connect><Stream>`, so the media stream stops and the caller is connected to the target;
 * - dial: `calls.create({ to, from, url, method: 'POST' })`, with asynchronous answering-machine detection
 *   (`machineDetection: 'DetectMessageEnd'`, `asyncAmd`, `asyncAmdStatusCallback`) when a detection URL is
 *   given: the call is connected at once and the result is posted later.
 * Each request has its own HTTP client whose axios request carries `signal`, so an abort cancels the
 * request on the wire; the SDK's automatic retries stay off (a retried dial could place two calls).
 */
export function createTwilioControl (options: TwilioControlOptions): CarrierControl {
  const { accountSid, authToken, baseUrl } = options
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS
  if (typeof accountSid !== 'string' || !accountSid.startsWith('AC')) throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.twilio.accountSid', 'the account SID (AC…) or TWILIO_ACCOUNT_SID', typeof accountSid === 'string' ? `"${accountSid}"` : typeof accountSid)
  if (typeof authToken !== 'string' || authToken === '') throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.twilio.authToken', 'the account\'s auth token or TWILIO_AUTH_TOKEN', typeof authToken === 'string' ? 'an empty string' : typeof authToken)
  if (baseUrl !== undefined && !/^https?:\/\/[^/]/.test(baseUrl)) throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.twilio.apiBaseUrl', 'an http(s) origin', String(baseUrl))
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.twilio timeoutMs', 'an integer >= 1 (milliseconds)', String(timeoutMs))

  /** A client for one request, its HTTP requests bound to `signal`. */
  function clientFor (sdk: TwilioSdk, signal: AbortSignal | undefined): TwilioClient {
    const httpClient = new sdk.RequestClient({ timeout: timeoutMs })
    if (signal !== undefined) httpClient.axios.interceptors.request.use((config) => { config.signal = signal; return config })
    const client = sdk(accountSid, authToken, { httpClient, autoRetry: false })
    if (baseUrl !== undefined) client.api.baseUrl = baseUrl
    return client
  }

  async function request<T> (signal: AbortSignal | undefined, run: (client: TwilioClient, sdk: TwilioSdk) => Promise<T>): Promise<T> {
    signal?.throwIfAborted()
    const module = await twilioSdk.load()
    const sdk = (module.default ?? module) as TwilioSdk
    signal?.throwIfAborted()
    try {
      return await run(clientFor(sdk, signal), sdk)
    } catch (error) {
      throw controlError(error, authToken, signal)
    }
  }

  return {
    carrier: 'twilio',

    async hangup (callId: string, signal?: AbortSignal): Promise<void> {
      await request(signal, async (client) => await client.calls(callId).update({ status: 'completed' }))
    },

    async transfer (callId: string, target: string, signal?: AbortSignal): Promise<void> {
      await request(signal, async (client, sdk) => await client.calls(callId).update({ twiml: twilioTransferTwiml(sdk, target) }))
    },

    async dial (dialRequest: DialRequest, signal?: AbortSignal): Promise<DialedCall> {
      const detection = dialRequest.machineDetectionUrl === undefined
        ? {}
        : { machineDetection: 'DetectMessageEnd', asyncAmd: 'true', asyncAmdStatusCallback: dialRequest.machineDetectionUrl, asyncAmdStatusCallbackMethod: 'POST' }
      const call = await request(signal, async (client) => await client.calls.create({ to: dialRequest.to, from: dialRequest.from, url: dialRequest.answerUrl, method: 'POST', ...detection }))
      if (typeof call.sid !== 'string' || call.sid === '') throw new LLMRTC_ERR_CALL_CONTROL('twilio', 'the outbound call was accepted without a sid')
      return { callId: call.sid }
    }
  }
}
