import { describeValue } from '../config/invalid-option.js'
import { LLMRTC_ERR_PLAYBOOK_INVALID } from '../errors.js'
import { resolveMcpServers } from '../tools/mcp/mcp-options.js'
import { leavingTransitions } from './conditions.js'
import { PLAYBOOK_TRANSITION_TOOL } from './transition-tool.js'
import type { Playbook, Stage, TransitionConditionType } from './types.js'

export interface PlaybookValidation {
  playbook: Playbook
  /** Problems that do not stop the playbook (an unreachable stage, a limit nothing uses); callers log them. */
  warnings: string[]
}

const CONDITION_TYPES: readonly TransitionConditionType[] = ['tool_call', 'intent', 'keyword', 'llm_decision', 'max_turns', 'timeout', 'dtmf', 'custom']
const TOOL_CHOICES = ['auto', 'none', 'required']

type Fail = (problem: string) => never
type Obj = Record<string, unknown>

/**
 * Checks a playbook once, when it is loaded, so that a broken one fails at start-up rather than mid-call.
 * Throws LLMRTC_ERR_PLAYBOOK_INVALID naming the playbook and the first problem found. Returns the same
 * object, typed, with warnings.
 */
export function validatePlaybook (input: unknown): PlaybookValidation {
  const id = isObject(input) && typeof input.id === 'string' && input.id !== '' ? input.id : '(no id)'
  const fail: Fail = (problem) => { throw new LLMRTC_ERR_PLAYBOOK_INVALID(id, problem) }

  if (!isObject(input)) return fail(`expected a playbook object, instead got ${describeValue(input)}`)
  requireString(input, 'id', 'the playbook', fail)
  requireString(input, 'name', 'the playbook', fail)
  optional(input, 'globalSystemPrompt', 'a string', v => typeof v === 'string', 'the playbook', fail)
  optional(input, 'defaultLLMConfig', 'an object', isObject, 'the playbook', fail)
  const globalTools = toolNames(input.globalTools, 'globalTools', fail)

  if (!Array.isArray(input.stages) || input.stages.length === 0) return fail(`stages: expected a non-empty array, instead got ${describeValue(input.stages)}`)
  const stageIds = new Set<string>()
  for (const [index, stage] of (input.stages as unknown[]).entries()) {
    checkStage(stage, index, stageIds, globalTools, fail)
  }

  if (typeof input.initialStage !== 'string' || !stageIds.has(input.initialStage)) {
    return fail(`initialStage: expected one of the stage ids (${[...stageIds].join(', ')}), instead got ${describeValue(input.initialStage)}`)
  }

  if (!Array.isArray(input.transitions)) return fail(`transitions: expected an array, instead got ${describeValue(input.transitions)}`)
  const transitionIds = new Set<string>()
  for (const [index, transition] of (input.transitions as unknown[]).entries()) {
    checkTransition(transition, index, transitionIds, stageIds, fail)
  }

  const playbook = input as unknown as Playbook
  return { playbook, warnings: warningsOf(playbook) }
}

function checkStage (stage: unknown, index: number, stageIds: Set<string>, globalTools: Set<string>, fail: Fail): void {
  if (!isObject(stage)) return fail(`stages[${index}]: expected a stage object, instead got ${describeValue(stage)}`)
  requireString(stage, 'id', `stages[${index}]`, fail)
  const id = stage.id as string
  const where = `stage "${id}"`
  if (id === '*') return fail(`${where}: "*" is reserved for transitions from any stage`)
  if (stageIds.has(id)) return fail(`duplicate stage id "${id}"`)
  stageIds.add(id)
  requireString(stage, 'name', where, fail)
  if (typeof stage.systemPrompt !== 'string') return fail(`${where}: systemPrompt: expected a string, instead got ${describeValue(stage.systemPrompt)}`)
  optional(stage, 'description', 'a string', v => typeof v === 'string', where, fail)
  optional(stage, 'llmConfig', 'an object', isObject, where, fail)
  optional(stage, 'twoPhaseExecution', 'a boolean', v => typeof v === 'boolean', where, fail)
  optional(stage, 'maxTurns', 'an integer >= 1', v => Number.isInteger(v) && (v as number) >= 1, where, fail)
  optional(stage, 'timeoutMs', 'a number of ms > 0', isPositive, where, fail)
  optional(stage, 'onEnter', 'a function', v => typeof v === 'function', where, fail)
  optional(stage, 'onExit', 'a function', v => typeof v === 'function', where, fail)
  try {
    resolveMcpServers(stage.mcpServers, 'mcpServers')
  } catch (err) {
    fail(`${where}: ${(err as Error).message}`)
  }

  const names = toolNames(stage.tools, `${where}: tools`, fail)
  for (const name of names) {
    if (globalTools.has(name)) fail(`${where}: the tool "${name}" is also a global tool (tool names must be unique in a stage)`)
  }
  const choice = stage.toolChoice
  if (choice === undefined || (typeof choice === 'string' && TOOL_CHOICES.includes(choice))) return
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string') {
    if (names.has(choice.name) || globalTools.has(choice.name)) return
    return fail(`${where}: toolChoice names the tool "${choice.name}", which the stage does not offer`)
  }
  return fail(`${where}: toolChoice: expected 'auto', 'none', 'required' or { type: 'function', name }, instead got ${describeValue(choice)}`)
}

