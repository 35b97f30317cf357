import type { Clock } from '../../clock.js'
import { LLMRTC_ERR_TOOL_DEFINITION } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { ToolSource } from '../tool-registry.js'
import type { Tool } from '../types.js'
import { McpConnection, type McpConnectionState } from './mcp-connection.js'
import type { ResolvedMcpServer } from './mcp-options.js'

export interface McpServerSetOptions {
  /** The server-wide servers: their tools are offered in every turn. */
  servers: ResolvedMcpServer[]
  /** Each playbook stage's servers: their tools are offered in that stage only. */
  stages?: Array<{ stage: object, servers: ResolvedMcpServer[] }>
  /** Names taken by the app's own tools (server and playbook): an MCP tool of one of these names is not offered. */
  reservedNames?: () => ReadonlySet<string>
  clock: Clock
  log: Logger
  /** A server failed (unreachable, dropped) or offers a tool that cannot be offered. */
  onError: (err: Error, server: string) => void
}

/** One server's state, for `fastify.llmrtcMcp.servers()` and health checks. */
export interface McpServerStatus {
  name: string
  /** The playbook stage whose server it is; absent for a server-wide one. */
  stage?: object
  state: McpConnectionState
  /** The names its tools are offered under. */
  tools: string[]
}

interface Entry { connection: McpConnection, stage: object | undefined }

/**
 * Every MCP server of the app: connects them, and keeps the tools each scope (the server, a playbook
 * stage) offers. Tool names are unique across all MCP servers and the app's own tools: a tool whose name
 * is taken is not offered, and reported (LLMRTC_ERR_TOOL_DEFINITION) once.
 */
export class McpServers {
  readonly #o: McpServerSetOptions
  readonly #entries: Entry[] = []
  #offered = new Map<McpConnection, readonly Tool[]>()
  readonly #reported = new Set<string>()

  /** The tools of the server-wide servers, as a registry source. */
  readonly serverTools: ToolSource

  constructor (options: McpServerSetOptions) {
    this.#o = options
    const names = new Set<string>()
    const add = (server: ResolvedMcpServer, stage: object | undefined): void => {
      // One connection per name: a name is how logs, errors and prefixes tell servers apart.
      if (names.has(server.name)) throw new LLMRTC_ERR_TOOL_DEFINITION(server.name, 'two MCP servers have this name')
      names.add(server.name)
      const connection: McpConnection = new McpConnection({
        server,
        clock: options.clock,
        log: options.log,
        onError: (err) => { options.onError(err, server.name) },
        onTools: () => { this.#recompute() }
      })
      this.#entries.push({ connection, stage })
    }
    for (const server of options.servers) add(server, undefined)
    for (const { stage, servers } of options.stages ?? []) for (const server of servers) add(server, stage)
    this.serverTools = { tools: () => this.#toolsOf(undefined) }
  }

  /** The tools of `stage`'s own servers, as a source. */
  stageTools (stage: object): ToolSource {
    return { tools: () => this.#toolsOf(stage) }
  }

  get size (): number { return this.#entries.length }

  /** Connects every server at once. Rejects (after closing them all) when a `required` one cannot be reached. */
  async start (): Promise<void> {
    const results = await Promise.allSettled(this.#entries.map(async ({ connection }) => { await connection.start() }))
    const failed = results.find(result => result.status === 'rejected')
    if (failed !== undefined) {
      await this.close()
      throw failed.reason
    }
  }

  /** Each server: its name, stage, state and offered tool names. */
  status (): McpServerStatus[] {
    return this.#entries.map(({ connection, stage }) => ({
      name: connection.name,
      ...(stage !== undefined ? { stage } : {}),
      state: connection.state,
      tools: (this.#offered.get(connection) ?? []).map(tool => tool.definition.name)
    }))
  }

  /** The connection of the server `name` (tests, diagnostics). */
  connection (name: string): McpConnection | undefined {
    return this.#entries.find(entry => entry.connection.name === name)?.connection
  }

  /** Disconnects every server (stdio servers' processes end). Idempotent. */
  async close (): Promise<void> {
    await Promise.all(this.#entries.map(async ({ connection }) => { await connection.close() }))
  }

  #toolsOf (stage: object | undefined): Tool[] {
    const tools: Tool[] = []
    for (const entry of this.#entries) if (entry.stage === stage) tools.push(...this.#offered.get(entry.connection) ?? [])
    return tools
  }

  /** Which tools each server offers, after the names taken by the app's tools and earlier servers. */
  #recompute (): void {
    const taken = new Set(this.#o.reservedNames?.() ?? [])
    const offered = new Map<McpConnection, readonly Tool[]>()
    for (const { connection } of this.#entries) {
      const kept: Tool[] = []
      for (const tool of connection.tools) {
        const name = tool.definition.name
        if (!taken.has(name)) {
          taken.add(name)
          kept.push(tool)
          continue
        }
        const key = `${connection.name}:${name}`
        if (this.#reported.has(key)) continue
        this.#reported.add(key)
        const err = new LLMRTC_ERR_TOOL_DEFINITION(name, `the MCP server "${connection.name}" offers a tool of a name already taken; it is not offered (set the server's toolPrefix)`)
        this.#o.log.error({ err, server: connection.name }, 'MCP tool name clash')
        this.#o.onError(err, connection.name)
      }
      offered.set(connection, kept)
    }
    this.#offered = offered
  }
}
