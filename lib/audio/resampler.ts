import { LLMRTC_ERR_AUDIO_INVALID_FORMAT } from '../errors.js'
import { createSimdFir, type SimdFir } from './simd-fir.js'

/*
 * Why our own resampler and not @alexanderolsen/libsamplerate-js (measured on this machine, Node 20):
 * its streaming `full` API costs ~77 µs per 10 ms frame in SINC_FASTEST mode and ~174 µs in MEDIUM
 * (48 k → 16 k), needs an async WASM init per converter, takes Float32 in and out (two extra copies per
 * frame), and its output count per call varies while its filter fills. The rational polyphase FIR below
 * is synchronous, allocates nothing per call once warm, returns a fixed number of samples for the
 * integer ratios (160 per 480-sample frame), and costs ~10 µs per 10 ms frame 48 k → 16 k (docs/benchmarks.md).
 *
 * Design: a Kaiser-windowed sinc low-pass at L × the input rate, split into L polyphase branches of K
 * taps, for a conversion by L/M (L = out/gcd, M = in/gcd). The stopband starts at the lower rate's
 * Nyquist frequency (so nothing aliases or images into the band), the transition band is 20% of that
 * Nyquist (passband flat to 6.4 kHz for 16 kHz: what VAD and STT use), and the stopband is ≥ 55 dB down.
 * That takes 103 taps per output for 48 k → 16 k and 33 per output for 16/22.05/24 k → 48 k.
 * Conversions with up to 8 phases (48 k → 16 k for every microphone, 16/24 k → 48 k for speech) run in
 * WebAssembly SIMD where available (simd-fir.ts): ~4.5 times less CPU than the loops below, which remain
 * the fallback and serve 22.05 k → 48 k.
 */

const STOPBAND_DB = 55
const KAISER_BETA = 0.1102 * (STOPBAND_DB - 8.7)
/** Transition band width as a fraction of the lower rate's Nyquist frequency. */
const TRANSITION = 0.2

interface PolyphaseFilter {
  /** Interpolation factor L (number of phases). */
  up: number
  /** Decimation factor M. */
  down: number
  /** Taps per phase K, in input samples. */
  taps: number
  /**
   * L × K coefficients; phase p occupies [p·K, (p+1)·K), stored time-reversed for a forward dot product.
   * Float32 values held in a Float64Array: reading doubles is ~10% faster in V8's loops than widening floats.
   */
  coefficients: Float64Array
}

// Filters are read-only and shared by every stream with the same pair of rates.
const filters = new Map<string, PolyphaseFilter>()

/**
 * Streaming sample-rate converter for mono s16 PCM. State (filter history and fractional position) is
 * carried across calls, so a stream cut into 10 ms frames converts exactly as if it came in one piece.
 * Adds a fixed delay of `delayMs` (~1.5 ms for 48 k ↔ 16 k).
 */
export class Resampler {
  /** Input sample rate in Hz. */
  readonly inputRateHz: number
  /** Output sample rate in Hz. */
  readonly outputRateHz: number
  /** Group delay of the filter in milliseconds. */
  readonly delayMs: number
  readonly #filter: PolyphaseFilter
  /** One SIMD FIR per phase, where WebAssembly SIMD runs this conversion. */
  readonly #simd: SimdFir[] | undefined
  #history: Float64Array
  #filled = 0
  /** Position of the next output, in 1/L input samples from #history[0]. */
  #position = 0
  #output = new Int16Array(0)

  /** Whether this conversion runs in WebAssembly SIMD (else in the JavaScript loop). */
  get simd (): boolean {
    return this.#simd !== undefined
  }

