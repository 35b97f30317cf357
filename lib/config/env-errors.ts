import { LLMRTC_ERR_OPTIONS_INVALID_ENV } from '../errors.js'
import { envSchema, type EnvName } from './env-schema.js'
import { describeValue } from './invalid-option.js'

interface VariableSchema { type: string, minimum?: number, maximum?: number, enum?: readonly string[] }

/** What a variable must hold, in words, from its schema ("an integer from 0 to 65535", "true or false"). */
export function expectedOf (name: EnvName): string {
  const schema: VariableSchema = envSchema.properties[name]
  if (schema.enum !== undefined) return `one of ${schema.enum.join(', ')}`
  if (schema.type === 'boolean') return 'true or false'
  if (schema.type === 'integer') {
    if (schema.minimum !== undefined && schema.maximum !== undefined) return `an integer from ${schema.minimum} to ${schema.maximum}`
    if (schema.minimum !== undefined) return `an integer >= ${schema.minimum}`
    return 'an integer'
  }
  return 'a string'
}

/** Throws LLMRTC_ERR_OPTIONS_INVALID_ENV: the variable, what it must hold, and what it holds (`actual`, as it reads in the message). */
export function invalidEnv (name: string, expected: string, actual: string): never {
  throw new LLMRTC_ERR_OPTIONS_INVALID_ENV(name, expected, actual)
}

/**
 * Turns @fastify/env's schema error (`env/MAX_SESSIONS must be >= 1`) into LLMRTC_ERR_OPTIONS_INVALID_ENV
 * for its first variable, with the value as given. Any other error is returned as it is.
 */
export function envErrorOf (error: unknown, data: Record<string, string>): unknown {
  const first = (error as { errors?: Array<{ instancePath?: unknown }> } | undefined)?.errors?.[0]
  const name = typeof first?.instancePath === 'string' ? first.instancePath.slice(1) : ''
  if (!Object.hasOwn(envSchema.properties, name)) return error
  return new LLMRTC_ERR_OPTIONS_INVALID_ENV(name, expectedOf(name as EnvName), describeValue(data[name] ?? ''))
}

/**
 * Validates one variable against its schema and coerces it, as @fastify/env would (for the standalone
 * server's PORT and LOG_LEVEL, which the plugin does not read). Undefined or empty: undefined.
 */
export function readEnvValue (name: EnvName, value: string | undefined): string | number | boolean | undefined {
  if (value === undefined || value === '') return undefined
  const schema: VariableSchema = envSchema.properties[name]
  if (schema.enum !== undefined && !schema.enum.includes(value)) invalidEnv(name, expectedOf(name), describeValue(value))
  if (schema.type === 'boolean') {
    if (value !== 'true' && value !== 'false') invalidEnv(name, expectedOf(name), describeValue(value))
    return value === 'true'
  }
  if (schema.type === 'integer') {
    const number = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN
    if (!Number.isSafeInteger(number) || (schema.minimum !== undefined && number < schema.minimum) || (schema.maximum !== undefined && number > schema.maximum)) {
      invalidEnv(name, expectedOf(name), describeValue(value))
    }
    return number
  }
  return value
}
