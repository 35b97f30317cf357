import type { AudioFrame } from './audio-frame.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT, LLMRTC_ERR_AUDIO_PROCESSING } from '../errors.js'
import { Resampler } from './resampler.js'

/** RNNoise's rate and frame: 10 ms at 48 kHz. */
export const RNNOISE_SAMPLE_RATE_HZ = 48_000
export const RNNOISE_FRAME_SAMPLES = 480
/**
 * RNNoise's algorithmic delay, in ms: it analyses a 20 ms window (the previous frame and this one) and
 * overlap-adds its output, so each output frame is the input one frame (10 ms) earlier. Measured in
 * bench/noise-suppression.ts by cross-correlating input and output.
 */
export const RNNOISE_DELAY_MS = 10

/** The part of the Emscripten module of @echogarden/rnnoise-wasm (xiph/rnnoise, BSD-3-Clause) we use. */
interface RnnoiseWasmModule {
  /** Re-read per frame: a grown heap replaces the view. */
  readonly HEAPF32: Float32Array
  _malloc: (bytes: number) => number
  _free: (pointer: number) => void
  _rnnoise_create: (model: number) => number
  _rnnoise_destroy: (state: number) => void
  _rnnoise_get_frame_size: () => number
  /** Denoises 480 float samples (s16 range) from `input` into `output`; returns the frame's voice probability. */
  _rnnoise_process_frame: (state: number, output: number, input: number) => number
}

/** The process's one RNNoise WebAssembly instance (weights included), shared by every stream. */
export class Rnnoise {
  readonly #module: RnnoiseWasmModule
  #live = 0

  /** @internal Use `loadRnnoise()`. */
  constructor (module: RnnoiseWasmModule) {
    this.#module = module
  }

  /** @internal */
  get module (): RnnoiseWasmModule {
    return this.#module
  }

  /** Denoise states created and not yet destroyed (one per open NoiseSuppressor). */
  get liveStates (): number {
    return this.#live
  }

  /** @internal */
  countState (delta: 1 | -1): void {
    this.#live += delta
  }
}

let shared: Promise<Rnnoise> | undefined

/**
 * Loads the RNNoise WebAssembly module once per process (~125 KB, a few ms) and returns it; later calls
 * return the same instance. Throws LLMRTC_ERR_AUDIO_PROCESSING if it cannot load.
 */
export async function loadRnnoise (): Promise<Rnnoise> {
  shared ??= (async () => {
    try {
      const { default: create } = await import('@echogarden/rnnoise-wasm' as string) as { default: () => Promise<RnnoiseWasmModule> }
      const module = await create()
      if (module._rnnoise_get_frame_size() !== RNNOISE_FRAME_SAMPLES) throw new Error(`frame size ${module._rnnoise_get_frame_size()}, expected ${RNNOISE_FRAME_SAMPLES}`)
      return new Rnnoise(module)
    } catch (error) {
      shared = undefined
      throw new LLMRTC_ERR_AUDIO_PROCESSING(`the RNNoise module (@echogarden/rnnoise-wasm) did not load: ${(error as Error).message}`, { cause: error })
    }
  })()
  return await shared
}

/** Options of one NoiseSuppressor. */
export interface NoiseSuppressorOptions {
  /**
   * Denoise audio that arrives below 48 kHz (8 kHz phone calls, 16 kHz devices) by upsampling it to
   * 48 kHz first (default false: such audio passes through as it is).
   */
  upsample?: boolean
}

/**
 * RNNoise for one audio stream: 48 kHz mono frames of 480 samples in, denoised frames out, with its own
 * recurrent state. Other frames are downmixed, upsampled to 48 kHz (with `upsample: true`; else passed
 * through as they are) and cut into 480-sample frames. Its heap buffers are allocated once; a 10 ms
 * frame costs two copies and one `rnnoise_process_frame` call, and allocates nothing (48 kHz mono).
 * `destroy()` frees the state and buffers: call it when the stream ends.
 */
export class NoiseSuppressor {
  readonly #rnnoise: Rnnoise
  readonly #upsample: boolean
  #state: number
  readonly #input: number
  readonly #output: number
  /** Samples waiting for a full frame (unaligned or resampled input). */
  readonly #pending = new Int16Array(RNNOISE_FRAME_SAMPLES)
  #pendingLength = 0
  readonly #denoised = new Int16Array(RNNOISE_FRAME_SAMPLES)
  /** One frame object, refilled per frame: listeners must not keep it (see AudioFrame). */
  readonly #frame: AudioFrame = { samples: this.#denoised, sampleRateHz: RNNOISE_SAMPLE_RATE_HZ, channels: 1, samplesPerChannel: RNNOISE_FRAME_SAMPLES }
  #mono = new Int16Array(0)
  #upsampler: Resampler | undefined
  #frames = 0
  #voiceProbability = 0

