import type { WebhookRequest } from './carrier.js'

/** XML text and attribute escaping for the carriers' answer markup. */
export function escapeXml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;')
}

/** `<Parameter name=… value=…/>` nouns (TwiML, TeXML) carrying the stream's custom parameters. */
export function parameterNouns (parameters: Record<string, string>): string {
  return Object.entries(parameters).map(([name, value]) => `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`).join('')
}

/** A JSON message's field as an object ({} when it is anything else). */
export function object (value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
}

/** A JSON message's field as text ('' when it is neither a string nor a number). */
export function text (value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/** One request header (the first, when repeated). */
export function header (headers: WebhookRequest['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * A carrier media message with base64 audio: `{ event: 'media', media: { payload, track } }` (Twilio and
 * Telnyx). Only the caller's (inbound) track counts: a stream asked for both tracks carries our own audio too.
 */
export function inboundMedia (data: Record<string, unknown>): { type: 'media', payload: Buffer } | undefined {
  const media = object(data.media)
  if (media.track !== undefined && media.track !== 'inbound') return undefined
  return { type: 'media', payload: Buffer.from(text(media.payload), 'base64') }
}

/** The markup that ends a call, the same `<Hangup/>` for the three carriers; only its content type differs. */
export const HANGUP_XML = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'
