import { Decoder, Encoder } from '@evan/opus'
import { decodeG711, encodeG711 } from '../telephony/g711.js'

/** The codecs a device may choose in its `start` message. */
export type DeviceCodecName = 'opus' | 'pcm16' | 'mulaw'

/** The sample rates each codec takes (the first is the default). */
export const DEVICE_CODEC_RATES: Record<DeviceCodecName, readonly number[]> = {
  opus: [48000, 24000, 16000],
  pcm16: [16000, 24000],
  mulaw: [8000]
}

/** Length of one outbound binary frame, in ms (one Opus packet; the same size for the other codecs). */
export const DEVICE_FRAME_MS = 20

/**
 * One device connection's audio codec: binary WebSocket frames ⇄ PCM s16le mono at `sampleRateHz`.
 * Opus is framed (one packet per binary frame, 20 ms); pcm16 and μ-law are a plain byte stream, so a
 * binary frame may hold any whole number of samples.
 */
export interface DeviceCodec {
  readonly name: DeviceCodecName
  readonly sampleRateHz: number
  /** One binary frame from the device → its samples. Throws on a malformed payload. */
  decode: (payload: Uint8Array) => Int16Array
  /** 20 ms of samples → one binary frame for the device. */
  encode: (pcm: Int16Array) => Uint8Array
}

/** Copies bytes of s16le into a fresh, aligned Int16Array (a Buffer's offset may be odd). */
function bytesToPcm (bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length >> 1)
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 2))
  return out
}

function pcmToBytes (pcm: Int16Array): Uint8Array {
  return new Uint8Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength))
}

/** The codec for a device's choice; the rate must be one DEVICE_CODEC_RATES lists (checked by the caller). */
export function createDeviceCodec (name: DeviceCodecName, sampleRateHz: number): DeviceCodec {
  switch (name) {
    case 'opus': {
      const rate = sampleRateHz as 16000 | 24000 | 48000
      const encoder = new Encoder({ channels: 1, sample_rate: rate, application: 'voip' })
      const decoder = new Decoder({ channels: 1, sample_rate: rate })
      return { name, sampleRateHz, decode: (payload) => bytesToPcm(decoder.decode(payload)), encode: (pcm) => encoder.encode(pcm) }
    }
    case 'pcm16':
      return {
        name,
        sampleRateHz,
        decode: (payload) => {
          if (payload.length % 2 !== 0) throw new RangeError('pcm16 frames hold whole 16-bit samples')
          return bytesToPcm(payload)
        },
        encode: pcmToBytes
      }
    case 'mulaw':
      return { name, sampleRateHz, decode: (payload) => decodeG711('mulaw', payload), encode: (pcm) => encodeG711('mulaw', pcm) }
  }
}
