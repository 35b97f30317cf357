import { LLMRTC_ERR_EVAL_SCENARIO } from '../errors.js'
import type { Playbook } from '../playbooks/types.js'
import type { Tool } from '../tools/types.js'
import type { FakeToolResult, Scenario } from './scenario.js'

/** What a faked tool throws: the scenario's error message, which the LLM reads as the tool's failure. */
export class FakeToolError extends Error {
  override readonly name = 'FakeToolError'
}

/**
 * The fake tool results of the step being run. Tools wrapped by `wrap` answer with the current step's
 * fake (else the scenario's) instead of running their handler; tools without a fake run for real.
 * Scenarios run one after another, so one instance serves a whole run.
 */
export class FakeTools {
  #fakes: Record<string, FakeToolResult> = {}

  /** Sets the fakes of the step about to run: the step's over the scenario's. */
  use (scenarioFakes: Record<string, FakeToolResult>, stepFakes: Record<string, FakeToolResult> = {}): void {
    this.#fakes = { ...scenarioFakes, ...stepFakes }
  }

  /** A copy of `tool` whose handler answers with the current fake when there is one. */
  wrap<T extends Tool> (tool: T): T {
    const name = tool.definition.name
    const handler = tool.handler.bind(tool)
    return {
      ...tool,
      handler: async (args: Parameters<T['handler']>[0], ctx: Parameters<T['handler']>[1]) => {
        const fake = Object.hasOwn(this.#fakes, name) ? this.#fakes[name] : undefined
        if (fake === undefined) return await handler(args, ctx)
        ctx.signal.throwIfAborted()
        if ('error' in fake) throw new FakeToolError(fake.error)
        return structuredClone(fake.result)
      }
    }
  }

  /** `playbook` with every tool of its stages (and its global tools) wrapped. */
  wrapPlaybook (playbook: Playbook): Playbook {
    const wrapped: Playbook = { ...playbook, stages: playbook.stages.map(stage => stage.tools === undefined ? stage : { ...stage, tools: stage.tools.map(tool => this.wrap(tool)) }) }
    if (playbook.globalTools !== undefined) wrapped.globalTools = playbook.globalTools.map(tool => this.wrap(tool))
    return wrapped
  }
}

/** The names of every tool a server has: its `tools` and its playbook's. */
export function toolNames (tools: readonly Tool[], playbook: Playbook | undefined): Set<string> {
  const all = [...tools, ...playbook?.globalTools ?? [], ...playbook?.stages.flatMap(stage => stage.tools ?? []) ?? []]
  return new Set(all.map(tool => tool.definition.name))
}

/**
 * Throws LLMRTC_ERR_EVAL_SCENARIO when a scenario fakes a tool the server does not have (a typo would
 * otherwise let the real handler run).
 */
export function checkFakedTools (scenarios: readonly Scenario[], names: ReadonlySet<string>): void {
  const known = names.size === 0 ? 'it has none' : `its tools: ${[...names].sort().join(', ')}`
  for (const scenario of scenarios) {
    const check = (fakes: Record<string, FakeToolResult>, where: string): void => {
      for (const name of Object.keys(fakes)) {
        if (!names.has(name)) throw new LLMRTC_ERR_EVAL_SCENARIO(scenario.file, `${where}.${name}: the configured server has no tool "${name}" to fake (${known}; tools of MCP servers cannot be faked)`)
      }
    }
    check(scenario.tools, 'tools')
    scenario.steps.forEach((step, i) => { check(step.tools, `step ${i + 1}, tools`) })
  }
}
