import { LLMRTC_ERR_MCP_TOOL_ERROR } from '../../errors.js'
import { defineTool } from '../define-tool.js'
import type { Tool } from '../types.js'

/** A tool as an MCP server lists it (the fields llmrtc uses). */
export interface McpListedTool {
  name: string
  title?: string
  description?: string
  inputSchema: Record<string, unknown>
}

/** A `tools/call` result (the fields llmrtc uses). */
export interface McpCallResult {
  content?: Array<Record<string, unknown>>
  structuredContent?: Record<string, unknown>
  isError?: boolean
}

/** Runs one call on the server: its MCP name, the checked arguments, the call's signal. */
export type McpCall = (mcpName: string, args: Record<string, unknown>, signal: AbortSignal) => Promise<McpCallResult>

/** What a server's tools share: the prefix of their names, their policy, how they are called. */
export interface McpToolOptions {
  server: string
  toolPrefix: string
  timeoutMs: number | undefined
  cancelOnBargeIn: boolean
  call: McpCall
}

/**
 * The llmrtc tool of an MCP server's tool: named `<prefix><name>` (characters other than letters,
 * digits, "_" and "-" become "_"), with the server's input schema (its `$schema` dropped: draft-07 is
 * what the executor checks against). Throws LLMRTC_ERR_TOOL_DEFINITION when it cannot be offered
 * (a name over 64 characters, a schema that does not compile).
 */
export function mcpTool (listed: McpListedTool, o: McpToolOptions): Tool {
  const name = `${o.toolPrefix}${listed.name.replace(/[^a-zA-Z0-9_-]/g, '_')}`
  const { $schema: _dialect, ...parameters } = listed.inputSchema
  const description = listed.description ?? listed.title ?? ''
  return defineTool({ name, description, parameters }, async (args, ctx) => resultOf(o.server, await o.call(listed.name, args, ctx.signal)), {
    cancelOnBargeIn: o.cancelOnBargeIn,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {})
  })
}

/**
 * What the LLM reads of a call's result: its `structuredContent` when it has one, else its content as
 * text (text blocks joined by newlines; other blocks named, e.g. `[image image/png]`). `isError` throws
 * LLMRTC_ERR_MCP_TOOL_ERROR with the text, which the executor reports to the LLM as the tool's error.
 */
export function resultOf (server: string, result: McpCallResult): unknown {
  const text = (result.content ?? []).map(describeBlock).join('\n')
  if (result.isError === true) throw new LLMRTC_ERR_MCP_TOOL_ERROR(server, text === '' ? 'the tool failed' : text)
  return result.structuredContent ?? text
}

function describeBlock (block: Record<string, unknown>): string {
  switch (block.type) {
    case 'text': return String(block.text)
    case 'resource': {
      const resource = block.resource as { text?: unknown, uri?: unknown } | undefined
      return typeof resource?.text === 'string' ? resource.text : `[resource ${String(resource?.uri)}]`
    }
    case 'resource_link': return `[resource ${String(block.uri)}]`
    default: return `[${String(block.type)} ${String(block.mimeType ?? '')}]`.replace(' ]', ']')
  }
}
