import cluster, { type Worker } from 'node:cluster'
import { monotonicClock, type Clock } from '../clock.js'
import { LLMRTC_ERR_CLUSTER_WORKER_START } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import type { SessionRecord } from '../sessions/session-store.js'
import { WORKER_ENV } from './cluster-worker.js'
import { IpcPeer, ignoreIpcSendError, type IpcBody } from './ipc-peer.js'
import { aggregateMetrics } from './metrics-aggregation.js'
import { RestartBackoff } from './restart-backoff.js'
import { SharedSessionRecords } from './shared-session-records.js'

export interface ClusterPrimaryOptions {
  /** Worker processes to keep running. */
  workers: number
  log?: Logger
  backoff?: RestartBackoff
  /** How long `stop()` waits for workers to drain before it kills them, beyond the drain's own timeout, in ms (default 15000). */
  exitGraceMs?: number
  /** Forks one worker with these variables added to its environment (default `cluster.fork`; tests pass a fake). */
  fork?: (env: Record<string, string>) => Worker
  /** Time source for workers' uptimes (default: `monotonicClock`). */
  clock?: Clock
}

/** The address the workers share, as node:cluster reports it. */
export interface ClusterAddress { host: string, port: number }

interface WorkerState {
  peer: IpcPeer
  startedAt: number
  /** The error a worker reported when its `start()` failed. */
  startError?: { message: string, code?: string }
}

/** A worker's answer to a machine-wide scrape: this long at most, in ms (a busy worker is left out, not waited for). */
const SNAPSHOT_TIMEOUT_MS = 3_000

/**
 * The primary of `LLMRTCServer({ workers })`: forks the workers (node:cluster, which hands each accepted
 * connection to one worker in turn), holds the session records they share, answers machine-wide metrics
 * scrapes, replaces a worker that dies (with a backoff when they die young), and drains them all on `stop()`.
 * It serves no request itself.
 */
export class ClusterPrimary {
  readonly #options: ClusterPrimaryOptions
  readonly #log: Logger
  readonly #backoff: RestartBackoff
  readonly #clock: Clock
  readonly #records = new SharedSessionRecords()
  readonly #workers = new Map<Worker, WorkerState>()
  readonly #restarts = new Set<NodeJS.Timeout>()
  #stopping: Promise<void> | undefined
  #address: ClusterAddress | undefined

  constructor (options: ClusterPrimaryOptions) {
    this.#options = options
    this.#log = options.log ?? silentLogger
    this.#backoff = options.backoff ?? new RestartBackoff()
    this.#clock = options.clock ?? monotonicClock
  }

