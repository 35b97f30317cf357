import type { AnswerOptions, CarrierAdapter, CarrierEvent, WebhookRequest } from './carrier.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT, LLMRTC_ERR_OPTIONS_INVALID } from '../errors.js'
import { lazyModule } from '../providers/lazy-module.js'
import { escapeXml, HANGUP_XML, header, object, text } from './wire.js'

/**
 * The Plivo SDK's V3 signature check (`plivo/dist/utils/v3Security.js`: HMAC-SHA256 of the URL, the
 * sorted parameters and the nonce), loaded by the first webhook check. Only that module is imported, not
 * the REST client with its HTTP stack.
 */
const plivoV3 = lazyModule(async () => await import('plivo/dist/utils/v3Security.js'))

/** Options of the Plivo adapter. */
export interface PlivoAdapterOptions {
  /** The account's (or sub-account's) auth token: the key of X-Plivo-Signature-V3. */
  authToken: string
}

/** Plivo streams μ-law at 8 kHz to us and takes it back in `playAudio`. */
const CONTENT_TYPE = 'audio/x-mulaw'
const SAMPLE_RATE = 8000

/** Plivo allows only [A-Za-z0-9] in `extraHeaders` names and values, 512 bytes in all. */
const ALPHANUMERIC = /^[A-Za-z0-9]+$/
const EXTRA_HEADERS_LIMIT = 512

/** The form fields as the SDK's signature check takes them: strings, or lists of strings for repeated fields. */
function signedParams (params: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(params)) out[name] = Array.isArray(value) ? value.map(text) : text(value)
  return out
}

/**
 * The stream parameters as `extraHeaders` (`name=value,name=value`). Values are hex-encoded (UTF-8), since
 * Plivo only passes alphanumeric values and a token is usually not; parse() decodes them back.
 */
function extraHeaders (parameters: Record<string, string>): string {
  const pairs = Object.entries(parameters).map(([name, value]) => {
    if (!ALPHANUMERIC.test(name)) throw new LLMRTC_ERR_OPTIONS_INVALID(`stream parameter name "${name}"`, 'letters and digits only (Plivo extraHeaders)', name)
    return `${name}=${Buffer.from(value, 'utf8').toString('hex')}`
  })
  const joined = pairs.join(',')
  if (Buffer.byteLength(joined) > EXTRA_HEADERS_LIMIT) {
    throw new LLMRTC_ERR_OPTIONS_INVALID('stream parameters', `at most ${EXTRA_HEADERS_LIMIT} bytes as Plivo extraHeaders`, `${Buffer.byteLength(joined)} bytes`)
  }
  return joined
}

/** A value of ours back from hex; anything that is not (a header Plivo added itself) stays as it is. */
function unhex (value: string): string {
  return /^(?:[0-9a-f]{2})+$/.test(value) ? Buffer.from(value, 'hex').toString('utf8') : value
}

/**
 * The start message's `extra_headers`: a JSON object encoded as a string (what Plivo sends), an object,
 * or the `name=value,...` form of the XML attribute. Names lose a `X-PH-` prefix should Plivo add one.
 */
function startParameters (value: unknown): Record<string, string> {
  let entries: Array<[string, unknown]> = []
  if (typeof value === 'string' && value.trim() !== '') {
    let decoded: unknown
    try {
      decoded = JSON.parse(value)
    } catch {
      decoded = undefined
    }
    entries = decoded !== undefined
      ? Object.entries(object(decoded))
      : value.split(',').map((pair) => pair.split('=')).filter((pair) => pair.length === 2).map(([name, v]) => [name!.trim(), v!.trim()])
  } else {
    entries = Object.entries(object(value))
  }
  const parameters: Record<string, string> = {}
  for (const [name, entry] of entries) parameters[name.replace(/^x-ph-/i, '')] = unhex(text(entry))
  return parameters
}

/**
 * Plivo Voice with bidirectional audio streaming: the answer URL's webhook (signed with
 * X-Plivo-Signature-V3 and its nonce) is answered with Plivo XML `<Stream bidirectional="true"
 * keepCallAlive="true">`, and the stream's WebSocket carries JSON messages (`start`, `media`, `dtmf`,
 * `playedStream`, `clearedAudio`, `stop` in; `playAudio`, `checkpoint`, `clearAudio` out), audio as base64
 * μ-law at 8 kHz.
 */
