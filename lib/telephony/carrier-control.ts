/**
 * Call control through a carrier's REST API (each carrier's official SDK): what `end_call`,
 * `transfer_call` and outbound calls (`fastify.llmrtc.telephony.call`) need from Twilio, Telnyx or Plivo.
 * One implementation per carrier; every method honours `signal` and rejects with a typed error when the
 * carrier refuses (its status and message, never the credentials).
 */
export interface CarrierControl {
  /** The carrier's name, as its `CarrierAdapter` has it ('twilio', 'telnyx', 'plivo'). */
  readonly carrier: string
  /** Hangs the call up now (the id the webhook and the stream's start carry). */
  hangup: (callId: string, signal?: AbortSignal) => Promise<void>
  /**
   * Cold transfer: the caller leaves llmrtc (its media stream ends) and is connected to `target`, a phone
   * number in E.164 form (`+14155550100`) or a SIP URI (`sip:agent@example.com`).
   */
  transfer: (callId: string, target: string, signal?: AbortSignal) => Promise<void>
  /** Places an outbound call that, once answered, requests `request.answerUrl` like an inbound call's webhook. */
  dial: (request: DialRequest, signal?: AbortSignal) => Promise<DialedCall>
}

/** An outbound call to place. */
export interface DialRequest {
  /** The callee, E.164 or a SIP URI. */
  to: string
  /** The caller id: one of the account's numbers. */
  from: string
  /** Requested (signed, like an inbound webhook) when the callee answers: llmrtc answers it with the stream markup. */
  answerUrl: string
  /** Where the carrier posts the answering-machine detection result, when detection is asked for. */
  machineDetectionUrl?: string
}

/** The carrier's id of a placed call. */
export interface DialedCall {
  callId: string
}

/** What answered a call, as the carrier's answering-machine detection judged it. */
export interface AnsweringMachineResult {
  callId: string
  answeredBy: 'human' | 'machine' | 'fax' | 'unknown'
  /** The carrier's own value (Twilio `machine_end_beep`, Telnyx `machine`, Plivo `machine`…). */
  detail: string
}