  /** Workers running now. */
  get size (): number { return this.#workers.size }

  /** Process ids of the workers running now. */
  get pids (): number[] { return [...this.#workers.keys()].map(w => w.process.pid).filter((pid): pid is number => pid !== undefined) }

  /**
   * Forks the workers and resolves with their shared address once every one listens (with port 0, node:cluster
   * gives all of them the same port). Rejects with LLMRTC_ERR_CLUSTER_WORKER_START, after stopping the
   * others, when a worker exits first.
   */
  async start (): Promise<ClusterAddress> {
    const starting = Array.from({ length: this.#options.workers }, () => this.#fork())
    try {
      const addresses = await Promise.all(starting.map(async worker => await this.#listening(worker)))
      this.#address = addresses[0]
      return addresses[0] as ClusterAddress
    } catch (err) {
      await this.stop(0)
      throw err
    }
  }

  /**
   * Drains every worker (each runs its server's `stop()`: turns finish, sockets close with 1001, records are
   * written) and resolves when all have exited. Replacements stop. A worker still there after its drain
   * timeout plus `exitGraceMs` is killed. Idempotent.
   */
  async stop (drainTimeoutMs?: number): Promise<void> {
    this.#stopping ??= (async () => {
      for (const timer of this.#restarts) clearTimeout(timer)
      this.#restarts.clear()
      const exits = [...this.#workers.keys()].map(async worker => {
        const exited = new Promise<void>(resolve => { worker.once('exit', () => { resolve() }) })
        if (worker.isConnected()) this.#workers.get(worker)?.peer.notify({ op: 'drain', drainTimeoutMs })
        else worker.process.kill('SIGTERM')
        const deadline = setTimeout(() => {
          this.#log.warn({ worker: worker.id, pid: worker.process.pid }, 'worker still running after its drain: killed')
          worker.process.kill('SIGKILL')
        }, (drainTimeoutMs ?? 30_000) + (this.#options.exitGraceMs ?? 15_000))
        await exited
        clearTimeout(deadline)
      })
      await Promise.all(exits)
      this.#records.close()
    })()
    await this.#stopping
  }

  #fork (): Worker {
    const env = { [WORKER_ENV]: '1' }
    const worker = this.#options.fork !== undefined ? this.#options.fork(env) : cluster.fork(env)
    const state: WorkerState = {
      startedAt: this.#clock.now(),
      peer: new IpcPeer({
        send: (message) => { worker.send(message, undefined, ignoreIpcSendError) },
        onRequest: async (body) => {
          if (body.op !== 'start-failed') return await this.#answer(body)
          state.startError = { message: String(body.message), code: typeof body.code === 'string' ? body.code : undefined }
          return null
        }
      })
    }
    this.#workers.set(worker, state)
    worker.on('message', (message) => { state.peer.receive(message) })
    worker.once('exit', (code, signal) => { this.#exited(worker, state, code, signal) })
    return worker
  }

  /** Resolves with the worker's address when it listens; rejects when it exits first. */
  async #listening (worker: Worker): Promise<ClusterAddress> {
    return await new Promise((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null): void => {
        const reported = startErrors.get(worker)
        const why = reported === undefined ? `exited with ${signal ?? `code ${String(code)}`} before listening` : `${reported.message}${reported.code === undefined ? '' : ` (${reported.code})`}`
        reject(new LLMRTC_ERR_CLUSTER_WORKER_START(`worker ${worker.id}: ${why}`))
      }
      worker.once('exit', onExit)
      worker.once('listening', (address) => {
        worker.off('exit', onExit)
        resolve({ host: address.address ?? '', port: address.port })
      })
    })
  }

  #exited (worker: Worker, state: WorkerState, code: number | null, signal: string | null): void {
    state.peer.close()
    if (state.startError !== undefined) startErrors.set(worker, state.startError)
    this.#workers.delete(worker)
    if (this.#stopping !== undefined || this.#address === undefined) return
    const uptimeMs = this.#clock.now() - state.startedAt
    const delayMs = this.#backoff.delayAfterCrash(uptimeMs)
    this.#log.warn({ worker: worker.id, pid: worker.process.pid, code, signal, uptimeMs, delayMs }, 'worker exited: its sessions are lost, a new worker replaces it')
    const timer = setTimeout(() => {
      this.#restarts.delete(timer)
      if (this.#stopping !== undefined) return
      const replacement = this.#fork()
      this.#listening(replacement).then(
        ({ port }) => { this.#log.info({ worker: replacement.id, pid: replacement.process.pid, port }, 'replacement worker listening') },
        (err: unknown) => { this.#log.error({ err }, 'replacement worker failed to start') }
      )
    }, delayMs)
    this.#restarts.add(timer)
  }

  async #answer (body: IpcBody): Promise<unknown> {
    switch (body.op) {
      case 'store-get': return this.#records.get(String(body.sessionId)) ?? null
      case 'store-set': return this.#records.set(body.record as SessionRecord, Number(body.ttlMs))
      case 'store-delete': this.#records.delete(String(body.sessionId)); return null
      case 'store-claim': return this.#records.claim(String(body.key), Number(body.ttlMs))
      case 'metrics': return await this.#machineMetrics()
      default: throw new Error(`unknown request ${body.op}`)
    }
  }

  /** Every worker's metrics summed; a worker that does not answer in time is left out of this scrape. */
  async #machineMetrics (): Promise<{ contentType: string, body: string }> {
    const peers = [...this.#workers].filter(([worker]) => worker.isConnected()).map(([, state]) => state.peer)
    const answers = await Promise.allSettled(peers.map(async peer => await peer.request({ op: 'metrics-snapshot' }, SNAPSHOT_TIMEOUT_MS)))
    const snapshots = answers.flatMap(a => a.status === 'fulfilled' ? [a.value] : [])
    return await aggregateMetrics(snapshots)
  }
}

/** What a worker reported when its `start()` failed, read once it has exited (and left the map). */
const startErrors = new WeakMap<Worker, { message: string, code?: string }>()
