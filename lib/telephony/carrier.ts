import type { G711Law } from './g711.js'

/** The carriers llmrtc answers calls from. */
export type CarrierName = 'twilio' | 'telnyx' | 'plivo'

/** An incoming HTTP request as a carrier's webhook check needs it. */
export interface WebhookRequest {
  /** The full public URL the carrier posted to (scheme, host, path and query), as the carrier signed it. */
  url: string
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>
  /** The raw body, exactly as received (signatures cover the bytes). */
  rawBody: Buffer
  /** The parsed form or JSON body. */
  params: Record<string, unknown>
}

/** One message of a carrier's media WebSocket, in llmrtc's words. */
export type CarrierEvent =
  /** The stream began: the call's and the stream's ids, and the custom parameters of the markup (the per-call token). */
  | { type: 'start', callId: string, streamId: string, law: G711Law, sampleRateHz: number, parameters: Record<string, string> }
  /** Caller audio: G.711 bytes at `sampleRateHz` of the start. */
  | { type: 'media', payload: Buffer }
  /** The carrier played everything sent before the mark with this name. */
  | { type: 'mark', name: string }
  /** A key the caller pressed. */
  | { type: 'dtmf', digit: string }
  /** The stream ended (hang-up, or the call moved on). */
  | { type: 'stop' }

/** How the webhook's answer goes on once the media stream ends. */
export interface AnswerOptions {
  /**
   * A URL the carrier requests, signed as its webhooks are, when the stream's WebSocket ends (it dropped,
   * or the server closed it): Twilio's `<Connect action>`, a `<Redirect>` after the stream for Telnyx TeXML
   * and Plivo. Its answer says whether the call goes on (a fresh stream) or hangs up.
   */
  actionUrl?: string
}

/**
 * What one carrier's protocol looks like: its webhook (authenticity and the markup that connects the
 * call to the media WebSocket) and its media WebSocket messages. Pure translation, no I/O: the telephony
 * core (lib/telephony) runs the sessions, the plugin the routes.
 */
export interface CarrierAdapter {
  readonly name: CarrierName
  /** Whether the webhook carries the carrier's valid signature (a bad or missing one: false). */
  verifyWebhook: (request: WebhookRequest) => boolean | Promise<boolean>
  /**
   * The webhook's answer: markup that connects the call to `streamUrl` (a `wss:` URL) and passes
   * `parameters` (the per-call token) back in the stream's start message. With `actionUrl`, the carrier
   * requests that URL (a signed webhook) once the stream's WebSocket ends and follows the markup it returns.
   */
  answer: (streamUrl: string, parameters: Record<string, string>, options?: AnswerOptions) => { contentType: string, body: string }
  /** Markup that hangs up the call (the answer to a call that is over). */
  hangup: () => { contentType: string, body: string }
  /** One text message of the media WebSocket, or undefined for one llmrtc does not use. Throws on malformed JSON. */
  parse: (message: string) => CarrierEvent | undefined
  /** An outbound audio message: G.711 bytes for the caller. */
  media: (streamId: string, payload: Uint8Array) => string
  /** An outbound mark: the carrier echoes it once everything sent before it has played. */
  mark: (streamId: string, name: string) => string
  /** Drops the audio the carrier has buffered and not played (barge-in). */
  clear: (streamId: string) => string
}
