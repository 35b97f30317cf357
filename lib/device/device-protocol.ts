import { DEVICE_CODEC_RATES, DEVICE_FRAME_MS, type DeviceCodecName } from './device-codec.js'

/** The device's first message: the codec of its audio both ways. */
export interface DeviceStart { type: 'start', codec: DeviceCodecName, sampleRate: number }
/** The device played everything sent before the mark. */
export interface DevicePlayed { type: 'played', mark: string }
/** The device's end of the conversation (closing the socket does the same). */
export interface DeviceStop { type: 'stop' }
export type DeviceClientControl = DeviceStart | DevicePlayed | DeviceStop

/** The server's device-only control messages (the session's own messages are sent as they are). */
export type DeviceServerControl =
  | { type: 'ready', id: string, codec: DeviceCodecName, sampleRate: number, frameMs: number }
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
    case 'start': {
      const codec = message.codec
      if (!isCodec(codec)) throw new DeviceProtocolError('INVALID_MESSAGE', `start.codec must be one of ${Object.keys(DEVICE_CODEC_RATES).join(', ')}`)
      const rates = DEVICE_CODEC_RATES[codec]
      const sampleRate = message.sampleRate ?? rates[0]
      if (typeof sampleRate !== 'number' || !rates.includes(sampleRate)) throw new DeviceProtocolError('INVALID_MESSAGE', `start.sampleRate for ${codec} must be one of ${rates.join(', ')}`)
      return { type: 'start', codec, sampleRate }
    }
    case 'played':
      if (typeof message.mark !== 'string') throw new DeviceProtocolError('INVALID_MESSAGE', 'played.mark must be a string')
      return { type: 'played', mark: message.mark }
    case 'stop':
      return { type: 'stop' }
    default:
      return undefined
  }
}

/** The `ready` answer to a device's start. */
export function deviceReady (id: string, start: DeviceStart): DeviceServerControl {
  return { type: 'ready', id, codec: start.codec, sampleRate: start.sampleRate, frameMs: DEVICE_FRAME_MS }
}
