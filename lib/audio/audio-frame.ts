/**
 * A block of PCM audio. Samples are interleaved s16; `samples` may be a view (subarray) into a larger
 * buffer, so consumers must not keep it past the call unless they copy it.
 */
export interface AudioFrame {
  samples: Int16Array
  sampleRateHz: number
  channels: number
  samplesPerChannel: number
}
