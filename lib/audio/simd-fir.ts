/*
 * An FIR in WebAssembly SIMD (four float32 lanes), for the resampler's hot paths: every WebRTC microphone
 * is converted 48 k → 16 k, 100 frames a second per session, and every answer 16/24 k → 48 k (one FIR
 * per polyphase branch). The JavaScript loop does one multiply-add per tap (~13-25 µs per 10 ms frame
 * 48 k → 16 k); this kernel does four per instruction (~4.5 µs with its copies in and out). No toolchain
 * builds it: the module is one small function, assembled below from its opcodes at load, and
 * WebAssembly.validate() decides whether it is used (it needs SIMD: Node ≥ 16.4).
 *
 *   fir(input, coefficients, groups, outputs, stride, output)   pointers and stride in bytes
 *     for o in 0 until outputs:
 *       acc0 = acc1 = f32x4(0); p = input + o·stride; c = coefficients
 *       repeat groups / 2 times:              (groups of 4 taps, padded to an even number with zeros)
 *         acc0 += load(p) · load(c); acc1 += load(p + 16) · load(c + 16); p += 32; c += 32
 *       output[o] = the sum of acc0 + acc1's four lanes                    (float32)
 *
 * Accumulating in float32 instead of float64 moves an output by at most one step of the int16 result,
 * rarely (the test compares the two).
 */

/** Computes `outputs` samples of an FIR over a float64 history, `stride` input samples apart; see `createSimdFir`. */
export interface SimdFir {
  /**
   * output[at + i·step] = round(Σₖ coefficients[k] · history[start + i·stride + k]), clamped to int16,
   * for i in [0, outputs). The caller guarantees that every index read is below `history.length`.
   */
  run: (history: Float64Array, start: number, outputs: number, output: Int16Array, at?: number, step?: number) => void
}

// ---- the module, assembled ----
const unsigned = (n: number): number[] => {
  const bytes: number[] = []
  do {
    const low = n & 0x7f
    n >>>= 7
    bytes.push(n === 0 ? low : low | 0x80)
  } while (n !== 0)
  return bytes
}
const signed = (n: number): number[] => {
  const bytes: number[] = []
  for (;;) {
    const low = n & 0x7f
    n >>= 7
    if ((n === 0 && (low & 0x40) === 0) || (n === -1 && (low & 0x40) !== 0)) return [...bytes, low]
    bytes.push(low | 0x80)
  }
}
const vector = (items: number[][]): number[] => [...unsigned(items.length), ...items.flat()]
const section = (id: number, body: number[]): number[] => [id, ...unsigned(body.length), ...body]
const utf8 = (text: string): number[] => vector([...Buffer.from(text)].map((byte) => [byte]))

const I32 = 0x7f
const V128 = 0x7b
const get = (local: number): number[] => [0x20, local]
const set = (local: number): number[] => [0x21, local]
const tee = (local: number): number[] => [0x22, local]
const i32 = (value: number): number[] => [0x41, ...signed(value)]
const simd = (op: number): number[] => [0xfd, ...unsigned(op)]
const load = (offset: number): number[] => [...simd(0x00), 0, offset] // v128.load, no alignment promised
const zero = [...simd(0x0c), ...new Array<number>(16).fill(0)] // v128.const 0
const F32X4_ADD = 0xe4
const F32X4_MUL = 0xe6
const laneSum = (local: number): number[] => [
  ...get(local), ...simd(0x1f), 0, ...get(local), ...simd(0x1f), 1, 0x92,
  ...get(local), ...simd(0x1f), 2, 0x92, ...get(local), ...simd(0x1f), 3, 0x92
]

// Parameters: 0 input, 1 coefficients, 2 groups, 3 outputs, 4 stride, 5 output.
// Locals: 6 o, 7 p, 8 c, 9 g (i32); 10 acc0, 11 acc1 (v128).
const body = [
  ...vector([[4, I32], [2, V128]]),
  0x02, 0x40, // block
  0x03, 0x40, // loop over outputs
  ...get(6), ...get(3), 0x4f, 0x0d, 1, // o >= outputs: break
  ...get(0), ...get(6), ...get(4), 0x6c, 0x6a, ...set(7), // p = input + o·stride
  ...get(1), ...set(8),
  ...i32(0), ...set(9),
  ...zero, ...set(10),
  ...zero, ...set(11),
  0x03, 0x40, // loop over pairs of groups
  ...get(10), ...get(7), ...load(0), ...get(8), ...load(0), ...simd(F32X4_MUL), ...simd(F32X4_ADD), ...set(10),
  ...get(11), ...get(7), ...load(16), ...get(8), ...load(16), ...simd(F32X4_MUL), ...simd(F32X4_ADD), ...set(11),
  ...get(7), ...i32(32), 0x6a, ...set(7),
  ...get(8), ...i32(32), 0x6a, ...set(8),
  ...get(9), ...i32(2), 0x6a, ...tee(9), ...get(2), 0x49, 0x0d, 0, // g < groups: again
  0x0b,
  ...get(5), ...get(6), ...i32(2), 0x74, 0x6a, // address of output[o]
  ...get(10), ...get(11), ...simd(F32X4_ADD), ...set(10),
  ...laneSum(10),
  0x38, 2, 0, // f32.store
  ...get(6), ...i32(1), 0x6a, ...set(6),
  0x0c, 0, // next output
  0x0b, 0x0b, 0x0b
]