export function createPlivoAdapter (options: PlivoAdapterOptions): CarrierAdapter {
  const { authToken } = options
  if (typeof authToken !== 'string' || authToken === '') {
    throw new LLMRTC_ERR_OPTIONS_INVALID('plivo.authToken', 'the Plivo auth token', typeof authToken === 'string' ? 'an empty string' : typeof authToken)
  }

  return {
    name: 'plivo',

    async verifyWebhook (request: WebhookRequest): Promise<boolean> {
      const signature = header(request.headers, 'x-plivo-signature-v3')
      const nonce = header(request.headers, 'x-plivo-signature-v3-nonce')
      if (signature === undefined || signature === '' || nonce === undefined || nonce === '') return false
      const { validateV3Signature } = await plivoV3.load()
      // The signed string is the URL (with its query sorted), then the sorted body fields for a POST:
      // a GET (no body) signs the URL alone, as a POST with no fields does.
      const params = request.rawBody.length > 0 ? signedParams(request.params) : {}
      try {
        return validateV3Signature('POST', request.url, nonce, authToken, signature, params) === true
      } catch {
        return false
      }
    },

    answer (streamUrl: string, parameters: Record<string, string>, options: AnswerOptions = {}) {
      const headers = extraHeaders(parameters)
      const extra = headers === '' ? '' : ` extraHeaders="${escapeXml(headers)}"`
      // keepCallAlive holds the next element until the stream ends: then a <Redirect> to the action URL.
      const then = options.actionUrl === undefined ? '' : `<Redirect method="POST">${escapeXml(options.actionUrl)}</Redirect>`
      return {
        contentType: 'application/xml',
        body: '<?xml version="1.0" encoding="UTF-8"?><Response>' +
          `<Stream bidirectional="true" audioTrack="inbound" keepCallAlive="true" contentType="${CONTENT_TYPE};rate=${SAMPLE_RATE}"${extra}>` +
          `${escapeXml(streamUrl)}</Stream>${then}</Response>`
      }
    },

    hangup: () => ({ contentType: 'application/xml', body: HANGUP_XML }),

    parse (message: string): CarrierEvent | undefined {
      const data = object(JSON.parse(message))
      switch (data.event) {
        case 'media': {
          const media = object(data.media)
          if (media.track !== undefined && media.track !== 'inbound') return undefined
          return { type: 'media', payload: Buffer.from(text(media.payload), 'base64') }
        }
        case 'start': {
          const start = object(data.start)
          const format = object(start.mediaFormat)
          const encoding = text(format.encoding)
          if (encoding !== '' && encoding !== CONTENT_TYPE) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`Plivo stream encoding "${encoding}" (expected ${CONTENT_TYPE})`)
          const rate = Number(format.sampleRate)
          return {
            type: 'start',
            callId: text(start.callId),
            streamId: text(start.streamId) || text(data.streamId),
            law: 'mulaw',
            sampleRateHz: Number.isFinite(rate) && rate > 0 ? rate : SAMPLE_RATE,
            parameters: startParameters(data.extra_headers ?? start.extra_headers ?? data.extraHeaders)
          }
        }
        // Plivo's answer to a checkpoint: everything sent before it has played.
        case 'playedStream': return { type: 'mark', name: text(data.name) }
        case 'dtmf': {
          const dtmf = object(data.dtmf)
          return { type: 'dtmf', digit: text(dtmf.digit) || text(data.digit) }
        }
        case 'stop': return { type: 'stop' }
        default: return undefined
      }
    },

    media: (_streamId: string, payload: Uint8Array) => JSON.stringify({
      event: 'playAudio',
      media: {
        contentType: CONTENT_TYPE,
        sampleRate: SAMPLE_RATE,
        payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64')
      }
    }),
    mark: (streamId: string, name: string) => JSON.stringify({ event: 'checkpoint', streamId, name }),
    clear: (streamId: string) => JSON.stringify({ event: 'clearAudio', streamId })
  }
}
