import { LLMRTC_ERR_AUDIO_INVALID_FORMAT } from '../../errors.js'

/** The format a streamed WAV declared. */
export interface WavStreamFormat {
  sampleRateHz: number
  channels: number
}

/**
 * Reads a WAV file as it streams in (espeak-ng's `--stdout` writes a header whose sizes are unknown,
 * then PCM): `push` returns the s16le PCM that follows the header, cut on whole samples, and holds back
 * an odd trailing byte for the next chunk. Throws LLMRTC_ERR_AUDIO_INVALID_FORMAT for anything but
 * 16-bit PCM.
 */
export class WavStreamReader {
  #format: WavStreamFormat | undefined
  #pending: Buffer = Buffer.alloc(0)
  #inData = false

  /** Known once the header was read. */
  get format (): WavStreamFormat | undefined { return this.#format }

  push (chunk: Buffer): Buffer {
    let bytes = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    if (!this.#inData) {
      const start = this.#readHeader(bytes)
      if (start === undefined) {
        this.#pending = bytes
        return Buffer.alloc(0)
      }
      this.#inData = true
      bytes = bytes.subarray(start)
    }
    const usable = bytes.length - (bytes.length % 2)
    this.#pending = Buffer.from(bytes.subarray(usable))
    return bytes.subarray(0, usable)
  }

  /** The offset where PCM starts, or undefined while the header is incomplete. */
  #readHeader (bytes: Buffer): number | undefined {
    if (bytes.length < 12) return undefined
    if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
      throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('the synthesizer\'s output is not a RIFF/WAVE stream')
    }
    let offset = 12
    while (offset + 8 <= bytes.length) {
      const id = bytes.toString('ascii', offset, offset + 4)
      const size = bytes.readUInt32LE(offset + 4)
      const body = offset + 8
      if (id === 'data') {
        if (this.#format === undefined) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('data chunk before fmt chunk')
        return body
      }
      if (body + size > bytes.length) return undefined
      if (id === 'fmt ') this.#format = readFormat(bytes.subarray(body, body + size))
      offset = body + size + (size % 2)
    }
    return undefined
  }
}

function readFormat (fmt: Buffer): WavStreamFormat {
  if (fmt.length < 16) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('truncated fmt chunk')
  const audioFormat = fmt.readUInt16LE(0)
  const bits = fmt.readUInt16LE(14)
  if ((audioFormat !== 1 && audioFormat !== 0xFFFE) || bits !== 16) {
    throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`WAV must be 16-bit PCM (format ${audioFormat}, ${bits} bits)`)
  }
  return { sampleRateHz: fmt.readUInt32LE(4), channels: fmt.readUInt16LE(2) }
}
