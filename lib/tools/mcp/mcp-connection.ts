import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import type { Clock, TimerHandle } from '../../clock.js'
import { LLMRTC_ERR_MCP_UNAVAILABLE } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { Tool } from '../types.js'
import type { ResolvedMcpServer } from './mcp-options.js'
import { mcpTool, type McpCallResult, type McpListedTool } from './mcp-tool.js'

/** `connected`: its tools can be called; `disconnected`: a reconnection is scheduled. */
export type McpConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'

export interface McpConnectionOptions {
  server: ResolvedMcpServer
  clock: Clock
  log: Logger
  /** A failure to report (`onError`): the server could not be reached, dropped, or listed a tool that cannot be offered. */
  onError: (err: Error) => void
  /** The server's tools changed (connected, or refreshed on `notifications/tools/list_changed`). */
  onTools: () => void
}

// The executor's deadline (the tool's timeoutMs) is the real one: it aborts the call's signal. The SDK's
// own request timeout (60 s by default) must never fire first.
const SDK_REQUEST_TIMEOUT_MS = 24 * 3_600_000

/**
 * One MCP server: connects (spawning a stdio server as a child process), lists its tools, refreshes them
 * on `notifications/tools/list_changed`, calls them, and reconnects with a doubling delay (capped at
 * `maxReconnectDelayMs`) when the connection drops (the child exits, the HTTP server stops answering).
 * While it is down its last known tools stay listed and each call fails with LLMRTC_ERR_MCP_UNAVAILABLE.
 */
export class McpConnection {
  readonly #o: McpConnectionOptions
  #state: McpConnectionState = 'idle'
  #client: Client | undefined
  #stdio: StdioClientTransport | undefined
  #tools: readonly Tool[] = []
  #failures = 0
  #timer: TimerHandle | undefined

  constructor (options: McpConnectionOptions) {
    this.#o = options
  }

