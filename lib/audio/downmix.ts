/**
 * Mixes interleaved s16 PCM down to mono by averaging the channels of each sample frame. Mono input is
 * returned as is. Otherwise the result is written into `out` (which must hold samples.length / channels
 * samples) and a view of it is returned, so a stream can reuse one buffer for every frame.
 */
export function downmix (samples: Int16Array, channels: number, out: Int16Array): Int16Array {
  if (channels === 1) return samples
  const frames = Math.floor(samples.length / channels)
  if (channels === 2) {
    for (let i = 0, j = 0; i < frames; i++, j += 2) {
      out[i] = ((samples[j] as number) + (samples[j + 1] as number)) >> 1
    }
  } else {
    for (let i = 0, j = 0; i < frames; i++, j += channels) {
      let sum = 0
      for (let c = 0; c < channels; c++) sum += samples[j + c] as number
      out[i] = Math.round(sum / channels)
    }
  }
  return out.subarray(0, frames)
}
