import type { TurnOutcome, TurnTimings } from '../pipeline/turn-types.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import type { StepObservation } from './expectations.js'
import { observeMessages } from './observe.js'
import type { EvalConversation } from './run-scenarios.js'

/** One text turn as the server's pipeline runs it (`fastify.llmrtcPipeline.textTurn` of a session). */
export type RunTextTurn = (text: string) => Promise<{
  result: { outcome: TurnOutcome, assistantText: string, timings: TurnTimings } | undefined
  messages: ServerMessage[]
}>

/**
 * A conversation in text mode: each user line is a text turn through the server's pipeline (hooks,
 * history, tools and playbook, LLM, TTS), without STT or audio transport. The answer is the LLM's text;
 * latencies are the turn's own (`firstAudioMs`: its first synthesized audio, `totalMs`: its end).
 */
export function textConversation (runTurn: RunTextTurn, close: () => Promise<void>, initialStage: string | undefined): EvalConversation {
  let stage = initialStage
  return {
    async say (line: string): Promise<StepObservation> {
      const { result, messages } = await runTurn(line)
      const seen: StepObservation = { ...observeMessages(messages, stage), answer: result?.assistantText ?? '' }
      stage = seen.stage
      if (result === undefined) seen.incomplete = 'the turn never ran'
      else if (result.outcome !== 'completed') seen.incomplete = `the turn ended ${result.outcome}`
      if (result?.timings.firstAudioMs !== undefined) seen.firstAudioMs = result.timings.firstAudioMs
      if (result?.timings.totalMs !== undefined) seen.totalMs = result.timings.totalMs
      return seen
    },
    close
  }
}
