import type { AnswerOptions, CarrierAdapter, CarrierEvent, WebhookRequest } from './carrier.js'
import type { G711Law } from './g711.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT, LLMRTC_ERR_OPTIONS_INVALID } from '../errors.js'
import { lazyModule } from '../providers/lazy-module.js'
import { escapeXml, HANGUP_XML, header, inboundMedia, object, parameterNouns, text } from './wire.js'

/**
 * The Telnyx SDK's webhook verifier (`telnyx/lib/webhooks`: ed25519 over `${timestamp}|${body}`, 300 s
 * replay window), loaded by the first webhook check. Only that module is imported, not the REST client.
 */
const telnyxWebhooks = lazyModule(async () => await import('telnyx/lib/webhooks'))

/** Options of the Telnyx adapter. */
export interface TelnyxAdapterOptions {
  /**
   * The account's webhook public key, base64 as Mission Control shows it (32 bytes of ed25519): the key
   * of `telnyx-signature-ed25519`.
   */
  publicKey: string
  /**
   * The G.711 law asked of Telnyx in both directions (`codec` and `bidirectionalCodec` of the stream):
   * μ-law (PCMU, default) or A-law (PCMA). Telnyx transcodes between the two when the call uses the other.
   */
  law?: G711Law
}

const CODEC_OF_LAW: Record<G711Law, string> = { mulaw: 'PCMU', alaw: 'PCMA' }
const LAW_OF_CODEC: Record<string, G711Law> = { PCMU: 'mulaw', PCMA: 'alaw' }

/**
 * The start message's custom parameters: an object of strings (what Telnyx sends for the TeXML
 * `<Parameter>` nouns), or the `[{ name, value }]` list of Call Control's `custom_parameters`.
 */
function customParameters (value: unknown): Record<string, string> {
  const parameters: Record<string, string> = {}
  if (Array.isArray(value)) {
    for (const item of value) {
      const entry = object(item)
      const name = text(entry.name)
      if (name !== '') parameters[name] = text(entry.value)
    }
  } else {
    for (const [name, entry] of Object.entries(object(value))) parameters[name] = text(entry)
  }
  return parameters
}

/** Whether `key` is a 32-byte ed25519 public key in standard base64. */
function isPublicKey (key: string): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(key) && key.length % 4 === 0 && Buffer.from(key, 'base64').length === 32
}

/**
 * Telnyx Programmable Voice (TeXML) with bidirectional media streaming: the TeXML application's voice
 * webhook (signed with ed25519: `telnyx-signature-ed25519` over `${telnyx-timestamp}|${body}`) is answered
 * with `<Connect><Stream bidirectionalMode="rtp">`, and the stream's WebSocket carries JSON messages
 * (`connected`, `start`, `media`, `mark`, `dtmf`, `stop`, `error` in; `media`, `mark`, `clear` out), audio
 * as base64 RTP payloads (PCMU or PCMA, 8 kHz).
 */
export function createTelnyxAdapter (options: TelnyxAdapterOptions): CarrierAdapter {
  const { publicKey, law = 'mulaw' } = options
  if (typeof publicKey !== 'string' || !isPublicKey(publicKey)) {
    throw new LLMRTC_ERR_OPTIONS_INVALID('telnyx.publicKey', 'the base64 ed25519 public key of the Telnyx account (32 bytes)', typeof publicKey === 'string' ? `${publicKey.length} characters that are not one` : typeof publicKey)
  }
  if (CODEC_OF_LAW[law] === undefined) throw new LLMRTC_ERR_OPTIONS_INVALID('telnyx.law', '"mulaw" or "alaw"', String(law))
  const codec = CODEC_OF_LAW[law]

  return {
    name: 'telnyx',

    async verifyWebhook (request: WebhookRequest): Promise<boolean> {
      const signature = header(request.headers, 'telnyx-signature-ed25519')
      const timestamp = header(request.headers, 'telnyx-timestamp')
      if (signature === undefined || signature === '' || timestamp === undefined || timestamp === '') return false
      const { TelnyxWebhook } = await telnyxWebhooks.load()
      try {
        // The SDK checks the timestamp is within 300 s of now, decodes the signature and verifies it.
        await new TelnyxWebhook(publicKey).verify(request.rawBody.toString('utf8'), {
          'telnyx-signature-ed25519': signature,
          'telnyx-timestamp': timestamp
        })
        return true
      } catch {
        return false
      }
    },

    answer (streamUrl: string, parameters: Record<string, string>, options: AnswerOptions = {}) {
      const params = parameterNouns(parameters)
      // TeXML runs the instructions after <Connect> once the stream stops: a <Redirect> to the action URL.
      const then = options.actionUrl === undefined ? '' : `<Redirect method="POST">${escapeXml(options.actionUrl)}</Redirect>`
      return {
        contentType: 'application/xml',
        body: '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>' +
          `<Stream url="${escapeXml(streamUrl)}" track="inbound_track" codec="${codec}" bidirectionalMode="rtp" bidirectionalCodec="${codec}">` +
          `${params}</Stream></Connect>${then}</Response>`
      }
    },

    hangup: () => ({ contentType: 'application/xml', body: HANGUP_XML }),

    parse (message: string): CarrierEvent | undefined {
      const data = object(JSON.parse(message))
      switch (data.event) {
        case 'media':
          return inboundMedia(data)
        case 'start': {
          const start = object(data.start)
          const format = object(start.media_format)
          const encoding = text(format.encoding).toUpperCase()
          const startLaw = LAW_OF_CODEC[encoding]
          if (startLaw === undefined) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`Telnyx stream encoding "${encoding}" (expected PCMU or PCMA)`)
          const rate = Number(format.sample_rate)
          return {
            type: 'start',
            callId: text(start.call_control_id),
            streamId: text(data.stream_id) || text(start.stream_id),
            law: startLaw,
            sampleRateHz: Number.isFinite(rate) && rate > 0 ? rate : 8000,
            parameters: customParameters(start.custom_parameters)
          }
        }
        case 'mark': return { type: 'mark', name: text(object(data.mark).name) }
        case 'dtmf': return { type: 'dtmf', digit: text(object(data.dtmf).digit) }
        case 'stop': return { type: 'stop' }
        default: return undefined
      }
    },

    // Telnyx identifies the stream by the WebSocket it arrives on: outbound messages carry no stream id.
    media: (_streamId: string, payload: Uint8Array) => JSON.stringify({
      event: 'media',
      media: { payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64') }
    }),
    mark: (_streamId: string, name: string) => JSON.stringify({ event: 'mark', mark: { name } }),
    clear: (_streamId: string) => JSON.stringify({ event: 'clear' })
  }
}
