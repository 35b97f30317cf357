import { LLMRTC_ERR_CLUSTER_IPC } from '../errors.js'

/** A request between the primary and a worker: its `op` names it (see cluster-requests.ts). */
export interface IpcBody { op: string, [key: string]: unknown }

/** What llmrtc sends over a cluster IPC channel; any other message (the application's, prom-client's) is ignored. */
export type IpcMessage =
  | { llmrtc: 'request', id: number, body: IpcBody }
  | { llmrtc: 'response', id: number, ok: true, value: unknown }
  | { llmrtc: 'response', id: number, ok: false, message: string }
  | { llmrtc: 'notify', body: IpcBody }

export interface IpcPeerOptions {
  /** Sends one message to the other side (`worker.send` in the primary, `process.send` in a worker). */
  send: (message: IpcMessage) => void
  /** Answers the other side's requests; a rejection is sent back as an error. */
  onRequest?: (body: IpcBody) => Promise<unknown>
  /** Receives the other side's notifications (no answer). */
  onNotify?: (body: IpcBody) => void
}

/**
 * One end of a request/response channel over node:cluster's IPC, the same on both sides. Requests time out,
 * and `close()` (the other process exited) rejects those still waiting.
 */
export class IpcPeer {
  readonly #options: IpcPeerOptions
  readonly #pending = new Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void, timer: NodeJS.Timeout }>()
  #nextId = 1
  #closed = false

  constructor (options: IpcPeerOptions) {
    this.#options = options
  }

  /** Sends `body` and resolves with the other side's answer; rejects with LLMRTC_ERR_CLUSTER_IPC after `timeoutMs`. */
  async request (body: IpcBody, timeoutMs: number): Promise<unknown> {
    if (this.#closed) throw new LLMRTC_ERR_CLUSTER_IPC(`${body.op}: the other process is gone`)
    const id = this.#nextId++
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new LLMRTC_ERR_CLUSTER_IPC(`${body.op}: no answer within ${timeoutMs} ms`))
      }, timeoutMs).unref()
      this.#pending.set(id, { resolve, reject, timer })
      this.#send({ llmrtc: 'request', id, body })
    })
  }

  notify (body: IpcBody): void {
    if (!this.#closed) this.#send({ llmrtc: 'notify', body })
  }

  /** Handles one message received from the other side; returns false when it is not llmrtc's. */
  receive (message: unknown): boolean {
    if (!isIpcMessage(message)) return false
    if (message.llmrtc === 'notify') {
      this.#options.onNotify?.(message.body)
    } else if (message.llmrtc === 'request') {
      const handler = this.#options.onRequest
      const answer = handler === undefined ? Promise.reject(new Error(`no handler for ${message.body.op}`)) : handler(message.body)
      answer.then(
        (value) => { this.#send({ llmrtc: 'response', id: message.id, ok: true, value }) },
        (err: unknown) => { this.#send({ llmrtc: 'response', id: message.id, ok: false, message: (err as Error).message }) }
      )
    } else {
      const pending = this.#pending.get(message.id)
      if (pending === undefined) return true // answered after its timeout
      this.#pending.delete(message.id)
      clearTimeout(pending.timer)
      if (message.ok) pending.resolve(message.value)
      else pending.reject(new LLMRTC_ERR_CLUSTER_IPC(message.message))
    }
    return true
  }

  /** The other process is gone: requests waiting for it reject. Idempotent. */
  close (): void {
    this.#closed = true
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer)
      pending.reject(new LLMRTC_ERR_CLUSTER_IPC('the other process is gone'))
      this.#pending.delete(id)
    }
  }

  #send (message: IpcMessage): void {
    try {
      this.#options.send(message)
    } catch {
      // The channel closed under us (the process is exiting): its exit closes this peer.
    }
  }
}

function isIpcMessage (message: unknown): message is IpcMessage {
  if (message === null || typeof message !== 'object') return false
  const kind = (message as { llmrtc?: unknown }).llmrtc
  return kind === 'request' || kind === 'response' || kind === 'notify'
}

/**
 * The callback to give an IPC send (`process.send`, a cluster worker's `send`). Without one, a send on a
 * channel that closed under us (EPIPE: the other process is exiting) is emitted as an 'error' event that
 * crashes the process; the other process's exit or 'disconnect' is what handles its going.
 */
export function ignoreIpcSendError (): void {}
