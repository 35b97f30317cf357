import { invalidOption } from '../../config/invalid-option.js'

/** What every MCP server takes, whatever its transport. */
export interface McpServerCommonOptions {
  /**
   * Put before each of the server's tool names, so two servers (or your own tools) never clash
   * (default `"<server name>_"`; `''` keeps the server's names as they are).
   */
  toolPrefix?: string
  /** Startup (`ready()`) fails when the server cannot be reached (default false: logged, `onError`, and retried). */
  required?: boolean
  /** Deadline of one call of the server's tools, in ms (default: the server's `toolTimeoutMs`). */
  timeoutMs?: number
  /** Barge-in cancels the server's calls (default true; the server is sent `notifications/cancelled`). */
  cancelOnBargeIn?: boolean
  /** Deadline of one connection attempt (spawn or HTTP, the MCP handshake and the tool list), in ms (default 10 000). */
  connectTimeoutMs?: number
  /** First delay before reconnecting a dropped server, in ms (default 500); it doubles on each failed attempt. */
  reconnectDelayMs?: number
  /** Longest delay between reconnection attempts, in ms (default 30 000). */
  maxReconnectDelayMs?: number
}

/** A server run as a child process, spoken to over its stdin and stdout. */
export interface McpStdioServerOptions extends McpServerCommonOptions {
  /** Default: `'stdio'` when `command` is given. */
  transport?: 'stdio'
  /** The executable to run (looked up in PATH). */
  command: string
  args?: string[]
  /** The child's environment (default: the SDK's safe subset of this process's: HOME, PATH, USER, ...). */
  env?: Record<string, string>
  /** The child's working directory (default this process's). */
  cwd?: string
}

/** A server reached over MCP's streamable HTTP transport. */
export interface McpHttpServerOptions extends McpServerCommonOptions {
  /** Default: `'http'` when `url` is given. */
  transport?: 'http'
  /** The server's MCP endpoint, http: or https:. */
  url: string
  /** Sent with every request (an `Authorization` header, for example). Secrets: never logged. */
  headers?: Record<string, string>
}

export type McpServerOptions = McpStdioServerOptions | McpHttpServerOptions

/** MCP servers by name: the name is used in logs, errors and (by default) the tool names' prefix. */
export type McpServersOptions = Record<string, McpServerOptions>

interface ResolvedCommon {
  name: string
  toolPrefix: string
  required: boolean
  timeoutMs: number | undefined
  cancelOnBargeIn: boolean
  connectTimeoutMs: number
  reconnectDelayMs: number
  maxReconnectDelayMs: number
}

/** One server's options after defaults, discriminated by `transport`. */
export type ResolvedMcpServer = ResolvedCommon & (
  | { transport: 'stdio', command: string, args: string[], env: Record<string, string> | undefined, cwd: string | undefined }
  | { transport: 'http', url: URL, headers: Record<string, string> }
)

const SERVER_NAME = /^[a-zA-Z0-9_-]{1,32}$/
const KEYS = new Set(['transport', 'command', 'args', 'env', 'cwd', 'url', 'headers', 'toolPrefix', 'required', 'timeoutMs', 'cancelOnBargeIn', 'connectTimeoutMs', 'reconnectDelayMs', 'maxReconnectDelayMs'])

/** Checks `mcpServers` (the option, or a playbook stage's, `where` naming it). Throws LLMRTC_ERR_OPTIONS_INVALID. */
export function resolveMcpServers (servers: unknown, where = 'mcpServers'): ResolvedMcpServer[] {
  if (servers === undefined) return []
  if (servers === null || typeof servers !== 'object' || Array.isArray(servers)) invalidOption(where, 'an object of MCP servers by name', servers)
  return Object.entries(servers).map(([name, options]) => resolveServer(name, options, `${where}.${name}`))
}

function resolveServer (name: string, given: unknown, where: string): ResolvedMcpServer {
  if (!SERVER_NAME.test(name)) invalidOption(where, 'a server name of 1 to 32 letters, digits, "_" or "-"', name)
  if (given === null || typeof given !== 'object' || Array.isArray(given)) invalidOption(where, 'an object { command, args, env, cwd } or { url, headers }', given)
  const o = given as Record<string, unknown>
  const unknown = Object.keys(o).find(key => !KEYS.has(key))
  if (unknown !== undefined) invalidOption(`${where}.${unknown}`, `one of ${[...KEYS].join(', ')}`, unknown)
  const transport = o.transport ?? (o.command !== undefined ? 'stdio' : o.url !== undefined ? 'http' : undefined)
  const common: ResolvedCommon = {
    name,
    toolPrefix: optional(o.toolPrefix, `${name}_`, v => typeof v === 'string' && /^[a-zA-Z0-9_-]{0,32}$/.test(v), `${where}.toolPrefix`, 'up to 32 letters, digits, "_" or "-"'),
    required: optional(o.required, false, v => typeof v === 'boolean', `${where}.required`, 'a boolean'),
    timeoutMs: optional<number | undefined>(o.timeoutMs, undefined, isPositiveInteger, `${where}.timeoutMs`, 'an integer number of ms >= 1'),
    cancelOnBargeIn: optional(o.cancelOnBargeIn, true, v => typeof v === 'boolean', `${where}.cancelOnBargeIn`, 'a boolean'),
    connectTimeoutMs: optional(o.connectTimeoutMs, 10_000, isPositiveInteger, `${where}.connectTimeoutMs`, 'an integer number of ms >= 1'),
    reconnectDelayMs: optional(o.reconnectDelayMs, 500, isPositiveInteger, `${where}.reconnectDelayMs`, 'an integer number of ms >= 1'),
    maxReconnectDelayMs: optional(o.maxReconnectDelayMs, 30_000, isPositiveInteger, `${where}.maxReconnectDelayMs`, 'an integer number of ms >= 1')
  }
  if (transport === 'stdio') {
    if (typeof o.command !== 'string' || o.command === '') invalidOption(`${where}.command`, 'the executable to run', o.command)
    if (o.url !== undefined) invalidOption(`${where}.url`, 'no url for a stdio server', o.url)
    return {
      ...common,
      transport,
      command: o.command,
      args: optional(o.args, [], v => Array.isArray(v) && v.every(a => typeof a === 'string'), `${where}.args`, 'an array of strings'),
      env: optional<Record<string, string> | undefined>(o.env, undefined, isStringRecord, `${where}.env`, 'an object of strings'),
      cwd: optional<string | undefined>(o.cwd, undefined, v => typeof v === 'string' && v !== '', `${where}.cwd`, 'a directory')
    }
  }
  if (transport === 'http') {
    if (o.command !== undefined) invalidOption(`${where}.command`, 'no command for an http server', o.command)
    let url: URL | undefined
    try {
      url = typeof o.url === 'string' ? new URL(o.url) : undefined
    } catch {}
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) invalidOption(`${where}.url`, 'an http: or https: URL', o.url)
    return { ...common, transport, url, headers: optional(o.headers, {}, isStringRecord, `${where}.headers`, 'an object of strings') }
  }
  return invalidOption(`${where}.transport`, '"stdio" (with command) or "http" (with url)', transport)
}

function optional<T> (value: unknown, fallback: T, valid: (value: unknown) => boolean, where: string, expected: string): T {
  if (value === undefined) return fallback
  if (!valid(value)) invalidOption(where, expected, value)
  return value as T
}

function isPositiveInteger (value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1
}

function isStringRecord (value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every(v => typeof v === 'string')
}
