import type { LLMProvider } from '../providers/types.js'
import { checkExpectations, type ExpectationOutcome, type StepObservation } from './expectations.js'
import type { FakeTools } from './fake-tools.js'
import { judgeAnswer, type JudgedExchange } from './judge.js'
import type { Scenario } from './scenario.js'

/** One conversation with the server under test (a session), in either mode. */
export interface EvalConversation {
  /** Says the user's line and resolves once the answer has ended, with what was observed. */
  say: (line: string) => Promise<StepObservation>
  /** Ends the session. */
  close: () => Promise<void>
}

/** How a run reaches the server under test. */
export interface EvalTarget {
  /** Starts a fresh conversation (a new session) for a scenario. */
  open: () => Promise<EvalConversation>
}

export interface StepReport {
  /** 1-based. */
  step: number
  user: string
  seen: StepObservation | undefined
  outcomes: ExpectationOutcome[]
  pass: boolean
}

export interface ScenarioReport {
  scenario: Scenario
  steps: StepReport[]
  pass: boolean
  /** Why the scenario stopped before its last step (the conversation failed). */
  error?: string
}

export interface RunScenariosOptions {
  /** The fakes the server's tools were wrapped with (`FakeTools.wrap`): each step's are set before it runs. */
  fakeTools?: FakeTools
  /** The judge of `judge` expectations: the configured LLM. Without it, a `judge` expectation fails. */
  judge?: LLMProvider
  /** Called with each scenario's report as soon as it is done (to print as the run goes). */
  onReport?: (report: ScenarioReport) => void
}

/**
 * Runs the scenarios one after another, each in a new conversation, and checks every step's
 * expectations. A step that fails does not stop its scenario (later steps still report); a
 * conversation that fails (a timeout, a closed connection) does.
 */
export async function runScenarios (scenarios: readonly Scenario[], target: EvalTarget, options: RunScenariosOptions = {}): Promise<ScenarioReport[]> {
  const reports: ScenarioReport[] = []
  for (const scenario of scenarios) {
    const report = await runScenario(scenario, target, options)
    reports.push(report)
    options.onReport?.(report)
  }
  return reports
}

async function runScenario (scenario: Scenario, target: EvalTarget, options: RunScenariosOptions): Promise<ScenarioReport> {
  const report: ScenarioReport = { scenario, steps: [], pass: true }
  let conversation: EvalConversation
  try {
    conversation = await target.open()
  } catch (err) {
    return { ...report, pass: false, error: `cannot start a conversation: ${(err as Error).message}` }
  }
  const exchanges: JudgedExchange[] = []
  try {
    for (const [index, step] of scenario.steps.entries()) {
      options.fakeTools?.use(scenario.tools, step.tools)
      let seen: StepObservation
      try {
        seen = await conversation.say(step.user)
      } catch (err) {
        report.steps.push({ step: index + 1, user: step.user, seen: undefined, outcomes: [], pass: false })
        report.error = `step ${index + 1} did not finish: ${(err as Error).message}`
        report.pass = false
        break
      }
      exchanges.push({ user: seen.heard ?? step.user, assistant: seen.answer })
      const outcomes = checkExpectations(step.expect, seen)
      if (step.expect.judge !== undefined) {
        outcomes.push(options.judge === undefined
          ? { field: 'judge', pass: false, expected: 'a judge verdict', got: 'no LLM to judge with' }
          : await judgeAnswer(options.judge, step.expect.judge, exchanges))
      }
      const pass = outcomes.every(outcome => outcome.pass)
      report.steps.push({ step: index + 1, user: step.user, seen, outcomes, pass })
      if (!pass) report.pass = false
    }
  } finally {
    options.fakeTools?.use({})
    await conversation.close().catch(() => {})
  }
  return report
}