/** Checks a list of tools and returns their names; two tools with one name, or the built-in's name, fail. */
function toolNames (tools: unknown, where: string, fail: Fail): Set<string> {
  const names = new Set<string>()
  if (tools === undefined) return names
  if (!Array.isArray(tools)) return fail(`${where}: expected an array of tools, instead got ${describeValue(tools)}`)
  for (const [index, tool] of (tools as unknown[]).entries()) {
    const definition = isObject(tool) ? tool.definition : undefined
    const name = isObject(definition) ? definition.name : undefined
    if (!isObject(tool) || typeof name !== 'string' || name === '' || typeof tool.handler !== 'function') {
      return fail(`${where}[${index}]: expected a tool ({ definition: { name, description, parameters }, handler }), instead got ${describeValue(tool)}`)
    }
    if (name === PLAYBOOK_TRANSITION_TOOL) return fail(`${where}: "${PLAYBOOK_TRANSITION_TOOL}" is the built-in transition tool's name; use an llm_decision transition`)
    if (names.has(name)) return fail(`${where}: two tools are named "${name}"`)
    names.add(name)
  }
  return names
}

function checkTransition (transition: unknown, index: number, transitionIds: Set<string>, stageIds: Set<string>, fail: Fail): void {
  if (!isObject(transition)) return fail(`transitions[${index}]: expected a transition object, instead got ${describeValue(transition)}`)
  requireString(transition, 'id', `transitions[${index}]`, fail)
  const id = transition.id as string
  const where = `transition "${id}"`
  if (transitionIds.has(id)) return fail(`duplicate transition id "${id}"`)
  transitionIds.add(id)
  const from = transition.from
  if (typeof from !== 'string' || (from !== '*' && !stageIds.has(from))) {
    return fail(`${where}: from: expected a stage id or "*", instead got ${describeValue(from)}`)
  }
  optional(transition, 'priority', 'a finite number', Number.isFinite, where, fail)

  const action = transition.action
  if (!isObject(action)) return fail(`${where}: action: expected { targetStage }, instead got ${describeValue(action)}`)
  if (typeof action.targetStage !== 'string' || !stageIds.has(action.targetStage)) {
    return fail(`${where}: action.targetStage: expected a stage id, instead got ${describeValue(action.targetStage)}`)
  }
  optional(action, 'clearHistory', 'a boolean', v => typeof v === 'boolean', `${where}: action`, fail)
  optional(action, 'data', 'an object', isObject, `${where}: action`, fail)
  if (isObject(action.data) && Object.hasOwn(action.data, 'playbook')) {
    return fail(`${where}: action.data may not set "playbook" (the engine keeps its state there)`)
  }

  checkCondition(transition.condition, `${where}: condition`, fail)
}

