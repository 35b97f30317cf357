import type { ServerMessage } from '../protocol/server-messages.js'
import type { ObservedToolCall, StepObservation } from './expectations.js'

/**
 * What the server's messages of one step say: the tool calls (tool-call-start joined with its
 * tool-call-end), the stages entered, the LLM's answer text and the errors. `stage` is the stage
 * before the step. The answer and latencies are the mode's to fill in.
 */
export function observeMessages (messages: readonly ServerMessage[], stage: string | undefined): Omit<StepObservation, 'answer'> {
  const toolCalls: ObservedToolCall[] = []
  const byId = new Map<string, ObservedToolCall>()
  const stagesEntered: string[] = []
  const errors: string[] = []
  const texts: string[] = []
  for (const message of messages) {
    switch (message.type) {
      case 'tool-call-start': {
        const call: ObservedToolCall = { name: message.name, arguments: message.arguments }
        byId.set(message.callId, call)
        toolCalls.push(call)
        break
      }
      case 'tool-call-end': {
        const call = byId.get(message.callId)
        if (call === undefined) break
        if (message.error !== undefined) call.error = message.error
        else call.result = message.result
        break
      }
      case 'stage-change':
        stagesEntered.push(message.to)
        stage = message.to
        break
      case 'llm':
        texts.push(message.text)
        break
      case 'error':
        errors.push(`${message.code}: ${message.message}`)
        break
    }
  }
  return { answerText: texts.join(' ').trim(), toolCalls, stagesEntered, stage, errors }
}
