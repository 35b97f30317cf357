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
