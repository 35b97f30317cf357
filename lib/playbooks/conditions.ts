import type { Playbook, Stage, Transition, TransitionCondition, TransitionContext } from './types.js'

/**
 * The transitions that can leave `stageId`, in the order they are tried: highest priority first, equal
 * priorities in declaration order. A `'*'` transition never leads into the stage it would leave (that would
 * only restart the stage); an explicit self-transition (`from: 'a'`, target `'a'`) does.
 */
export function leavingTransitions (playbook: Pick<Playbook, 'transitions'>, stageId: string): Transition[] {
  const leaving = playbook.transitions.filter(t => t.from === stageId || (t.from === '*' && t.action.targetStage !== stageId))
  // Array.prototype.sort is stable, so ties keep declaration order.
  return leaving.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0))
}

/** Turns after which a `max_turns` transition fires in `stage`: its count, or the stage's maxTurns when smaller. */
export function turnLimit (condition: { count: number }, stage: Stage): number {
  return Math.min(condition.count, stage.maxTurns ?? Infinity)
}

/** Milliseconds after which a `timeout` transition fires in `stage`: its durationMs, or the stage's timeoutMs when shorter. */
export function timeLimitMs (condition: { durationMs: number }, stage: Stage): number {
  return Math.min(condition.durationMs, stage.timeoutMs ?? Infinity)
}

/**
 * Evaluates one condition. Returns the reason the transition fires (`stage-change.reason`), or undefined.
 * `timeout` and `llm_decision` never fire here: the engine's timer fires the first, the LLM asks for the
 * second with the transition tool. A custom condition's throw propagates (the engine wraps it).
 */
export async function conditionReason (transition: Transition, ctx: TransitionContext, stage: Stage): Promise<string | undefined> {
  const condition: TransitionCondition = transition.condition
  switch (condition.type) {
    case 'tool_call': {
      const call = ctx.toolCall
      return call !== undefined && call.error === undefined && call.name === condition.toolName ? `tool_call: ${call.name}` : undefined
    }
    case 'intent': {
      const intent = ctx.intent
      if (intent === undefined || intent.name.toLowerCase() !== condition.intent.toLowerCase()) return undefined
      return intent.confidence >= (condition.confidence ?? 0) ? `intent: ${intent.name} (${intent.confidence.toFixed(2)})` : undefined
    }
    case 'keyword': {
      const keyword = ctx.assistantText === undefined ? undefined : matchKeyword(condition.keywords, ctx.assistantText)
      return keyword === undefined ? undefined : `keyword: "${keyword}"`
    }
    case 'max_turns': {
      const limit = turnLimit(condition, stage)
      return ctx.turnsInStage >= limit ? `max_turns: ${limit}` : undefined
    }
    case 'dtmf': {
      const keys = ctx.dtmfDigits === undefined || ctx.dtmfDigits === '' ? undefined : matchDtmf(condition, ctx.dtmfDigits)
      return keys === undefined ? undefined : `dtmf: ${keys}`
    }
    case 'custom':
      return (await condition.evaluate(ctx)) === true ? `custom: ${transition.id}` : undefined
    case 'timeout':
    case 'llm_decision':
      return undefined
  }
}

const dtmfPatterns = new Map<string, RegExp>()

/**
 * The keys of `pressed` (the keys pressed in the stage) a `dtmf` condition matches, or undefined: its
 * `digits` when `pressed` ends with them, or what its `pattern` matched.
 */
export function matchDtmf (condition: { digits?: string, pattern?: string }, pressed: string): string | undefined {
  if (condition.digits !== undefined) return pressed.endsWith(condition.digits) ? condition.digits : undefined
  if (condition.pattern === undefined) return undefined
  let pattern = dtmfPatterns.get(condition.pattern)
  if (pattern === undefined) {
    pattern = new RegExp(condition.pattern, 'u')
    // Patterns come from playbooks (a handful): the cache stays small.
    dtmfPatterns.set(condition.pattern, pattern)
  }
  return pattern.exec(pressed)?.[0]
}

const patterns = new WeakMap<readonly string[], Array<{ keyword: string, pattern: RegExp }>>()

/**
 * The first of `keywords` that `text` contains as whole words, case-insensitively ("refund" matches
 * "Refund!" but not "refunded"; "speak to a human" matches across any whitespace).
 */
export function matchKeyword (keywords: readonly string[], text: string): string | undefined {
  let compiled = patterns.get(keywords)
  if (compiled === undefined) {
    compiled = keywords.map(keyword => ({ keyword, pattern: keywordPattern(keyword) }))
    patterns.set(keywords, compiled)
  }
  return compiled.find(({ pattern }) => pattern.test(text))?.keyword
}

function keywordPattern (keyword: string): RegExp {
  const phrase = keyword.trim().split(/\s+/u).map(word => word.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('\\s+')
  // Letters, digits and _ of any script count as word characters (\b only knows ASCII).
  return new RegExp(`(?<![\\p{L}\\p{N}_])${phrase}(?![\\p{L}\\p{N}_])`, 'iu')
}
