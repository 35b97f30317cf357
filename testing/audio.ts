import { encodeWav } from '../lib/audio/wav.js'

export { encodeWav }

/** Options of `tone`. */
export interface ToneOptions {
  /** Pitch, in Hz (default 220). */
  hz?: number
  /** Sample rate, in Hz (default 16 000: what VAD and STT run on). */
  sampleRateHz?: number
  /** Peak level, as a signed 16-bit sample (default 5000). */
  amplitude?: number
}

/** `ms` of a sine tone as mono signed 16-bit samples: audio that is not silence, for fakes and mocks. */
export function tone (ms: number, options: ToneOptions = {}): Int16Array {
  const { hz = 220, sampleRateHz = 16_000, amplitude = 5000 } = options
  const samples = new Int16Array(Math.round(sampleRateHz * ms / 1000))
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * Math.sin(2 * Math.PI * hz * i / sampleRateHz))
  return samples
}

/**
 * The data of an `audio` client message: `ms` of tone (or the given samples) as a base64 16-bit PCM WAV.
 * With scripted STT the sound does not matter: the fake returns its next transcript.
 */
export function audioMessageData (samples: Int16Array | number = 500, sampleRateHz = 16_000): string {
  const pcm = typeof samples === 'number' ? tone(samples, { sampleRateHz }) : samples
  return encodeWav(pcm, sampleRateHz).toString('base64')
}
