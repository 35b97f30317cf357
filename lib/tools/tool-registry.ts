import { LLMRTC_ERR_TOOL_DEFINITION } from '../errors.js'
import type { ToolDefinition } from '../providers/types.js'
import { checkTool } from './define-tool.js'
import type { Tool } from './types.js'

/** The tools one agent (or one playbook stage) offers, by name, in registration order. */
export class ToolRegistry {
  readonly #tools = new Map<string, Tool>()

  /** @param tools registered in order; throws like `register` */
  constructor (tools: Iterable<Tool> = []) {
    for (const tool of tools) this.register(tool)
  }

  /**
   * Adds a tool. Throws `LLMRTC_ERR_TOOL_DEFINITION` when its name is taken, or when a tool built by hand
   * (not with `defineTool`) is invalid.
   */
  register (tool: Tool): this {
    checkTool(tool)
    const name = tool.definition.name
    if (this.#tools.has(name)) throw new LLMRTC_ERR_TOOL_DEFINITION(name, 'a tool with this name is already registered')
    this.#tools.set(name, tool)
    return this
  }

  /** The tool called `name`; an arrow function, so it can be passed as `executeAll`'s lookup. */
  readonly get = (name: string): Tool | undefined => this.#tools.get(name)

  has (name: string): boolean {
    return this.#tools.has(name)
  }

  get size (): number {
    return this.#tools.size
  }

  /** The tools, in registration order (a copy). */
  list (): Tool[] {
    return [...this.#tools.values()]
  }

  /** What an LLM request's `tools` carries, in registration order. */
  definitions (): ToolDefinition[] {
    return this.list().map(({ definition: { name, description, parameters } }) => ({ name, description, parameters }))
  }
}
