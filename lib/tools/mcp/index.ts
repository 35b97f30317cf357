export { McpConnection, type McpConnectionState } from './mcp-connection.js'
export { resolveMcpServers, type McpServerOptions, type McpServersOptions, type McpStdioServerOptions, type McpHttpServerOptions, type ResolvedMcpServer } from './mcp-options.js'
export { McpServers, type McpServerSetOptions, type McpServerStatus } from './mcp-servers.js'
export { mcpTool, resultOf, type McpCallResult, type McpListedTool } from './mcp-tool.js'
