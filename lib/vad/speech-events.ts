/** What a speech detector reports for one audio stream. Times are stream time in milliseconds. */
export type SpeechEvent =
  | { type: 'speech-start', atMs: number, preRoll: Int16Array }
  | { type: 'speech-audio', samples: Int16Array }
  | { type: 'speech-end', atMs: number, utterance: Int16Array, durationMs: number }
  | { type: 'speech-cancelled', atMs: number }

/** Sample rate of everything a speech detector emits (VAD and STT input). */
export const SPEECH_SAMPLE_RATE_HZ = 16000