  /** `simd: false` keeps the JavaScript loop where WebAssembly SIMD would run (to compare them). */
  constructor (inputRateHz: number, outputRateHz: number, { simd = true }: { simd?: boolean } = {}) {
    for (const rate of [inputRateHz, outputRateHz]) {
      if (!Number.isInteger(rate) || rate < 1000 || rate > 384_000) {
        throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`sample rate must be an integer from 1000 to 384000 Hz, got ${String(rate)}`)
      }
    }
    this.inputRateHz = inputRateHz
    this.outputRateHz = outputRateHz
    this.#filter = filterFor(inputRateHz, outputRateHz)
    this.#simd = simd ? simdFirsFor(this.#filter) : undefined
    this.delayMs = ((this.#filter.taps * this.#filter.up - 1) / 2) / (this.#filter.up * inputRateHz) * 1000
    this.#history = new Float64Array(this.#filter.taps + 1024)
    this.reset()
  }

  /** Forgets the stream: the next sample starts a new one (after zeros). */
  reset (): void {
    this.#history.fill(0)
    this.#filled = this.#filter.taps - 1
    this.#position = (this.#filter.taps - 1) * this.#filter.up
  }

  /**
   * Converts the next piece of the stream. Returns a view of an internal buffer that is overwritten by
   * the next call: copy it to keep it.
   */
  process (input: Int16Array): Int16Array {
    const { up, down, taps, coefficients } = this.#filter
    const needed = this.#filled + input.length
    if (needed > this.#history.length) {
      const grown = new Float64Array(needed * 2)
      grown.set(this.#history.subarray(0, this.#filled))
      this.#history = grown
    }
    const history = this.#history
    for (let i = 0; i < input.length; i++) history[this.#filled + i] = input[i] as number
    const filled = needed
    const maxOut = Math.ceil((filled * up - this.#position) / down) + 1
    if (maxOut > this.#output.length) this.#output = new Int16Array(maxOut * 2)
    const output = this.#output

    let position = this.#position
    let count = 0
    let base = Math.floor(position / up)
    if (this.#simd !== undefined) {
      // WebAssembly SIMD, four taps per instruction, one phase at a time: the outputs j, j + L, j + 2L…
      // share a phase, and their input moves by M samples from one to the next.
      count = Math.max(0, Math.ceil((filled * up - position) / down))
      for (let j = 0; j < up && j < count; j++) {
        const at = position + j * down
        const phaseBase = Math.floor(at / up)
        const phase = this.#simd[at - phaseBase * up] as SimdFir
        phase.run(history, phaseBase - taps + 1, Math.ceil((count - j) / up), output, j, up)
      }
      position += count * down
      base = Math.floor(position / up)
    } else if (up === 1) {
      // Decimation without SIMD: one phase, symmetric (linear phase) and of odd length, so the two
      // halves fold onto each other: half the multiplies of the plain dot product, the same result.
      const half = (taps - 1) / 2
      const center = coefficients[half] as number
      while (base < filled) {
        const start = base - taps + 1
        let acc = center * (history[start + half] as number)
        for (let k = 0, mirror = base; k < half; k++, mirror--) {
          acc += (coefficients[k] as number) * ((history[start + k] as number) + (history[mirror] as number))
        }
        output[count++] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc)
        base += down
      }
      position = base
    } else {
      while (base < filled) {
        const offset = (position - base * up) * taps
        const start = base - taps + 1
        let acc = 0
        for (let k = 0; k < taps; k++) acc += (coefficients[offset + k] as number) * (history[start + k] as number)
        output[count++] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc)
        position += down
        base = Math.floor(position / up)
      }
    }
    // Keep the K − 1 samples the next output still needs, and rebase the position on them.
    const drop = Math.min(Math.max(base - (taps - 1), 0), filled)
    history.copyWithin(0, drop, filled)
    this.#filled = filled - drop
    this.#position = position - drop * up
    return output.subarray(0, count)
  }
}

/**
 * Resamples a whole buffer in one call (fixtures, files; streams keep a `Resampler`). The filter delay
 * is removed, so the output is aligned with the input and lasts as long.
 */
export function resample (input: Int16Array, inputRateHz: number, outputRateHz: number): Int16Array {
  if (inputRateHz === outputRateHz) return input.slice()
  const resampler = new Resampler(inputRateHz, outputRateHz)
  const delay = Math.round(resampler.delayMs * outputRateHz / 1000)
  const length = Math.round(input.length * outputRateHz / inputRateHz)
  const output = new Int16Array(length)
  let written = -delay
  for (const piece of [input, new Int16Array(Math.ceil(2 * resampler.delayMs * inputRateHz / 1000) + 2)]) {
    const converted = resampler.process(piece)
    const from = Math.max(0, -written)
    output.set(converted.subarray(from, Math.max(from, Math.min(converted.length, length - written))), Math.max(0, written))
    written += converted.length
  }
  return output
}

function filterFor (inputRateHz: number, outputRateHz: number): PolyphaseFilter {
  const key = `${inputRateHz}:${outputRateHz}`
  let filter = filters.get(key)
  if (filter === undefined) {
    filter = designFilter(inputRateHz, outputRateHz)
    filters.set(key, filter)
  }
  return filter
}

// SIMD kernels per filter and phase (their coefficients stay in the WebAssembly memory). Conversions
// with many phases (22.05 k → 48 k: 320) have a few outputs per phase and frame: they keep the loop.
const MAX_SIMD_PHASES = 8
const simdFirs = new Map<PolyphaseFilter, SimdFir[] | undefined>()
function simdFirsFor (filter: PolyphaseFilter): SimdFir[] | undefined {
  if (filter.up > MAX_SIMD_PHASES) return undefined
  if (!simdFirs.has(filter)) {
    const phases: SimdFir[] = []
    for (let phase = 0; phase < filter.up; phase++) {
      const fir = createSimdFir(filter.coefficients.subarray(phase * filter.taps, (phase + 1) * filter.taps), filter.down)
      if (fir !== undefined) phases.push(fir)
    }
    simdFirs.set(filter, phases.length === filter.up ? phases : undefined)
  }
  return simdFirs.get(filter)
}

function designFilter (inputRateHz: number, outputRateHz: number): PolyphaseFilter {
  const divisor = gcd(inputRateHz, outputRateHz)
  const up = outputRateHz / divisor
  const down = inputRateHz / divisor
  const nyquistHz = Math.min(inputRateHz, outputRateHz) / 2
  const transitionHz = TRANSITION * nyquistHz
  const cutoffHz = nyquistHz - transitionHz / 2
  // Kaiser's estimate of the length for this attenuation and transition width, in input samples.
  let taps = Math.ceil((STOPBAND_DB - 8) * inputRateHz / (2.285 * 2 * Math.PI * transitionHz))
  // Where possible, make the delay a whole number of output samples (so resample() aligns exactly).
  if (up === 1) taps += (2 * down - ((taps - 1) % (2 * down))) % (2 * down)
  else if (down === 1 && up % 2 === 1 && taps % 2 === 0) taps++
  const length = taps * up
  const cutoff = cutoffHz / (inputRateHz * up)
  const center = (length - 1) / 2
  const prototype = new Float64Array(length)
  const i0Beta = besselI0(KAISER_BETA)
  let sum = 0
  for (let n = 0; n < length; n++) {
    const t = n - center
    const sinc = t === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * t) / (Math.PI * t)
    const r = t / center
    const window = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta
    prototype[n] = sinc * window
    sum += sinc * window
  }
  // Unity gain at DC for every output phase: the prototype sums to L.
  const coefficients = new Float64Array(length)
  for (let phase = 0; phase < up; phase++) {
    for (let k = 0; k < taps; k++) {
      coefficients[phase * taps + k] = Math.fround((prototype[phase + (taps - 1 - k) * up] as number) * up / sum)
    }
  }
  return { up, down, taps, coefficients }
}

function besselI0 (x: number): number {
  let term = 1
  let sum = 1
  for (let k = 1; k < 50 && term > sum * 1e-12; k++) {
    term *= (x / (2 * k)) ** 2
    sum += term
  }
  return sum
}

function gcd (a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}
