/** What a speech detector reports for one audio stream. Times are stream time in milliseconds. */
export type SpeechEvent =
  | { type: 'speech-start', atMs: number, preRoll: Int16Array }
  | { type: 'speech-audio', samples: Int16Array }
  | { type: 'speech-end', atMs: number, utterance: Int16Array, durationMs: number }
  | { type: 'speech-cancelled', atMs: number }
  /**
   * A window of silence inside an utterance (the utterance is not over yet): `silenceMs` is the silence
   * so far, growing by one window per event. `utterance` is the audio so far once the speech is confirmed
   * (pre-roll and speech, as `speech-end` would carry it), else undefined.
   */
  | { type: 'speech-pause', atMs: number, silenceMs: number, utterance: Int16Array | undefined }
  /** Speech again after a `speech-pause`, in the same utterance. `pauseMs` is the silence it ended. */
  | { type: 'speech-resume', atMs: number, pauseMs: number }

/** Sample rate of everything a speech detector emits (VAD and STT input). */
export const SPEECH_SAMPLE_RATE_HZ = 16000
