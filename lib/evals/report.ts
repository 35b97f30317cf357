import type { ScenarioReport, StepReport } from './run-scenarios.js'

/**
 * A scenario's report as text: a PASS or FAIL line naming the scenario and its file, then one line per
 * step (its user line, tools called, stages entered, latency), and under a failed step each failed
 * expectation (what was expected, what came) and the answer.
 */
export function formatScenarioReport (report: ScenarioReport): string {
  const lines = [`${report.pass ? 'PASS' : 'FAIL'}  ${report.scenario.name} (${report.scenario.file})`]
  for (const step of report.steps) lines.push(...formatStep(step))
  if (report.error !== undefined) lines.push(`    ${report.error}`)
  return `${lines.join('\n')}\n`
}

/** The closing line: scenarios passed and failed. */
export function formatSummary (reports: readonly ScenarioReport[]): string {
  const passed = reports.filter(report => report.pass).length
  return `${passed} passed, ${reports.length - passed} failed\n`
}

function formatStep (step: StepReport): string[] {
  const seen = step.seen
  const facts: string[] = []
  if (seen !== undefined) {
    if (seen.toolCalls.length > 0) facts.push(`tools: ${seen.toolCalls.map(call => call.name).join(', ')}`)
    if (seen.stagesEntered.length > 0) facts.push(`stage -> ${seen.stagesEntered.join(' -> ')}`)
    if (seen.firstAudioMs !== undefined) facts.push(`first audio ${Math.round(seen.firstAudioMs)} ms`)
  }
  const lines = [`  ${step.pass ? '✓' : '✗'} step ${step.step}: ${JSON.stringify(step.user)}${facts.length > 0 ? `  [${facts.join('; ')}]` : ''}`]
  if (step.pass || seen === undefined) return lines
  for (const outcome of step.outcomes.filter(o => !o.pass)) {
    lines.push(`      ${outcome.field}: expected ${outcome.expected}, instead got ${outcome.got}`)
  }
  if (seen.heard !== undefined) lines.push(`      heard: ${JSON.stringify(seen.heard)}`)
  lines.push(`      answer: ${JSON.stringify(seen.answer)}`)
  if (seen.answerText !== seen.answer && seen.answerText !== '') lines.push(`      the LLM said: ${JSON.stringify(seen.answerText)}`)
  return lines
}