  constructor (rnnoise: Rnnoise, options: NoiseSuppressorOptions = {}) {
    this.#rnnoise = rnnoise
    this.#upsample = options.upsample ?? false
    const module = rnnoise.module
    this.#state = module._rnnoise_create(0)
    this.#input = module._malloc(RNNOISE_FRAME_SAMPLES * 4)
    this.#output = module._malloc(RNNOISE_FRAME_SAMPLES * 4)
    if (this.#state === 0 || this.#input === 0 || this.#output === 0) {
      this.#free()
      throw new LLMRTC_ERR_AUDIO_PROCESSING('RNNoise could not allocate a denoise state')
    }
    rnnoise.countState(1)
  }

  /** Frames denoised so far (10 ms each). */
  get frames (): number {
    return this.#frames
  }

  /** RNNoise's voice probability for the last frame denoised, from 0 to 1. */
  get voiceProbability (): number {
    return this.#voiceProbability
  }

  /** False once destroyed. */
  get active (): boolean {
    return this.#state !== 0
  }

  /**
   * Denoises `frame` (s16, any rate, mono or interleaved) and calls `emit` synchronously with each
   * denoised 10 ms 48 kHz mono frame it completes: none, one or several. The emitted frame is reused.
   * Audio below 48 kHz without `upsample` is passed to `emit` as it is. After `destroy()`, nothing
   * is emitted. Throws LLMRTC_ERR_AUDIO_INVALID_FORMAT for a frame whose sample count does not match its channels.
   */
  process (frame: AudioFrame, emit: (frame: AudioFrame) => void): void {
    if (this.#state === 0) return
    const { samples, channels, sampleRateHz, samplesPerChannel } = frame
    if (!(channels >= 1) || samples.length !== channels * samplesPerChannel) {
      throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`a frame of ${samples.length} samples cannot hold ${samplesPerChannel} × ${channels} channels`)
    }
    if (sampleRateHz !== RNNOISE_SAMPLE_RATE_HZ && !this.#upsample) {
      emit(frame)
      return
    }
    // The usual case (WebRTC's sink): one aligned mono frame, denoised in place of a copy.
    if (channels === 1 && sampleRateHz === RNNOISE_SAMPLE_RATE_HZ && samplesPerChannel === RNNOISE_FRAME_SAMPLES && this.#pendingLength === 0) {
      this.#denoise(samples)
      emit(this.#frame)
      return
    }
    let mono = samples
    if (channels > 1) {
      if (this.#mono.length < samplesPerChannel) this.#mono = new Int16Array(samplesPerChannel)
      mono = this.#mono
      for (let i = 0, j = 0; i < samplesPerChannel; i++, j += channels) {
        let sum = 0
        for (let c = 0; c < channels; c++) sum += samples[j + c] as number
        mono[i] = Math.round(sum / channels)
      }
    }
    let length = samplesPerChannel
    if (sampleRateHz !== RNNOISE_SAMPLE_RATE_HZ) {
      if (this.#upsampler?.inputRateHz !== sampleRateHz) this.#upsampler = new Resampler(sampleRateHz, RNNOISE_SAMPLE_RATE_HZ)
      mono = this.#upsampler.process(length === mono.length ? mono : mono.subarray(0, length))
      length = mono.length
    }
    const pending = this.#pending
    for (let i = 0; i < length; i++) {
      pending[this.#pendingLength++] = mono[i] as number
      if (this.#pendingLength === RNNOISE_FRAME_SAMPLES) {
        this.#pendingLength = 0
        this.#denoise(pending)
        emit(this.#frame)
        if (this.#state === 0) return
      }
    }
  }

  /** Frees the denoise state and its buffers. Idempotent; `process` does nothing afterwards. */
  destroy (): void {
    if (this.#state === 0) return
    this.#free()
    this.#rnnoise.countState(-1)
  }

  #free (): void {
    const module = this.#rnnoise.module
    if (this.#state !== 0) module._rnnoise_destroy(this.#state)
    if (this.#input !== 0) module._free(this.#input)
    if (this.#output !== 0) module._free(this.#output)
    this.#state = 0
  }

  /** Denoises 480 samples into #denoised. */
  #denoise (samples: Int16Array): void {
    const module = this.#rnnoise.module
    const heap = module.HEAPF32
    const input = this.#input >> 2
    for (let i = 0; i < RNNOISE_FRAME_SAMPLES; i++) heap[input + i] = samples[i] as number
    this.#voiceProbability = module._rnnoise_process_frame(this.#state, this.#output, this.#input)
    const out = module.HEAPF32
    const output = this.#output >> 2
    const denoised = this.#denoised
    for (let i = 0; i < RNNOISE_FRAME_SAMPLES; i++) {
      const v = out[output + i] as number
      denoised[i] = v >= 32767 ? 32767 : v <= -32768 ? -32768 : Math.round(v)
    }
    this.#frames++
  }
}
