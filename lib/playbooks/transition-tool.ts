import type { ToolDefinition } from '../providers/types.js'
import type { Stage } from './types.js'

/** The built-in tool the LLM calls to move to another stage (`llm_decision` transitions). A playbook tool may not take this name. */
export const PLAYBOOK_TRANSITION_TOOL = 'playbook_transition'

/** The built-in tool's definition, offering `targets` (the stages the current stage's `llm_decision` transitions lead to). */
export function transitionToolDefinition (targets: readonly Stage[]): ToolDefinition {
  const lines = targets.map(stage => {
    const about = stage.description === undefined || stage.description.trim() === '' ? '' : `: ${stage.description.trim()}`
    return `- ${stage.id} (${stage.name})${about}`
  })
  return {
    name: PLAYBOOK_TRANSITION_TOOL,
    description: 'Move the conversation to another stage when the current one is done or the user needs something ' +
      'another stage handles. Stages you can move to:\n' + lines.join('\n'),
    parameters: {
      type: 'object',
      properties: {
        targetStage: { type: 'string', enum: targets.map(stage => stage.id), description: 'The id of the stage to move to.' },
        reason: { type: 'string', description: 'Why, in one short sentence.' }
      },
      required: ['targetStage', 'reason'],
      additionalProperties: false
    }
  }
}

/**
 * Reads the LLM's arguments for the transition tool: an object, or the raw JSON string the model produced.
 * Returns the message for the LLM when they are unusable.
 */
export function parseTransitionArguments (args: unknown): { targetStage: string, reason: string } | { error: string } {
  let value = args
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      return { error: 'The arguments are not valid JSON: expected {"targetStage": "<stage id>", "reason": "<why>"}.' }
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'Expected an object {"targetStage": "<stage id>", "reason": "<why>"}.' }
  }
  const { targetStage, reason } = value as Record<string, unknown>
  if (typeof targetStage !== 'string' || targetStage === '') return { error: 'targetStage must be the id of a stage (a string).' }
  if (typeof reason !== 'string' || reason.trim() === '') return { error: 'reason must say why, in a short sentence.' }
  return { targetStage, reason: reason.trim() }
}
