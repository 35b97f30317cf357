import { LLMRTC_ERR_AUDIO_INVALID_FORMAT } from '../errors.js'

/** A decoded PCM WAV: interleaved s16le samples. */
export interface DecodedWav {
  sampleRateHz: number
  channels: number
  samples: Int16Array
}

const HEADER_BYTES = 44

/** Wraps s16le mono (or interleaved) PCM into a canonical 44-byte-header WAV file. */
export function encodeWav (pcm: Int16Array | Buffer, sampleRateHz: number, channels = 1): Buffer {
  const data = Buffer.isBuffer(pcm) ? pcm : Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)
  const header = Buffer.alloc(HEADER_BYTES)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(channels, 22)
  header.writeUInt32LE(sampleRateHz, 24)
  header.writeUInt32LE(sampleRateHz * channels * 2, 28)
  header.writeUInt16LE(channels * 2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

export function isWav (buffer: Buffer): boolean {
  return buffer.length >= 12 && buffer.toString('ascii', 0, 4) === 'RIFF' && buffer.toString('ascii', 8, 12) === 'WAVE'
}

/**
 * Decodes a 16-bit PCM WAV by walking its chunks (files from other tools carry LIST/fact chunks, and
 * streamed WAVs may declare a data size of 0 or 0xFFFFFFFF). Throws LLMRTC_ERR_AUDIO_INVALID_FORMAT.
 */
export function decodeWav (buffer: Buffer): DecodedWav {
  if (!isWav(buffer)) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('not a RIFF/WAVE file')
  let offset = 12
  let format: { channels: number, sampleRateHz: number, bitsPerSample: number, audioFormat: number } | undefined
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('ascii', offset, offset + 4)
    const size = buffer.readUInt32LE(offset + 4)
    const body = offset + 8
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buffer.length) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('truncated fmt chunk')
      format = {
        audioFormat: buffer.readUInt16LE(body),
        channels: buffer.readUInt16LE(body + 2),
        sampleRateHz: buffer.readUInt32LE(body + 4),
        bitsPerSample: buffer.readUInt16LE(body + 14)
      }
    } else if (id === 'data') {
      if (format === undefined) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('data chunk before fmt chunk')
      // WAVE_FORMAT_EXTENSIBLE (0xFFFE) carries PCM too.
      if ((format.audioFormat !== 1 && format.audioFormat !== 0xFFFE) || format.bitsPerSample !== 16) {
        throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`WAV must be 16-bit PCM (format ${format.audioFormat}, ${format.bitsPerSample} bits)`)
      }
      if (format.channels < 1 || format.sampleRateHz < 1) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('WAV declares no channels or no sample rate')
      const available = buffer.length - body
      const length = size === 0 || size > available ? available : size
      const usable = length - (length % (2 * format.channels))
      const copy = Buffer.from(buffer.subarray(body, body + usable))
      return {
        sampleRateHz: format.sampleRateHz,
        channels: format.channels,
        samples: new Int16Array(copy.buffer, copy.byteOffset, usable / 2)
      }
    }
    offset = body + size + (size % 2)
  }
  throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('WAV has no data chunk')
}

/** Duration in milliseconds of a decoded WAV. */
export function wavDurationMs (wav: DecodedWav): number {
  return (wav.samples.length / wav.channels / wav.sampleRateHz) * 1000
}
