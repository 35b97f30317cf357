import type { ExpectedToolCall, StepExpectations } from './scenario.js'

/** A tool call as a step saw it (tool-call-start and its tool-call-end). */
export interface ObservedToolCall {
  name: string
  arguments: unknown
  result?: unknown
  error?: string
}

/** What happened in one step: the assistant's answer, its tool calls, stages and latencies. */
export interface StepObservation {
  /** Audio mode: what the server's STT heard of the user's line. */
  heard?: string
  /** The answer the expectations check: the LLM's text (text mode), or what the caller heard, transcribed (audio mode). */
  answer: string
  /** The LLM's text of the answer, as the server sent it (`llm`). */
  answerText: string
  toolCalls: ObservedToolCall[]
  /** Stages entered during the step, in order. */
  stagesEntered: string[]
  /** The stage after the step (undefined without a playbook). */
  stage: string | undefined
  /** From the end of the user's line to the answer's first audio, in ms (absent: no audio). */
  firstAudioMs?: number
  /** From the end of the user's line to the end of the answer, in ms. */
  totalMs?: number
  /** Errors the server sent during the step (their messages). */
  errors: string[]
  /** Set when the turn did not complete (no answer, cancelled, failed, blocked). */
  incomplete?: string
}

/** The outcome of one expectation of a step. */
export interface ExpectationOutcome {
  /** The expectation's field, such as `toolCalls` or `latency.firstAudioMs`. */
  field: string
  pass: boolean
  expected: string
  got: string
}

/**
 * Checks a step's expectations (all but `judge`, which needs an LLM: see judge.ts) against what was
 * observed. A turn that did not complete, or sent an error, fails whatever its expectations.
 */
export function checkExpectations (expect: StepExpectations, seen: StepObservation): ExpectationOutcome[] {
  const outcomes: ExpectationOutcome[] = []
  const add = (field: string, pass: boolean, expected: string, got: string): void => { outcomes.push({ field, pass, expected, got }) }
  if (seen.incomplete !== undefined || seen.errors.length > 0) {
    add('turn', false, 'a completed turn without errors', [seen.incomplete, ...seen.errors.map(e => `error: ${e}`)].filter(Boolean).join('; '))
  }
  for (const [i, call] of (expect.toolCalls ?? []).entries()) {
    add(`toolCalls[${i}]`, seen.toolCalls.some(c => callMatches(call, c)), describeCall(call), describeCalls(seen.toolCalls))
  }
  for (const name of expect.notCalled ?? []) {
    add('notCalled', !seen.toolCalls.some(c => c.name === name), `no call of ${name}`, describeCalls(seen.toolCalls))
  }
  if (expect.stage !== undefined) {
    const reached = seen.stage === expect.stage || seen.stagesEntered.includes(expect.stage)
    add('stage', reached, `stage "${expect.stage}" reached`, describeStages(seen))
  }
  const answer = normalize(seen.answer)
  for (const text of expect.contains ?? []) add('contains', answer.includes(normalize(text)), `the answer contains "${text}"`, quote(seen.answer))
  for (const text of expect.notContains ?? []) add('notContains', !answer.includes(normalize(text)), `the answer does not contain "${text}"`, quote(seen.answer))
  if (expect.matches !== undefined) add('matches', expect.matches.test(seen.answer), `the answer matches ${String(expect.matches)}`, quote(seen.answer))
  for (const key of ['firstAudioMs', 'totalMs'] as const) {
    const bound = expect.latency?.[key]
    if (bound === undefined) continue
    const ms = seen[key]
    add(`latency.${key}`, ms !== undefined && ms <= bound, `at most ${bound} ms`, ms === undefined ? 'never reached' : `${Math.round(ms)} ms`)
  }
  return outcomes
}

/**
 * Subset match of a call: same name, and every expected argument present with a deeply equal value
 * (objects: the expected keys only; arrays: same length, element by element).
 */
export function callMatches (expected: ExpectedToolCall, call: ObservedToolCall): boolean {
  return call.name === expected.name && (expected.arguments === undefined || subset(expected.arguments, call.arguments))
}

function subset (expected: unknown, actual: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(expected, actual)
  if (actual === null || typeof actual !== 'object') return false
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((item, i) => subset(item, actual[i]))
  }
  return Object.entries(expected).every(([key, value]) => Object.hasOwn(actual, key) && subset(value, (actual as Record<string, unknown>)[key]))
}

function normalize (text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim()
}

function quote (text: string): string {
  return text === '' ? 'an empty answer' : JSON.stringify(text)
}

function describeCall (call: ExpectedToolCall): string {
  return call.arguments === undefined ? `a call of ${call.name}` : `a call of ${call.name} with ${JSON.stringify(call.arguments)}`
}

function describeCalls (calls: ObservedToolCall[]): string {
  if (calls.length === 0) return 'no tool call'
  return calls.map(c => `${c.name}(${JSON.stringify(c.arguments)})`).join(', ')
}

function describeStages (seen: StepObservation): string {
  const entered = seen.stagesEntered.length > 0 ? `entered ${seen.stagesEntered.join(' -> ')}, ` : 'no stage change, '
  return `${entered}now in ${seen.stage === undefined ? 'no stage (no playbook)' : `"${seen.stage}"`}`
}
