export { defineTool, type TypedToolDefinition } from './define-tool.js'
export { ToolRegistry } from './tool-registry.js'
export { ToolExecutor, toolResultMessage, type ToolExecutorOptions, type ToolExecutionContext, type ToolExecutionEvents } from './tool-executor.js'
export type { Tool, ToolCallOutcome, ToolContext, ToolHandler, ToolPolicy } from './types.js'