const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  ...section(1, vector([[0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [I32]]), 0]])), // type
  ...section(3, vector([[0]])), // function
  ...section(5, vector([[0x00, 1]])), // memory: 1 page, growable
  ...section(7, vector([[...utf8('fir'), 0x00, 0], [...utf8('memory'), 0x02, 0]])), // exports
  ...section(10, vector([[...unsigned(body.length), ...body]])) // code
])

// ---- one instance per process: coefficients stay resident, the rest of the memory is scratch ----
type Fir = (input: number, coefficients: number, groups: number, outputs: number, stride: number, output: number) => void
interface Memory { readonly buffer: ArrayBuffer, grow: (pages: number) => number }
/** The part of the WebAssembly global this file uses (tsconfig has no DOM library to declare it). */
interface WebAssemblyApi {
  validate: (bytes: Uint8Array) => boolean
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: { fir: Fir, memory: Memory } }
}
interface Kernel { fir: Fir, memory: Memory, floats: Float32Array, scratch: number }
let kernel: Kernel | null | undefined

function loadKernel (): Kernel | null {
  if (kernel !== undefined) return kernel
  kernel = null
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly
  if (wasm === undefined || !wasm.validate(MODULE)) return kernel
  const { fir, memory } = new wasm.Instance(new wasm.Module(MODULE)).exports
  kernel = { fir, memory, floats: new Float32Array(memory.buffer), scratch: 0 }
  return kernel
}

/** Outputs per call into the kernel: bounds its scratch memory whatever the length of the input. */
const BLOCK = 1024

/**
 * A SIMD FIR for `coefficients` (read forward: coefficients[k] weighs history[start + k]) that moves
 * `stride` input samples per output, or undefined where WebAssembly SIMD is not available.
 */
export function createSimdFir (coefficients: Float64Array, stride: number): SimdFir | undefined {
  const k = loadKernel()
  if (k === null) return undefined
  const groups = Math.ceil(coefficients.length / 8) * 2
  const padded = groups * 4
  // Coefficients sit below the scratch, 16-byte aligned; filters are few and live as long as the process.
  const coefficientsAt = k.scratch
  k.scratch += padded * 4
  const inputFloats = padded + BLOCK * stride
  ensureBytes(k, k.scratch + (inputFloats + BLOCK) * 4)
  k.floats.fill(0, coefficientsAt / 4, coefficientsAt / 4 + padded)
  for (let i = 0; i < coefficients.length; i++) k.floats[coefficientsAt / 4 + i] = coefficients[i] as number

  return {
    run (history, start, outputs, output, at = 0, step = 1) {
      const inputAt = k.scratch
      const outputAt = inputAt + (inputFloats * 4)
      ensureBytes(k, outputAt + BLOCK * 4)
      const floats = k.floats
      for (let done = 0; done < outputs; done += BLOCK) {
        const count = Math.min(BLOCK, outputs - done)
        const from = start + done * stride
        // Every tap the block reads; the padding taps beyond the filter weigh zero, so read what exists.
        // Copied by index, not through a subarray view: no allocation per frame.
        const to = Math.min(from + (count - 1) * stride + padded, history.length)
        for (let i = from, f = inputAt / 4; i < to; i++, f++) floats[f] = history[i] as number
        k.fir(inputAt, coefficientsAt, groups, count, stride * 4, outputAt)
        for (let i = 0, o = at + done * step; i < count; i++, o += step) {
          const acc = floats[outputAt / 4 + i] as number
          output[o] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc)
        }
      }
    }
  }
}

function ensureBytes (k: Kernel, bytes: number): void {
  const missing = bytes - k.memory.buffer.byteLength
  if (missing <= 0) return
  k.memory.grow(Math.ceil(missing / 65536))
  k.floats = new Float32Array(k.memory.buffer)
}