  get name (): string { return this.#o.server.name }
  get state (): McpConnectionState { return this.#state }
  /** The server's tools as last listed (kept while it is down, so calls can say it is unavailable). */
  get tools (): readonly Tool[] { return this.#tools }
  /** The stdio server's process id while it runs. */
  get pid (): number | undefined { return this.#stdio?.pid ?? undefined }

  /**
   * The first connection. Resolves once connected, or once the first attempt failed (reported, and
   * retried later); rejects with LLMRTC_ERR_MCP_UNAVAILABLE when that attempt failed and the server is `required`.
   */
  async start (): Promise<void> {
    try {
      await this.#connect()
    } catch (err) {
      if (this.#o.server.required) {
        this.#state = 'disconnected'
        throw unavailable(this.name, err)
      }
      this.#failed(err)
    }
  }

  /** Calls the tool `mcpName`; throws LLMRTC_ERR_MCP_UNAVAILABLE when the server is down or the connection fails. */
  async call (mcpName: string, args: Record<string, unknown>, signal: AbortSignal): Promise<McpCallResult> {
    const client = this.#client
    if (client === undefined || this.#state !== 'connected') throw new LLMRTC_ERR_MCP_UNAVAILABLE(this.name, `its tools cannot be called now (${this.#state}); it is being reconnected`)
    try {
      return await client.callTool({ name: mcpName, arguments: args }, undefined, { signal, timeout: SDK_REQUEST_TIMEOUT_MS }) as McpCallResult
    } catch (err) {
      // Cancelled (barge-in, deadline), or refused by the server (unknown tool, bad arguments): the call
      // failed, the connection did not.
      if (signal.aborted || (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed)) throw err
      this.#dropped(client, messageOf(err))
      throw unavailable(this.name, err)
    }
  }

  /** Disconnects (a stdio server's process is ended) and stops reconnecting. Idempotent. */
  async close (): Promise<void> {
    this.#state = 'closed'
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    const client = this.#client
    this.#client = undefined
    this.#stdio = undefined
    await client?.close().catch(() => {})
  }

  async #connect (): Promise<void> {
    const { server, log } = this.#o
    this.#state = 'connecting'
    const client = new Client({ name: 'llmrtc', version: '1.0.0' }, { capabilities: {} })
    this.#client = client
    client.onclose = () => { this.#dropped(client, 'the connection closed') }
    client.onerror = (err) => { log.debug({ err, server: server.name }, 'MCP transport error') }
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => { await this.#refresh(client) })
    const signal = AbortSignal.timeout(server.connectTimeoutMs)
    try {
      await client.connect(this.#transport(), { signal, timeout: server.connectTimeoutMs })
      const listed = await listTools(client, signal)
      if (this.#client !== client) throw new LLMRTC_ERR_MCP_UNAVAILABLE(server.name, 'closed while connecting')
      this.#tools = this.#toolsOf(listed)
    } catch (err) {
      if (this.#client === client) this.#client = undefined
      await client.close().catch(() => {})
      throw err
    }
    this.#state = 'connected'
    this.#failures = 0
    log.info({ server: server.name, tools: this.#tools.length }, 'MCP server connected')
    this.#o.onTools()
  }

  #transport (): Transport {
    const server = this.#o.server
    if (server.transport === 'http') {
      return new StreamableHTTPClientTransport(server.url, { requestInit: { headers: server.headers } })
    }
    const stdio = new StdioClientTransport({
      command: server.command,
      args: server.args,
      ...(server.env !== undefined ? { env: server.env } : {}),
      ...(server.cwd !== undefined ? { cwd: server.cwd } : {}),
      stderr: 'pipe'
    })
    // Read, so a chatty server never blocks on a full pipe; debug only: it may print user data.
    stdio.stderr?.on('data', (chunk: Buffer) => { this.#o.log.debug({ server: server.name, stderr: chunk.toString() }, 'MCP server stderr') })
    this.#stdio = stdio
    return stdio
  }

  #toolsOf (listed: McpListedTool[]): Tool[] {
    const { server } = this.#o
    const tools = new Map<string, Tool>()
    const call = async (mcpName: string, args: Record<string, unknown>, signal: AbortSignal): Promise<McpCallResult> => await this.call(mcpName, args, signal)
    for (const entry of listed) {
      try {
        const tool = mcpTool(entry, { server: server.name, toolPrefix: server.toolPrefix, timeoutMs: server.timeoutMs, cancelOnBargeIn: server.cancelOnBargeIn, call })
        if (!tools.has(tool.definition.name)) tools.set(tool.definition.name, tool)
      } catch (err) {
        this.#o.log.error({ err, server: server.name }, 'an MCP tool cannot be offered')
        this.#o.onError(err as Error)
      }
    }
    return [...tools.values()]
  }

  async #refresh (client: Client): Promise<void> {
    try {
      const listed = await listTools(client, AbortSignal.timeout(this.#o.server.connectTimeoutMs))
      if (this.#client !== client) return
      this.#tools = this.#toolsOf(listed)
      this.#o.log.info({ server: this.name, tools: this.#tools.length }, 'MCP tools changed')
      this.#o.onTools()
    } catch (err) {
      this.#o.log.warn({ err, server: this.name }, 'MCP tools could not be listed again: the previous list stays')
    }
  }

  /** The connection of `client` is gone: its tools become unavailable until a reconnection succeeds. */
  #dropped (client: Client, reason: string): void {
    if (this.#client !== client || this.#state === 'closed') return
    this.#client = undefined
    this.#stdio = undefined
    void client.close().catch(() => {})
    this.#failed(new LLMRTC_ERR_MCP_UNAVAILABLE(this.name, reason))
  }

  #failed (err: unknown): void {
    // Closed, or already waiting to retry (a child that exits during the handshake fails it twice).
    if (this.#state === 'closed' || this.#timer !== undefined) return
    this.#state = 'disconnected'
    const server = this.#o.server
    const delayMs = Math.min(server.reconnectDelayMs * 2 ** Math.min(this.#failures, 30), server.maxReconnectDelayMs)
    // Reported once per outage, not on every attempt.
    if (this.#failures === 0) {
      this.#o.log.warn({ err, server: server.name, retryInMs: delayMs }, 'MCP server unavailable: reconnecting')
      this.#o.onError(unavailable(server.name, err))
    } else {
      this.#o.log.debug({ err, server: server.name, retryInMs: delayMs }, 'MCP server still unavailable')
    }
    this.#failures++
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined
      void this.#connect().catch(err => { this.#failed(err) })
    }, delayMs)
  }
}

async function listTools (client: Client, signal: AbortSignal): Promise<McpListedTool[]> {
  const listed: McpListedTool[] = []
  let cursor: string | undefined
  do {
    const page = await client.listTools(cursor !== undefined ? { cursor } : undefined, { signal })
    listed.push(...page.tools as McpListedTool[])
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return listed
}

function unavailable (server: string, err: unknown): Error {
  if ((err as { code?: unknown } | null)?.code === 'LLMRTC_ERR_MCP_UNAVAILABLE') return err as Error
  return new LLMRTC_ERR_MCP_UNAVAILABLE(server, messageOf(err), { cause: err })
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
