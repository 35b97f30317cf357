import { EventEmitter } from 'node:events'
import { createDeviceCodec } from '../../lib/device/device-codec.js'
import { DeviceMedia } from '../../lib/device/device-media.js'
import type { DeviceAudioFormat, DeviceServerControl } from '../../lib/device/device-protocol.js'
import type { Clock } from '../../lib/clock.js'
import type { Logger } from '../../lib/logger.js'
import type { MediaTransportEvents } from '../../lib/transport/media-transport.js'

/** The devices' media transport: what the pipeline listens to beside WebRTC and phone calls. */
export class DeviceTransport extends EventEmitter<MediaTransportEvents> {}

/** How one socket takes a stream's answer: binary frames of audio, JSON text frames of control. */
export interface DeviceStreamWire {
  sendAudio: (frame: Uint8Array) => void
  sendControl: (message: DeviceServerControl) => void
}

/**
 * The live device audio streams, one per session at most, over a device socket or the signaling socket:
 * both ways of device audio share this, the codec, the DeviceMedia and the transport events. A stream
 * opened for a session that has one (a resume from a new socket) closes the old one first, so the
 * pipeline sees `closed` then `media`.
 */
export class DeviceStreams {
  readonly transport = new DeviceTransport()
  readonly #media = new Map<string, DeviceMedia>()
  readonly #log: Logger
  readonly #clock: Clock | undefined

  constructor (log: Logger, clock?: Clock) {
    this.#log = log
    this.#clock = clock
  }

  /** Opens the session's stream in `format` and announces its media. */
  open (sessionId: string, format: DeviceAudioFormat, wire: DeviceStreamWire): DeviceMedia {
    this.close(sessionId)
    const media = new DeviceMedia({
      codec: createDeviceCodec(format.codec, format.sampleRate),
      sendAudio: wire.sendAudio,
      sendControl: wire.sendControl,
      ...(this.#clock !== undefined ? { clock: this.#clock } : {})
    })
    this.#media.set(sessionId, media)
    media.start()
    this.transport.emit('media', sessionId, media)
    return media
  }

  /** The session's stream, if one is open. */
  get (sessionId: string): DeviceMedia | undefined {
    return this.#media.get(sessionId)
  }

  /** One binary frame of the session's stream; a frame the codec cannot decode is dropped. */
  receive (media: DeviceMedia, payload: Uint8Array): void {
    try {
      media.receiveAudio(payload)
    } catch (err) {
      this.#log.debug({ err }, 'device audio frame dropped: not decodable')
    }
  }

  /** Closes the session's stream (only if it is `media`, when given) and tells the pipeline. */
  close (sessionId: string, media?: DeviceMedia): void {
    const current = this.#media.get(sessionId)
    if (current === undefined || (media !== undefined && media !== current)) {
      media?.close()
      return
    }
    this.#media.delete(sessionId)
    current.close()
    this.transport.emit('closed', sessionId)
  }

  /** The stream now belongs to another session (the signaling socket resumed one with `reconnect`). */
  move (fromSessionId: string, toSessionId: string): void {
    const media = this.#media.get(fromSessionId)
    if (media === undefined || fromSessionId === toSessionId) return
    this.#media.delete(fromSessionId)
    this.transport.emit('closed', fromSessionId)
    this.close(toSessionId)
    this.#media.set(toSessionId, media)
    this.transport.emit('media', toSessionId, media)
  }

  /** Closes every stream (the server is closing). */
  closeAll (): void {
    for (const sessionId of [...this.#media.keys()]) this.close(sessionId)
  }
}
