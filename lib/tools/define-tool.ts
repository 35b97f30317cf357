import type { Static, TObject } from '@sinclair/typebox'
import { Ajv, type ValidateFunction } from 'ajv'
import { LLMRTC_ERR_TOOL_DEFINITION } from '../errors.js'
import type { ToolDefinition } from '../providers/types.js'
import type { Tool, ToolHandler, ToolPolicy } from './types.js'

/** OpenAI's rule for function names; the strictest of the providers we support. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/

// One instance for every tool. strict: false lets user schemas carry `description`, `examples` and other
// annotations; allErrors: false stops at the first error, the one the LLM is told about.
const ajv = new Ajv({ allErrors: false, strict: false })

// Compiled validators, keyed by the schema object: compiled once per tool, never per call, and
// collected with the tool.
const validators = new WeakMap<object, ValidateFunction>()

/** A tool definition whose parameters are a TypeBox object schema (`Type.Object({ ... })`). */
export interface TypedToolDefinition<Schema extends TObject> {
  name: string
  description: string
  parameters: Schema
}

/**
 * Defines a tool the LLM may call. Validated now, so a bad tool fails at startup, not mid-conversation:
 * throws `LLMRTC_ERR_TOOL_DEFINITION` when the name does not match `/^[a-zA-Z0-9_-]{1,64}$/`, the
 * description is not a string, or `parameters` is not a valid JSON Schema (draft-07) of `type: 'object'`.
 *
 * The definition is copied and frozen, so what the LLM is shown is what the arguments are validated
 * against. With a TypeBox schema (`parameters: Type.Object({ orderId: Type.String() })`), the handler's
 * arguments are typed from it (`Static<typeof schema>`); with a plain JSON Schema, name them with the
 * first type parameter: `defineTool<{ orderId: string }>({ ... }, async ({ orderId }, { signal }) => ...)`.
 *
 * @param policy `cancelOnBargeIn` (default true), `timeoutMs` (default: the executor's)
 */
export function defineTool<Schema extends TObject, Result = unknown> (
  definition: TypedToolDefinition<Schema>,
  handler: ToolHandler<Static<Schema>, Result>,
  policy?: ToolPolicy
): Tool<Static<Schema>, Result>
export function defineTool<Args = Record<string, unknown>, Result = unknown> (
  definition: ToolDefinition,
  handler: ToolHandler<Args, Result>,
  policy?: ToolPolicy
): Tool<Args, Result>
export function defineTool<Args, Result> (
  definition: ToolDefinition,
  handler: ToolHandler<Args, Result>,
  policy: ToolPolicy = {}
): Tool<Args, Result> {
  const name = nameOf(definition)
  checkDefinition(name, definition)
  let parameters: Record<string, unknown>
  try {
    parameters = deepFreeze(structuredClone(definition.parameters))
  } catch (err) {
    throw new LLMRTC_ERR_TOOL_DEFINITION(name, `parameters must be plain JSON data (${messageOf(err)})`, { cause: err })
  }
  const tool: Tool<Args, Result> = {
    definition: Object.freeze({ name, description: definition.description, parameters }),
    handler,
    cancelOnBargeIn: policy?.cancelOnBargeIn ?? true
  }
  if (policy?.timeoutMs !== undefined) tool.timeoutMs = policy.timeoutMs
  checkTool(tool)
  return Object.freeze(tool)
}

/**
 * The compiled validator of a tool's arguments. Tools from `defineTool` have one already; a tool built
 * by hand is checked like `defineTool` checks (throwing `LLMRTC_ERR_TOOL_DEFINITION`) and compiled on
 * first use.
 */
export function checkTool (tool: Tool<any, any>): ValidateFunction {
  const name = nameOf(tool?.definition)
  if (typeof tool.handler !== 'function') throw new LLMRTC_ERR_TOOL_DEFINITION(name, `expected the handler to be a function, instead got ${typeName(tool.handler)}`)
  if (tool.cancelOnBargeIn !== undefined && typeof tool.cancelOnBargeIn !== 'boolean') {
    throw new LLMRTC_ERR_TOOL_DEFINITION(name, `expected cancelOnBargeIn to be a boolean, instead got ${typeName(tool.cancelOnBargeIn)}`)
  }
  if (tool.timeoutMs !== undefined && !(typeof tool.timeoutMs === 'number' && Number.isFinite(tool.timeoutMs) && tool.timeoutMs > 0)) {
    throw new LLMRTC_ERR_TOOL_DEFINITION(name, `expected timeoutMs to be a positive number of ms, instead got ${String(tool.timeoutMs)}`)
  }
  const compiled = validators.get(tool.definition.parameters)
  if (compiled !== undefined) return compiled
  checkDefinition(name, tool.definition)
  const parameters = tool.definition.parameters
  if (parameters.$async === true) throw new LLMRTC_ERR_TOOL_DEFINITION(name, 'parameters must not be an $async schema')
  let validate: ValidateFunction
  try {
    validate = ajv.compile(parameters)
  } catch (err) {
    throw new LLMRTC_ERR_TOOL_DEFINITION(name, `parameters is not a valid JSON Schema: ${messageOf(err)}`, { cause: err })
  } finally {
    // The validator is self-contained once compiled. Dropping the schema from Ajv's cache keeps the
    // shared instance from holding every tool ever defined, and lets two tools reuse one `$id`.
    ajv.removeSchema(parameters)
  }
  validators.set(parameters, validate)
  return validate
}

function nameOf (definition: unknown): string {
  const name = (definition as { name?: unknown } | null | undefined)?.name
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
    const rule = 'expected the name to be 1 to 64 letters, digits, "_" or "-"'
    if (typeof name === 'string') throw new LLMRTC_ERR_TOOL_DEFINITION(name, rule)
    throw new LLMRTC_ERR_TOOL_DEFINITION(typeName(name), `${rule}, instead got ${typeName(name)}`)
  }
  return name
}

function checkDefinition (name: string, definition: ToolDefinition): void {
  if (typeof definition.description !== 'string') {
    throw new LLMRTC_ERR_TOOL_DEFINITION(name, `expected the description to be a string, instead got ${typeName(definition.description)}`)
  }
  const parameters: unknown = definition.parameters
  if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new LLMRTC_ERR_TOOL_DEFINITION(name, `expected parameters to be a JSON Schema object, instead got ${typeName(parameters)}`)
  }
  const type = (parameters as { type?: unknown }).type
  if (type !== 'object') {
    throw new LLMRTC_ERR_TOOL_DEFINITION(name, `expected parameters to be a schema of type "object", instead got type ${JSON.stringify(type) ?? 'undefined'}`)
  }
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

function typeName (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
