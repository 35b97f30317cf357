import type { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'

// One polling helper for every test (the testing kit's): next event-loop turns first, then timers.
export { until } from '../../testing/wait.js'

/** `ms` of 16 kHz samples at a constant level (stands in for speech: the VAD is not in these tests). */
export const speech = (ms: number): Int16Array => new Int16Array(16 * ms).fill(1000)

/** The VAD's events for one confirmed utterance (start, confirmed audio, end). */
export function say (pipeline: VoicePipeline, ms = 600): void {
  pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(ms - 100) })
  pipeline.onSpeechEvent({ type: 'speech-end', atMs: ms, utterance: speech(ms), durationMs: ms })
}
