import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InferenceSession, Tensor } from 'onnxruntime-node'
import { monotonicClock } from '../clock.js'
import { LLMRTC_ERR_VAD } from '../errors.js'
import { publishVadBatch } from '../observability/channels.js'

/** Samples of new audio per Silero window at 16 kHz (32 ms). */
export const SILERO_WINDOW_SAMPLES = 512
/** Samples of the previous window prepended to each input, as Silero's reference wrapper does. */
const CONTEXT_SAMPLES = 64
const ROW = CONTEXT_SAMPLES + SILERO_WINDOW_SAMPLES
const STATE_SIZE = 128
/**
 * Most windows per run. A run blocks the event loop (~60-80 µs per window here when batched), so a
 * cap keeps each block to a few ms and lets I/O and pacing timers run between batches.
 */
const MAX_BATCH = 32
/**
 * Longest a window waits for other streams' windows before its run starts. Streams deliver 10 ms frames
 * at unrelated phases, so their windows complete at different times: without a wait, 10 live streams
 * ran in batches of ~2.5 windows (~90 µs per window); waiting up to one frame period gives batches of
 * ~9 (~45 µs). A window never waits when the queue already holds one window per live stream (a lone
 * stream never waits).
 */
export const BATCH_WAIT_MS = 10
/** A stream that submitted a window this recently is live (a stream submits one every 30-40 ms). */
const LIVE_MS = 48

/** Per-stream recurrent state of the model. Create with `SileroVad.createState()`; one per stream. */
export interface SileroVadState {
  /** [context (64) | window (512)], float in [-1, 1). */
  readonly row: Float32Array
  /** The model's [2, 128] recurrent state for this stream. */
  readonly state: Float32Array
  pending: boolean
  /** When this stream last submitted a window (monotonic ms), and whether the model counts it as live. */
  submittedAt: number
  live: boolean
}

interface Request {
  vad: SileroVadState
  resolve: (probability: number) => void
  reject: (error: Error) => void
}

