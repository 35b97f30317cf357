import cluster from 'node:cluster'
import { IpcPeer, ignoreIpcSendError, type IpcBody } from './ipc-peer.js'

/**
 * Set by llmrtc's primary in the environment of the workers it forks: a process in someone else's cluster
 * (an application's own node:cluster) is not one of llmrtc's workers and runs as one server.
 */
export const WORKER_ENV = 'LLMRTC_CLUSTER_WORKER'

/** Waits for an answer of the primary to a worker's request (a session record, a machine-wide scrape), in ms. */
export const PRIMARY_REQUEST_TIMEOUT_MS = 5_000

/** What a worker asks the primary, and the primary the workers. */
export type ClusterRequest =
  | { op: 'store-get', sessionId: string }
  | { op: 'store-set', record: unknown, ttlMs: number }
  | { op: 'store-delete', sessionId: string }
  | { op: 'store-claim', key: string, ttlMs: number }
  | { op: 'metrics' }
  | { op: 'metrics-snapshot' }
  | { op: 'start-failed', message: string, code?: string }

/** Handlers a worker's server registers: how it drains, and what it reports of its metrics. */
export interface ClusterWorkerHandlers {
  /** The primary stops the cluster (or is gone): drain with this timeout (undefined: the configured one), then exit. */
  drain?: (drainTimeoutMs: number | undefined) => void
  /** This worker's metrics, as prom-client's `registry.getMetricsAsJSON()`. */
  metricsSnapshot?: () => Promise<unknown>
}

/** This process as one of llmrtc's cluster workers: its channel to the primary. */
export class ClusterWorker {
  /** node:cluster's worker id (1, 2, ...; a replacement gets a new one). */
  readonly id: number
  readonly #peer: IpcPeer
  readonly #handlers: ClusterWorkerHandlers = {}
  /** A drain asked for before a server registered its handler (the primary stops during start-up). */
  #pendingDrain: { timeoutMs: unknown } | undefined

  constructor (id: number, send: (message: unknown) => void) {
    this.id = id
    this.#peer = new IpcPeer({
      send,
      onRequest: async (body) => await this.#answer(body),
      onNotify: (body) => { if (body.op === 'drain') this.#drain(body.drainTimeoutMs) }
    })
  }

  /** Sets the handlers (the latest server of this process wins). */
  handle (handlers: ClusterWorkerHandlers): void {
    Object.assign(this.#handlers, handlers)
    if (handlers.drain !== undefined && this.#pendingDrain !== undefined) this.#drain(this.#pendingDrain.timeoutMs)
  }

  async request (body: ClusterRequest, timeoutMs = PRIMARY_REQUEST_TIMEOUT_MS): Promise<unknown> {
    return await this.#peer.request(body as IpcBody, timeoutMs)
  }

  notify (body: IpcBody): void {
    this.#peer.notify(body)
  }

  receive (message: unknown): boolean {
    return this.#peer.receive(message)
  }

  /** The primary is gone: requests waiting for it fail, and the server drains at once (no one routes to it). */
  primaryGone (): void {
    this.#peer.close()
    this.#drain(0)
  }

  async #answer (body: IpcBody): Promise<unknown> {
    if (body.op === 'metrics-snapshot' && this.#handlers.metricsSnapshot !== undefined) return await this.#handlers.metricsSnapshot()
    throw new Error(`unknown request ${body.op}`)
  }

  #drain (timeoutMs: unknown): void {
    const drain = this.#handlers.drain
    if (drain === undefined) {
      this.#pendingDrain = { timeoutMs }
      return
    }
    this.#pendingDrain = undefined
    drain(typeof timeoutMs === 'number' ? timeoutMs : undefined)
  }
}

let current: ClusterWorker | undefined

/**
 * This process's ClusterWorker when llmrtc's primary forked it, else undefined (one process, or a worker of
 * the application's own cluster). One per process: its IPC channel is the process's.
 */
export function clusterWorker (): ClusterWorker | undefined {
  if (current !== undefined) return current
  const send = process.send?.bind(process)
  if (!cluster.isWorker || process.env[WORKER_ENV] !== '1' || send === undefined || cluster.worker === undefined) return undefined
  const worker = new ClusterWorker(cluster.worker.id, (message) => { send(message, undefined, undefined, ignoreIpcSendError) })
  process.on('message', (message) => { worker.receive(message) })
  process.once('disconnect', () => { worker.primaryGone() })
  current = worker
  return worker
}
