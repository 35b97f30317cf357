import type { AnswerOptions, CarrierAdapter, CarrierEvent, WebhookRequest } from './carrier.js'
import type { G711Law } from './g711.js'
import { lazyModule } from '../providers/lazy-module.js'
import { escapeXml, HANGUP_XML, inboundMedia, object, parameterNouns, text } from './wire.js'

/** The Twilio SDK (heavy: about a second of CPU at import), loaded by the first webhook check. */
const twilioSdk = lazyModule(async () => await import('twilio'))

/** Options of the Twilio adapter. */
export interface TwilioAdapterOptions {
  /** The account's auth token: the key of X-Twilio-Signature (HMAC-SHA1 of the URL and the sorted form fields). */
  authToken: string
}

/** Twilio's `mediaFormat.encoding` to the G.711 law (Media Streams only streams μ-law today). */
function lawOf (encoding: string): G711Law {
  return encoding === 'audio/x-alaw' ? 'alaw' : 'mulaw'
}

/**
 * Twilio Programmable Voice with bidirectional Media Streams: the voice webhook (form POST signed with
 * X-Twilio-Signature) is answered with `<Connect><Stream>`, and the stream's WebSocket carries JSON
 * messages (`connected`, `start`, `media`, `mark`, `dtmf`, `stop` in; `media`, `mark`, `clear` out),
 * audio as base64 μ-law at 8 kHz.
 */
export function createTwilioAdapter (options: TwilioAdapterOptions): CarrierAdapter {
  const { authToken } = options
  return {
    name: 'twilio',

    async verifyWebhook (request: WebhookRequest): Promise<boolean> {
      const header = request.headers['x-twilio-signature']
      const signature = Array.isArray(header) ? header[0] : header
      if (signature === undefined || signature === '' || authToken === '') return false
      const sdk = await twilioSdk.load()
      const validateRequest = (sdk.default ?? sdk).validateRequest
      return validateRequest(authToken, signature, request.url, request.params)
    },

    answer (streamUrl: string, parameters: Record<string, string>, options: AnswerOptions = {}) {
      const params = parameterNouns(parameters)
      // <Connect action>: once the stream's WebSocket ends, Twilio requests the action URL and follows its TwiML.
      const action = options.actionUrl === undefined ? '' : ` action="${escapeXml(options.actionUrl)}" method="POST"`
      return {
        contentType: 'text/xml',
        body: `<?xml version="1.0" encoding="UTF-8"?><Response><Connect${action}><Stream url="${escapeXml(streamUrl)}">${params}</Stream></Connect></Response>`
      }
    },

    hangup: () => ({ contentType: 'text/xml', body: HANGUP_XML }),

    parse (message: string): CarrierEvent | undefined {
      const data = object(JSON.parse(message))
      switch (data.event) {
        case 'media':
          return inboundMedia(data)
        case 'start': {
          const start = object(data.start)
          const format = object(start.mediaFormat)
          const parameters: Record<string, string> = {}
          for (const [name, value] of Object.entries(object(start.customParameters))) parameters[name] = text(value)
          const rate = Number(format.sampleRate)
          return {
            type: 'start',
            callId: text(start.callSid),
            streamId: text(start.streamSid) || text(data.streamSid),
            law: lawOf(text(format.encoding)),
            sampleRateHz: Number.isFinite(rate) && rate > 0 ? rate : 8000,
            parameters
          }
        }
        case 'mark': return { type: 'mark', name: text(object(data.mark).name) }
        case 'dtmf': return { type: 'dtmf', digit: text(object(data.dtmf).digit) }
        case 'stop': return { type: 'stop' }
        default: return undefined
      }
    },

    media: (streamId: string, payload: Uint8Array) => JSON.stringify({
      event: 'media',
      streamSid: streamId,
      media: { payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64') }
    }),
    mark: (streamId: string, name: string) => JSON.stringify({ event: 'mark', streamSid: streamId, mark: { name } }),
    clear: (streamId: string) => JSON.stringify({ event: 'clear', streamSid: streamId })
  }
}