function checkCondition (condition: unknown, where: string, fail: Fail): void {
  if (!isObject(condition) || !CONDITION_TYPES.includes(condition.type as TransitionConditionType)) {
    const got = isObject(condition) ? describeValue(condition.type) : describeValue(condition)
    return fail(`${where}: expected a type among ${CONDITION_TYPES.join(', ')}, instead got ${got}`)
  }
  const field = (name: string, expected: string, ok: (v: unknown) => boolean): void => {
    if (!ok(condition[name])) fail(`${where}: ${condition.type as string} needs ${name} (${expected}), instead got ${describeValue(condition[name])}`)
  }
  switch (condition.type as TransitionConditionType) {
    case 'tool_call':
      field('toolName', 'a tool name', isNonEmptyString)
      if (condition.toolName === PLAYBOOK_TRANSITION_TOOL) fail(`${where}: the built-in "${PLAYBOOK_TRANSITION_TOOL}" tool is an llm_decision condition, not a tool_call`)
      return
    case 'intent':
      field('intent', 'an intent name', isNonEmptyString)
      if (condition.confidence !== undefined) field('confidence', 'a number from 0 to 1', v => typeof v === 'number' && v >= 0 && v <= 1)
      return
    case 'keyword':
      field('keywords', 'a non-empty array of non-blank strings', v => Array.isArray(v) && v.length > 0 && v.every(k => typeof k === 'string' && k.trim() !== ''))
      return
    case 'max_turns':
      field('count', 'an integer >= 1', v => Number.isInteger(v) && (v as number) >= 1)
      return
    case 'timeout':
      field('durationMs', 'a number of ms > 0', isPositive)
      return
    case 'dtmf': {
      const digits = condition.digits
      const pattern = condition.pattern
      if ((digits === undefined) === (pattern === undefined)) return fail(`${where}: dtmf needs exactly one of digits (the keys, e.g. '1') and pattern (a regular expression's source)`)
      if (digits !== undefined) field('digits', "phone keys (0-9, *, #, A-D), e.g. '1' or '*0'", v => typeof v === 'string' && /^[0-9*#A-D]+$/.test(v))
      else field('pattern', 'the source of a valid regular expression, e.g. "^\\d{4}#$"', v => isNonEmptyString(v) && compiles(v))
      return
    }
    case 'custom':
      field('evaluate', 'a function', v => typeof v === 'function')
      break
    case 'llm_decision':
  }
}

function warningsOf (playbook: Playbook): string[] {
  const warnings: string[] = []
  const stages = new Map(playbook.stages.map(stage => [stage.id, stage]))

  const reached = new Set([playbook.initialStage])
  const queue = [playbook.initialStage]
  for (let stageId = queue.shift(); stageId !== undefined; stageId = queue.shift()) {
    for (const transition of leavingTransitions(playbook, stageId)) {
      const target = transition.action.targetStage
      if (!reached.has(target)) { reached.add(target); queue.push(target) }
    }
  }
  for (const stage of playbook.stages) {
    if (!reached.has(stage.id)) warnings.push(`stage "${stage.id}" is unreachable from the initial stage "${playbook.initialStage}"`)
    const leaving = leavingTransitions(playbook, stage.id)
    if (stage.maxTurns !== undefined && !leaving.some(t => t.condition.type === 'max_turns')) {
      warnings.push(`stage "${stage.id}" has maxTurns but no max_turns transition leaves it: the limit does nothing`)
    }
    if (stage.timeoutMs !== undefined && !leaving.some(t => t.condition.type === 'timeout')) {
      warnings.push(`stage "${stage.id}" has timeoutMs but no timeout transition leaves it: the limit does nothing`)
    }
  }

  const globalTools = new Set((playbook.globalTools ?? []).map(tool => tool.definition.name))
  const offers = (stage: Stage | undefined, name: string): boolean => globalTools.has(name) || (stage?.tools ?? []).some(tool => tool.definition.name === name)
  for (const transition of playbook.transitions) {
    const condition = transition.condition
    if (condition.type !== 'tool_call') continue
    const offered = transition.from === '*' ? playbook.stages.some(stage => offers(stage, condition.toolName)) : offers(stages.get(transition.from), condition.toolName)
    if (!offered) warnings.push(`transition "${transition.id}" waits for the tool "${condition.toolName}", which ${transition.from === '*' ? 'no stage offers' : `stage "${transition.from}" does not offer`}`)
  }
  return warnings
}

function requireString (obj: Obj, key: string, where: string, fail: Fail): void {
  if (!isNonEmptyString(obj[key])) fail(`${where}: ${key}: expected a non-empty string, instead got ${describeValue(obj[key])}`)
}

function optional (obj: Obj, key: string, expected: string, ok: (v: unknown) => boolean, where: string, fail: Fail): void {
  if (obj[key] !== undefined && !ok(obj[key])) fail(`${where}: ${key}: expected ${expected}, instead got ${describeValue(obj[key])}`)
}

function isObject (value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isNonEmptyString (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

function compiles (source: string): boolean {
  try {
    RegExp(source, 'u')
    return true
  } catch {
    return false
  }
}

function isPositive (value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value > 0
}
