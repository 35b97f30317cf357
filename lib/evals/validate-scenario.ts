import { LLMRTC_ERR_EVAL_SCENARIO } from '../errors.js'
import type { ExpectedToolCall, FakeToolResult, Scenario, ScenarioStep, StepExpectations } from './scenario.js'

const SCENARIO_KEYS = ['name', 'description', 'tools', 'steps']
const STEP_KEYS = ['user', 'tools', 'expect']
const EXPECT_KEYS = ['toolCalls', 'notCalled', 'stage', 'contains', 'notContains', 'matches', 'latency', 'judge']
const LATENCY_KEYS = ['firstAudioMs', 'totalMs']

/**
 * Checks parsed scenario data (from JSON or YAML) and returns the scenario. Throws
 * LLMRTC_ERR_EVAL_SCENARIO naming the file, the step (1-based) and the field, what was expected and what
 * it holds. Unknown keys are errors: a misspelt expectation would otherwise pass silently.
 */
export function validateScenario (data: unknown, file: string, defaultName: string): Scenario {
  const fail = (where: string, expected: string, value: unknown): never => {
    throw new LLMRTC_ERR_EVAL_SCENARIO(file, `${where}: expected ${expected}, instead got ${describe(value)}`)
  }
  const root = record(data, 'the file', 'an object with "steps"', fail)
  known(root, SCENARIO_KEYS, '', fail)
  if (root.name !== undefined && (typeof root.name !== 'string' || root.name.trim() === '')) fail('name', 'a non-empty string', root.name)
  if (root.description !== undefined && typeof root.description !== 'string') fail('description', 'a string', root.description)
  if (!Array.isArray(root.steps) || root.steps.length === 0) fail('steps', 'a non-empty list of steps', root.steps)
  const steps = (root.steps as unknown[]).map((value, index): ScenarioStep => {
    const at = `step ${index + 1}`
    const step = record(value, at, 'an object with "user"', fail)
    known(step, STEP_KEYS, `${at}, `, fail)
    if (typeof step.user !== 'string' || step.user.trim() === '') fail(`${at}, user`, 'the user\'s line as a non-empty string', step.user)
    return {
      user: step.user as string,
      tools: fakeTools(step.tools, `${at}, tools`, fail),
      expect: expectations(step.expect, `${at}, expect`, fail)
    }
  })
  const scenario: Scenario = {
    file,
    name: (root.name as string | undefined) ?? defaultName,
    tools: fakeTools(root.tools, 'tools', fail),
    steps
  }
  if (root.description !== undefined) scenario.description = root.description as string
  return scenario
}

type Fail = (where: string, expected: string, value: unknown) => never

function expectations (value: unknown, at: string, fail: Fail): StepExpectations {
  if (value === undefined || value === null) return {}
  const expect = record(value, at, 'an object of expectations', fail)
  known(expect, EXPECT_KEYS, `${at}.`, fail)
  const out: StepExpectations = {}
  if (expect.toolCalls !== undefined) {
    // One call may be written alone, or as a bare name.
    const list = Array.isArray(expect.toolCalls) ? expect.toolCalls : [expect.toolCalls]
    out.toolCalls = list.map((call, i) => toolCall(call, `${at}.toolCalls[${i}]`, fail))
  }
  if (expect.notCalled !== undefined) out.notCalled = strings(expect.notCalled, `${at}.notCalled`, 'a tool name or a list of them', fail)
  if (expect.stage !== undefined) {
    if (typeof expect.stage !== 'string' || expect.stage === '') fail(`${at}.stage`, 'a stage id', expect.stage)
    out.stage = expect.stage as string
  }
  if (expect.contains !== undefined) out.contains = strings(expect.contains, `${at}.contains`, 'a string or a list of strings', fail)
  if (expect.notContains !== undefined) out.notContains = strings(expect.notContains, `${at}.notContains`, 'a string or a list of strings', fail)
  if (expect.matches !== undefined) out.matches = regex(expect.matches, `${at}.matches`, fail)
  if (expect.latency !== undefined) {
    const latency = record(expect.latency, `${at}.latency`, 'an object with firstAudioMs and/or totalMs', fail)
    known(latency, LATENCY_KEYS, `${at}.latency.`, fail)
    out.latency = {}
    for (const key of LATENCY_KEYS as Array<'firstAudioMs' | 'totalMs'>) {
      const ms = latency[key]
      if (ms === undefined) continue
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) fail(`${at}.latency.${key}`, 'a positive number of ms', ms)
      out.latency[key] = ms as number
    }
  }
  if (expect.judge !== undefined) {
    if (typeof expect.judge !== 'string' || expect.judge.trim() === '') fail(`${at}.judge`, 'a rubric as a non-empty string', expect.judge)
    out.judge = expect.judge as string
  }
  return out
}

function toolCall (value: unknown, at: string, fail: Fail): ExpectedToolCall {
  if (typeof value === 'string' && value !== '') return { name: value }
  const call = record(value, at, 'a tool name, or an object with "name" and optional "arguments"', fail)
  known(call, ['name', 'arguments'], `${at}.`, fail)
  if (typeof call.name !== 'string' || call.name === '') fail(`${at}.name`, 'a tool name', call.name)
  const out: ExpectedToolCall = { name: call.name as string }
  if (call.arguments !== undefined) out.arguments = record(call.arguments, `${at}.arguments`, 'an object of argument values', fail)
  return out
}

function fakeTools (value: unknown, at: string, fail: Fail): Record<string, FakeToolResult> {
  if (value === undefined || value === null) return {}
  const tools = record(value, at, 'an object of fake results by tool name', fail)
  const out: Record<string, FakeToolResult> = {}
  for (const [name, fake] of Object.entries(tools)) {
    const entry = record(fake, `${at}.${name}`, 'an object with "result" or "error"', fail)
    const keys = Object.keys(entry)
    if (keys.length !== 1 || (keys[0] !== 'result' && keys[0] !== 'error')) fail(`${at}.${name}`, 'an object with exactly one of "result" or "error"', entry)
    if ('error' in entry) {
      if (typeof entry.error !== 'string' || entry.error === '') fail(`${at}.${name}.error`, 'the error message as a non-empty string', entry.error)
      out[name] = { error: entry.error as string }
    } else {
      out[name] = { result: entry.result ?? null }
    }
  }
  return out
}

function regex (value: unknown, at: string, fail: Fail): RegExp {
  if (typeof value !== 'string' || value === '') return fail(at, 'a regular expression as a string ("pattern" or "/pattern/flags")', value)
  const literal = /^\/(.*)\/([a-z]*)$/s.exec(value)
  try {
    return literal === null ? new RegExp(value) : new RegExp(literal[1] as string, literal[2])
  } catch (err) {
    return fail(at, `a valid regular expression (${(err as Error).message})`, value)
  }
}

function strings (value: unknown, at: string, expected: string, fail: Fail): string[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || list.some(item => typeof item !== 'string' || item === '')) fail(at, expected, value)
  return list as string[]
}

function record (value: unknown, at: string, expected: string, fail: Fail): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(at, expected, value)
  return value as Record<string, unknown>
}

function known (value: Record<string, unknown>, keys: string[], prefix: string, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) fail(`${prefix}${key}`, `one of the keys ${keys.join(', ')}`, `an unknown key "${key}"`)
  }
}

function describe (value: unknown): string {
  if (typeof value === 'string' && value.startsWith('an unknown key')) return value
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return `a list of ${value.length}`
  const json = JSON.stringify(value)
  return json.length > 80 ? `${json.slice(0, 77)}...` : json
}
