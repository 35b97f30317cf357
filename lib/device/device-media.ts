import type { Clock } from '../clock.js'
import { StreamedMedia } from '../transport/streamed-media.js'
import { DEVICE_FRAME_MS, type DeviceCodec } from './device-codec.js'
import type { DeviceServerControl } from './device-protocol.js'

export interface DeviceMediaOptions {
  codec: DeviceCodec
  /** Sends one binary frame (encoded audio) to the device. */
  sendAudio: (frame: Uint8Array) => void
  /** Sends one control message (a JSON text frame) to the device. */
  sendControl: (message: DeviceServerControl) => void
  clock?: Clock
}

/**
 * One device connection's media (StreamedMedia over the device WebSocket, the device counterpart of
 * CallMedia): the device's frames in, decoded at the codec's rate, and the answer out as 20 ms binary
 * frames (a partial Opus frame before a mark is padded with silence: Opus needs whole frames). Marks mean
 * "heard on the device": after a marked chunk a `{ type: 'mark', mark }` control follows, reported only
 * when the device answers `{ type: 'played', mark }`; `clear()` (barge-in) sends `{ type: 'clear' }`.
 */
export class DeviceMedia extends StreamedMedia {
  readonly #codec: DeviceCodec

  constructor (options: DeviceMediaOptions) {
    const codec = options.codec
    super({
      sampleRateHz: codec.sampleRateHz,
      packetMs: DEVICE_FRAME_MS,
      markPrefix: 'm',
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      wire: {
        sendAudio: (samples, count) => {
          if (codec.name === 'opus' || count === samples.length) {
            samples.fill(0, count)
            options.sendAudio(codec.encode(samples))
          } else {
            options.sendAudio(codec.encode(samples.subarray(0, count)))
          }
        },
        sendMark: (name) => { options.sendControl({ type: 'mark', mark: name }) },
        sendClear: () => { options.sendControl({ type: 'clear' }) }
      }
    })
    this.#codec = codec
  }

  /** One binary frame from the device. Throws (nothing is heard) when the codec cannot decode it. */
  receiveAudio (payload: Uint8Array): void {
    if (this.closed) return
    this.receivePcm(this.#codec.decode(payload))
  }

  /** The device acknowledged a mark: everything sent before it has played. */
  receivePlayed (name: string): void { this.acknowledge(name) }
}
