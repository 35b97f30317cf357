import alawmulaw from 'alawmulaw'

// A CommonJS bundle: Node's ESM loader gives only its default export (named imports fail at run time).
const { alaw, mulaw } = alawmulaw

/** The G.711 companding laws carriers stream: μ-law (North America, Japan) and A-law (elsewhere). */
export type G711Law = 'mulaw' | 'alaw'

/** G.711 bytes (8 kHz, one byte per sample) to PCM s16. */
export function decodeG711 (law: G711Law, bytes: Uint8Array): Int16Array {
  return law === 'mulaw' ? mulaw.decode(bytes) : alaw.decode(bytes)
}

/** PCM s16 to G.711 bytes. */
export function encodeG711 (law: G711Law, pcm: Int16Array): Uint8Array {
  return law === 'mulaw' ? mulaw.encode(pcm) : alaw.encode(pcm)
}

/** Per-sample G.711 for `law`, for loops that fill buffers of their own (no array per call). */
export interface G711SampleCodec {
  /** One s16 sample to its G.711 byte. */
  encode: (sample: number) => number
  /** One G.711 byte to its s16 sample. */
  decode: (byte: number) => number
}

/** The per-sample codec of `law`. */
export function g711SampleCodec (law: G711Law): G711SampleCodec {
  const codec = law === 'mulaw' ? mulaw : alaw
  // alawmulaw's μ-law encodeSample returns the complemented int (negative): the byte is its low 8 bits.
  return { encode: (sample) => codec.encodeSample(sample) & 0xff, decode: codec.decodeSample }
}
