import { DTMF_DIGIT } from '../telephony/dtmf.js'
import { DEVICE_CODEC_RATES, DEVICE_FRAME_MS, type DeviceCodecName } from './device-codec.js'

/** The codec of a stream's audio both ways, as a device (or a signaling client) chose it. */
export interface DeviceAudioFormat { codec: DeviceCodecName, sampleRate: number }

/**
 * The device's first message: the codec of its audio both ways. With `sessionId` and `token` (the
 * `ready` of an earlier connection), it resumes that session instead of starting one.
 */
export interface DeviceStart extends DeviceAudioFormat {
  type: 'start'
  sessionId?: string
  token?: string
  /** The device has a keypad: its session offers the LLM `collect_digits`, as a phone call's does. */
  keypad?: boolean
}
/** The device played everything sent before the mark. */
export interface DevicePlayed { type: 'played', mark: string }
/** The device's end of the conversation (closing the socket does the same). */
export interface DeviceStop { type: 'stop' }
/** A key pressed on the device's keypad (0-9, *, #, A-D), as a caller's DTMF key on a phone call. */
export interface DeviceDtmf { type: 'dtmf', digit: string }
export type DeviceClientControl = DeviceStart | DevicePlayed | DeviceStop | DeviceDtmf

/** The server's device-only control messages (the session's own messages are sent as they are). */
export type DeviceServerControl =
  | { type: 'ready', id: string, codec: DeviceCodecName, sampleRate: number, frameMs: number, token: string, resumed: boolean }
  | { type: 'mark', mark: string }
  | { type: 'clear' }

/** Why a device message was refused: `code` is a protocol error code. */
export class DeviceProtocolError extends Error {
  constructor (readonly code: 'INVALID_MESSAGE', message: string) {
    super(message)
    this.name = 'DeviceProtocolError'
  }
}

function isCodec (value: unknown): value is DeviceCodecName {
  return typeof value === 'string' && Object.hasOwn(DEVICE_CODEC_RATES, value)
}

/** Longest `sessionId` and `token` taken in a `start` (a UUID and 43 characters of base64url are far shorter). */
const MAX_ID_CHARS = 200

/**
 * The codec and rate of a message (`start` on the device socket, `audio-stream-start` on the signaling
 * socket): the rate defaults to the codec's first. Throws DeviceProtocolError naming the field, after
 * `fieldPrefix` (`start.codec`).
 */
export function parseAudioFormat (message: Record<string, unknown>, fieldPrefix = ''): DeviceAudioFormat {
  const codec = message.codec
  if (!isCodec(codec)) throw new DeviceProtocolError('INVALID_MESSAGE', `${fieldPrefix}codec must be one of ${Object.keys(DEVICE_CODEC_RATES).join(', ')}`)
  const rates = DEVICE_CODEC_RATES[codec]
  const sampleRate = message.sampleRate ?? rates[0]
  if (typeof sampleRate !== 'number' || !rates.includes(sampleRate)) throw new DeviceProtocolError('INVALID_MESSAGE', `${fieldPrefix}sampleRate for ${codec} must be one of ${rates.join(', ')}`)
  return { codec, sampleRate }
}

function parseStart (message: Record<string, unknown>): DeviceStart {
  const start: DeviceStart = { type: 'start', ...parseAudioFormat(message, 'start.') }
  if (message.keypad !== undefined && typeof message.keypad !== 'boolean') throw new DeviceProtocolError('INVALID_MESSAGE', 'start.keypad must be a boolean')
  if (message.keypad === true) start.keypad = true
  const { sessionId, token } = message
  if (sessionId === undefined && token === undefined) return start
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_ID_CHARS) throw new DeviceProtocolError('INVALID_MESSAGE', 'start.sessionId must be the id of the session to resume')
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_ID_CHARS) throw new DeviceProtocolError('INVALID_MESSAGE', 'start.token must be the token of the session to resume (from its ready)')
  return { ...start, sessionId, token }
}

/**
 * Parses one JSON text frame from a device. Unknown types are ignored (undefined), as newer devices may
 * send more; a malformed message or a bad `start` throws DeviceProtocolError.
 */
export function parseDeviceControl (text: string): DeviceClientControl | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new DeviceProtocolError('INVALID_MESSAGE', 'control frames are JSON objects')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DeviceProtocolError('INVALID_MESSAGE', 'control frames are JSON objects')
  const message = value as Record<string, unknown>
  switch (message.type) {
    case 'start':
      return parseStart(message)
    case 'played':
      if (typeof message.mark !== 'string') throw new DeviceProtocolError('INVALID_MESSAGE', 'played.mark must be a string')
      return { type: 'played', mark: message.mark }
    case 'stop':
      return { type: 'stop' }
    case 'dtmf':
      if (typeof message.digit !== 'string' || !DTMF_DIGIT.test(message.digit)) throw new DeviceProtocolError('INVALID_MESSAGE', 'dtmf.digit must be one key: 0-9, *, #, A-D')
      return { type: 'dtmf', digit: message.digit }
    default:
      return undefined
  }
}

/** The `ready` answer to a device's start: `token` resumes the session from another connection. */
export function deviceReady (id: string, format: DeviceAudioFormat, token: string, resumed: boolean): DeviceServerControl {
  return { type: 'ready', id, codec: format.codec, sampleRate: format.sampleRate, frameMs: DEVICE_FRAME_MS, token, resumed }
}
