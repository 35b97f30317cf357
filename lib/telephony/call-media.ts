import type { Clock } from '../clock.js'
import { StreamedMedia } from '../transport/streamed-media.js'
import type { CarrierAdapter } from './carrier.js'
import { g711SampleCodec, type G711Law } from './g711.js'

/** Length of one outbound media message, in ms (the carriers' own packet size). */
const OUTBOUND_MESSAGE_MS = 20

export interface CallMediaOptions {
  adapter: CarrierAdapter
  /** The carrier's stream id (outbound messages carry it). */
  streamId: string
  law: G711Law
  /** The stream's rate (8000 for G.711). */
  sampleRateHz: number
  /** Sends one text message on the carrier's media WebSocket. */
  send: (message: string) => void
  clock?: Clock
}

/**
 * One phone call's media (StreamedMedia over a carrier's media WebSocket): the caller's G.711 audio in,
 * and the answer out as 20 ms G.711 media messages. Marks mean "heard on the phone": a carrier mark
 * follows each marked chunk and counts once the carrier echoes it; barge-in sends the carrier's `clear`.
 * G.711 is coded sample by sample into buffers kept for the call: no array per message.
 */
export class CallMedia extends StreamedMedia {
  readonly #decode: (byte: number) => number
  /** The decoded samples of one inbound message (grown to the largest message). */
  #decoded = new Int16Array(160)

  constructor (options: CallMediaOptions) {
    const codec = g711SampleCodec(options.law)
    // The G.711 bytes of the next media message (reused: the adapter copies them into its message).
    const encoded = new Uint8Array(options.sampleRateHz * OUTBOUND_MESSAGE_MS / 1000)
    super({
      sampleRateHz: options.sampleRateHz,
      packetMs: OUTBOUND_MESSAGE_MS,
      markPrefix: 'llmrtc-',
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      wire: {
        sendAudio: (samples, count) => {
          for (let i = 0; i < count; i++) encoded[i] = codec.encode(samples[i] as number)
          options.send(options.adapter.media(options.streamId, count === encoded.length ? encoded : encoded.subarray(0, count)))
        },
        sendMark: (name) => { options.send(options.adapter.mark(options.streamId, name)) },
        sendClear: () => { options.send(options.adapter.clear(options.streamId)) }
      }
    })
    this.#decode = codec.decode
  }

  /** The caller's audio: G.711 bytes of one media message. */
  receiveAudio (payload: Uint8Array): void {
    if (this.closed) return
    if (this.#decoded.length < payload.length) this.#decoded = new Int16Array(payload.length)
    const decoded = this.#decoded
    const decode = this.#decode
    for (let i = 0; i < payload.length; i++) decoded[i] = decode(payload[i] as number)
    this.receivePcm(decoded, payload.length)
  }

  /** The carrier echoed a mark: everything sent before it has played. */
  receiveMark (name: string): void { this.acknowledge(name) }
}
