import type { RelayAnswer } from '../realtime/relay-answers.js'
import type { TranscriptBuilder } from './transcript-builder.js'

/**
 * Adds a relay-mode answer (lib/realtime/relay-answers.ts) to a transcript as the pipeline's turns are
 * added: its start is its first audio out, its end when it played out or was cut, `heard` for a cut one.
 */
export function recordRelayAnswer (transcript: TranscriptBuilder, answer: RelayAnswer): void {
  const turnId = answer.responseId
  transcript.turnStarted(turnId)
  transcript.spoke(turnId, answer.text)
  if (answer.interrupted) transcript.bargeIn(turnId, answer.endedAt)
  // Latencies count from the user's speech end: an answer to typed text (or a greeting) has none.
  const speechEndedAt = answer.speechEndedAt
  transcript.turnEnded({
    turnId,
    outcome: answer.interrupted ? 'cancelled' : 'completed',
    speechEndedAt: speechEndedAt ?? answer.startedAt,
    startedAt: answer.startedAt,
    endedAt: answer.endedAt,
    timings: speechEndedAt === undefined ? {} : { firstAudioOutMs: answer.startedAt - speechEndedAt, totalMs: answer.endedAt - speechEndedAt }
  }, answer.heard)
}
