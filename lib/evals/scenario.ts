/** What a fake tool returns instead of running its handler: a result, or an error the LLM is told. */
export type FakeToolResult = { result: unknown } | { error: string }

/** A tool call a step expects: the tool's name, and arguments that must be present with these values. */
export interface ExpectedToolCall {
  name: string
  /** Subset match: every key given must be in the call's arguments with an equal value (deeply); others may be there too. */
  arguments?: Record<string, unknown>
}

/** What must hold after one step (every field optional; all given must pass). */
export interface StepExpectations {
  /** Tools called during the step (each matched by at least one call). */
  toolCalls?: ExpectedToolCall[]
  /** Tools that must not be called during the step. */
  notCalled?: string[]
  /** The playbook stage reached: entered during this step, or the current stage after it. */
  stage?: string
  /** Text the answer contains, each (case-insensitive, whitespace collapsed). */
  contains?: string[]
  /** Text the answer must not contain (same comparison). */
  notContains?: string[]
  /** A regular expression the answer matches: `pattern` or `/pattern/flags`. */
  matches?: RegExp
  /** Latency bounds in ms, from the end of the user's line. */
  latency?: { firstAudioMs?: number, totalMs?: number }
  /** A rubric the configured LLM judges the answer against (pass or fail, with a reason). */
  judge?: string
}

/** One user line and what must hold after the assistant answered it. */
export interface ScenarioStep {
  user: string
  /** Fake tool results for this step, by tool name (over the scenario's). */
  tools: Record<string, FakeToolResult>
  expect: StepExpectations
}

/** A scripted conversation: a file of `llmrtc-backend eval` (docs/evals.md). */
export interface Scenario {
  /** The file it was read from. */
  file: string
  name: string
  description?: string
  /** Fake tool results for every step, by tool name. Tools not faked run their real handlers. */
  tools: Record<string, FakeToolResult>
  steps: ScenarioStep[]
}
