import type { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'

/** `ms` of 16 kHz samples at a constant level (stands in for speech: the VAD is not in these tests). */
export const speech = (ms: number): Int16Array => new Int16Array(16 * ms).fill(1000)

/** The VAD's events for one confirmed utterance (start, confirmed audio, end). */
export function say (pipeline: VoicePipeline, ms = 600): void {
  pipeline.onSpeechEvent({ type: 'speech-start', atMs: 0, preRoll: speech(100) })
  pipeline.onSpeechEvent({ type: 'speech-audio', samples: speech(ms - 100) })
  pipeline.onSpeechEvent({ type: 'speech-end', atMs: ms, utterance: speech(ms), durationMs: ms })
}

/** Yields to the event loop until `condition` holds (effects of fakes that resolve on the next tick). */
export async function until (condition: () => boolean, what: string, turns = 5000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return
    await new Promise(resolve => setImmediate(resolve))
  }
  throw new Error(`never happened: ${what}`)
}
