import { LLMRTC_ERR_TOOL_DEFINITION } from '../errors.js'
import type { ToolDefinition } from '../providers/types.js'
import { checkTool } from './define-tool.js'
import type { Tool } from './types.js'

/**
 * Tools that come and go while the server runs (an MCP server's, listed at connect and refreshed when it
 * says they changed): read on every listing and lookup.
 */
export interface ToolSource {
  tools: () => readonly Tool[]
}

/**
 * The tools one agent (or one playbook stage) offers, by name, in registration order; then the tools of
 * its sources, less those whose name a registered tool (or an earlier source's tool) already has.
 */
export class ToolRegistry {
  readonly #tools = new Map<string, Tool>()
  readonly #sources: ToolSource[] = []

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

  /** Adds tools that may change at any time (an MCP server's); they never replace a registered tool. */
  addSource (source: ToolSource): this {
    this.#sources.push(source)
    return this
  }

  /** The tool called `name`; an arrow function, so it can be passed as `executeAll`'s lookup. */
  readonly get = (name: string): Tool | undefined => {
    const tool = this.#tools.get(name)
    if (tool !== undefined || this.#sources.length === 0) return tool
    for (const source of this.#sources) {
      const found = source.tools().find(candidate => candidate.definition.name === name)
      if (found !== undefined) return found
    }
    return undefined
  }

  has (name: string): boolean {
    return this.get(name) !== undefined
  }

  get size (): number {
    return this.#sources.length === 0 ? this.#tools.size : this.list().length
  }

  /** The tools, in registration order, then the sources' (a copy). */
  list (): Tool[] {
    const tools = [...this.#tools.values()]
    if (this.#sources.length === 0) return tools
    const names = new Set(this.#tools.keys())
    for (const source of this.#sources) {
      for (const tool of source.tools()) {
        if (names.has(tool.definition.name)) continue
        names.add(tool.definition.name)
        tools.push(tool)
      }
    }
    return tools
  }

  /** What an LLM request's `tools` carries, in registration order. */
  definitions (): ToolDefinition[] {
    return this.list().map(({ definition: { name, description, parameters } }) => ({ name, description, parameters }))
  }
}