/** Where the model is when it ships with the package: `models/` beside the package.json above this file. */
export function defaultSileroModelPath (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new LLMRTC_ERR_VAD('cannot find the package root (package.json) above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
  return join(dir, 'models', 'silero_vad_v5.onnx')
}

/**
 * Silero VAD v5 on onnxruntime-node. One InferenceSession per model file per process, shared by every
 * stream: each `SileroVad.acquire()` returns a handle on it, and closing the last handle releases it.
 * Windows of different streams run together as one batch (input [N, 576]): a batch of 10 costs ~3× less
 * per window than 10 single runs (docs/benchmarks.md). A run starts once the queue holds a window of every
 * live stream, or BATCH_WAIT_MS after its first window was queued, whichever comes first.
 *
 * The session runs with one thread and no inter-op pool: onnxruntime's default pools busy-wait between
 * runs, which costs most of a core per idle session. Each run is synchronous on the main thread
 * (~0.2 ms for one window, ~2.5 ms for a full batch of 32 on the bench machine), deferred by
 * onnxruntime with setImmediate.
 */
export class SileroVad {
  readonly #model: SharedModel
  #closed = false

  private constructor (model: SharedModel) {
    this.#model = model
  }

  /**
   * A handle on the process's model for `modelPath` (default: the bundled v5), loaded on first use.
   * Pair it with `close()`. Throws LLMRTC_ERR_VAD if the model cannot be loaded.
   */
  static async acquire (modelPath = defaultSileroModelPath()): Promise<SileroVad> {
    const model = await SharedModel.acquire(modelPath)
    return new SileroVad(model)
  }

  /** Path of the ONNX file in use. */
  get modelPath (): string {
    return this.#model.modelPath
  }

  /** Inference runs and windows scored by the shared model since it was loaded (windows / runs = mean batch). */
  get stats (): { runs: number, windows: number } {
    return { runs: this.#model.runs, windows: this.#model.windows }
  }

  /** A fresh state for a new stream. */
  createState (): SileroVadState {
    return { row: new Float32Array(ROW), state: new Float32Array(2 * STATE_SIZE), pending: false, submittedAt: 0, live: false }
  }

  /**
   * Speech probability (0-1) of the next 512 samples of a 16 kHz stream. `window` is copied before this
   * returns. A stream must await each window before submitting the next (its state carries over).
   */
  async detect (vad: SileroVadState, window: Int16Array): Promise<number> {
    if (this.#closed) throw new LLMRTC_ERR_VAD('the model handle is closed')
    if (window.length !== SILERO_WINDOW_SAMPLES) throw new LLMRTC_ERR_VAD(`a window must hold ${SILERO_WINDOW_SAMPLES} samples, got ${window.length}`)
    if (vad.pending) throw new LLMRTC_ERR_VAD('a stream submitted a window before the previous one finished')
    vad.pending = true
    const row = vad.row
    row.copyWithin(0, SILERO_WINDOW_SAMPLES)
    for (let i = 0; i < SILERO_WINDOW_SAMPLES; i++) row[CONTEXT_SAMPLES + i] = (window[i] as number) / 32768
    return await this.#model.enqueue(vad)
  }

  /** Releases this handle (idempotent); the last handle's close releases the session. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#model.release()
  }
}

/** The session, its batch queue and its reference count. */
class SharedModel {
  static readonly #byPath = new Map<string, Promise<SharedModel>>()
  readonly modelPath: string
  runs = 0
  windows = 0
  readonly #session: InferenceSession
  readonly #sampleRate = new Tensor('int64', BigInt64Array.from([16000n]), [])
  #refs = 0
  #queue: Request[] = []
  #running: Promise<void> | undefined
  #scheduled = false
  #waitTimer: NodeJS.Timeout | undefined
  /** When the oldest queued window was queued. */
  #queuedAt = 0
  /** Streams that submitted a window in the last LIVE_MS. */
  readonly #live: SileroVadState[] = []
  #input = new Float32Array(0)
  #state = new Float32Array(0)

  private constructor (modelPath: string, session: InferenceSession) {
    this.modelPath = modelPath
    this.#session = session
  }

  static async acquire (modelPath: string): Promise<SharedModel> {
    let loading = SharedModel.#byPath.get(modelPath)
    if (loading === undefined) {
      loading = InferenceSession.create(modelPath, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all'
      }).then(session => new SharedModel(modelPath, session), (cause: unknown) => {
        SharedModel.#byPath.delete(modelPath)
        throw new LLMRTC_ERR_VAD(`cannot load the model ${modelPath}`, { cause })
      })
      SharedModel.#byPath.set(modelPath, loading)
    }
    const model = await loading
    model.#refs++
    return model
  }

  async enqueue (vad: SileroVadState): Promise<number> {
    const now = monotonicClock.now()
    vad.submittedAt = now
    if (!vad.live) {
      vad.live = true
      this.#live.push(vad)
    }
    if (this.#queue.length === 0) this.#queuedAt = now
    return await new Promise<number>((resolve, reject) => {
      this.#queue.push({ vad, resolve, reject })
      this.#schedule(now)
    })
  }

  async release (): Promise<void> {
    if (--this.#refs > 0) return
    SharedModel.#byPath.delete(this.modelPath)
    await this.#running
    clearTimeout(this.#waitTimer)
    this.#waitTimer = undefined
    for (const request of this.#queue.splice(0)) request.reject(new LLMRTC_ERR_VAD('the model was closed'))
    await this.#session.release()
  }

  #schedule (now: number): void {
    if (this.#scheduled || this.#running !== undefined) return
    const waited = now - this.#queuedAt
    if (waited < BATCH_WAIT_MS && this.#queue.length < Math.min(this.#liveStreams(now), MAX_BATCH)) {
      // Not a window of every live stream yet: the rest follow within a frame period.
      if (this.#waitTimer === undefined) this.#waitTimer = setTimeout(this.#waitOver, BATCH_WAIT_MS - waited)
      return
    }
    clearTimeout(this.#waitTimer)
    this.#waitTimer = undefined
    this.#startSoon()
  }

  /** One turn of the event loop later, so that windows pushed by other streams in this turn join. */
  #startSoon (): void {
    this.#scheduled = true
    setImmediate(this.#start)
  }

  // Bound once: a timer and an immediate per run, no closure per run.
  readonly #waitOver = (): void => {
    this.#waitTimer = undefined
    // The wait is over: run, without asking the clock again. Recomputing it as (queuedAt + BATCH_WAIT_MS) -
    // queuedAt can give a hair under BATCH_WAIT_MS where the sum crosses a power of two (2^17 ms, ...),
    // and another live stream that sent nothing more then kept the window waiting forever.
    if (!this.#scheduled && this.#running === undefined && this.#queue.length > 0) this.#startSoon()
  }

  readonly #start = (): void => {
    this.#scheduled = false
    this.#running = this.#runBatch().finally(() => {
      this.#running = undefined
      if (this.#queue.length > 0) this.#schedule(monotonicClock.now())
    })
  }

  /** Counts the live streams, forgetting those that stopped submitting. */
  #liveStreams (now: number): number {
    const live = this.#live
    let kept = 0
    for (let i = 0; i < live.length; i++) {
      const vad = live[i] as SileroVadState
      if (now - vad.submittedAt <= LIVE_MS) live[kept++] = vad
      else vad.live = false
    }
    live.length = kept
    return kept
  }

  async #runBatch (): Promise<void> {
    const batch = this.#queue.splice(0, MAX_BATCH)
    const n = batch.length
    if (n === 0) return
    if (this.#input.length < n * ROW) {
      this.#input = new Float32Array(n * ROW * 2)
      this.#state = new Float32Array(n * 2 * STATE_SIZE * 2)
    }
    const input = this.#input.subarray(0, n * ROW)
    const state = this.#state.subarray(0, n * 2 * STATE_SIZE)
    // State is [2, N, 128]: layer-major, then stream.
    for (let i = 0; i < n; i++) {
      const vad = (batch[i] as Request).vad
      input.set(vad.row, i * ROW)
      state.set(vad.state.subarray(0, STATE_SIZE), i * STATE_SIZE)
      state.set(vad.state.subarray(STATE_SIZE), (n + i) * STATE_SIZE)
    }
    // The model is shared by every app in the process, so no app's injected clock applies: the batch's
    // real compute time, for diagnostics, on the monotonic system clock.
    const started = monotonicClock.now()
    try {
      const result = await this.#session.run({
        input: new Tensor('float32', input, [n, ROW]),
        state: new Tensor('float32', state, [2, n, STATE_SIZE]),
        sr: this.#sampleRate
      })
      this.runs++
      this.windows += n
      publishVadBatch(monotonicClock.now() - started, n)
      const output = result.output?.data as Float32Array
      const stateN = result.stateN?.data as Float32Array
      for (let i = 0; i < n; i++) {
        const request = batch[i] as Request
        request.vad.state.set(stateN.subarray(i * STATE_SIZE, (i + 1) * STATE_SIZE), 0)
        request.vad.state.set(stateN.subarray((n + i) * STATE_SIZE, (n + i + 1) * STATE_SIZE), STATE_SIZE)
        request.vad.pending = false
        request.resolve(output[i] as number)
      }
    } catch (cause) {
      for (const request of batch) {
        request.vad.pending = false
        request.reject(new LLMRTC_ERR_VAD('inference failed', { cause }))
      }
    }
  }
}
