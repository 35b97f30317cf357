import { randomUUID } from 'node:crypto'
import { isSignalingMessage, type ServerMessage } from '../protocol/server-messages.js'
import type { SessionConnection } from '../sessions/session.js'

/** The subset of a `ws` WebSocket the connection uses. */
export interface MessageSocket {
  readonly readyState: number
  /** A string goes as a text frame, bytes as a binary frame. */
  send: (data: string | Uint8Array) => void
  close: (code?: number, reason?: string) => void
}

/** The subset of an RTCDataChannel the connection mirrors payload events on. */
export interface MessageChannel {
  readonly readyState: string
  send: (data: string) => void
}

const OPEN = 1

/**
 * One client connection: the signaling WebSocket, and the WebRTC `data` channel once a transport
 * attaches it. Payload events go on both (the client prefers the channel and de-duplicates); signaling
 * messages only on the WebSocket. Sending on a closed socket is a no-op, never a throw.
 */
export class ClientConnection implements SessionConnection {
  readonly id = randomUUID()
  readonly #socket: MessageSocket
  #channel: MessageChannel | undefined
  #onSendError: (err: unknown) => void

  constructor (socket: MessageSocket, onSendError: (err: unknown) => void = () => {}) {
    this.#socket = socket
    this.#onSendError = onSendError
  }

  get open (): boolean { return this.#socket.readyState === OPEN }

  /** Mirror payload events on a data channel from now on (undefined detaches). */
  attachChannel (channel: MessageChannel | undefined): void {
    this.#channel = channel
  }

  send (message: ServerMessage): void {
    const text = JSON.stringify(message)
    if (this.#socket.readyState === OPEN) {
      try {
        this.#socket.send(text)
      } catch (err) {
        this.#onSendError(err)
      }
    }
    const channel = this.#channel
    if (channel !== undefined && channel.readyState === 'open' && !isSignalingMessage(message)) {
      try {
        channel.send(text)
      } catch (err) {
        this.#onSendError(err)
      }
    }
  }

  /** One binary frame on the WebSocket (streamed audio, plugins/device); never on the data channel. */
  sendBinary (data: Uint8Array): void {
    if (this.#socket.readyState !== OPEN) return
    try {
      this.#socket.send(data)
    } catch (err) {
      this.#onSendError(err)
    }
  }

  close (code: number, reason: string): void {
    this.#channel = undefined
    try {
      this.#socket.close(code, reason)
    } catch (err) {
      this.#onSendError(err)
    }
  }
}
