/**
 * TODO(resampler): temporary. Replace with lib/audio/resampler.ts once it lands: PacedAudioOutput takes
 * a converter factory (`createConverter`), so only its default in paced-audio-output.ts changes, e.g.
 * `(fromHz, toHz) => new Resampler(fromHz, toHz)` (its `process()` returns a reused view, which the
 * output copies). Then delete this file.
 *
 * Linear interpolation, stateless per call: good enough to upsample speech (24 kHz TTS → 48 kHz) in
 * tests; it aliases when downsampling, so it must not stay in the audio path.
 */
export function upsampleLinear (input: Int16Array, fromHz: number, toHz: number): Int16Array {
  if (fromHz === toHz) return input.slice()
  const outputLength = Math.round(input.length * toHz / fromHz)
  const output = new Int16Array(outputLength)
  const last = input.length - 1
  if (last < 0) return output
  const step = fromHz / toHz
  for (let i = 0; i < outputLength; i++) {
    const position = i * step
    const index = Math.floor(position)
    const fraction = position - index
    const a = input[Math.min(index, last)] as number
    const b = input[Math.min(index + 1, last)] as number
    output[i] = Math.round(a + (b - a) * fraction)
  }
  return output
}

/** The temporary upsampler in the streaming converter shape PacedAudioOutput expects (stateless). */
export function createLinearConverter (fromHz: number, toHz: number): { process: (pcm: Int16Array) => Int16Array, reset: () => void } {
  return {
    process: (pcm) => upsampleLinear(pcm, fromHz, toHz),
    reset: () => {}
  }
}
