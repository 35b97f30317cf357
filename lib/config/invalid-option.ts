import { LLMRTC_ERR_OPTIONS_INVALID } from '../errors.js'

/** Throws LLMRTC_ERR_OPTIONS_INVALID: "expected X, instead got Y", never echoing a long value (it may be a secret or a prompt). */
export function invalidOption (name: string, expected: string, actual: unknown): never {
  throw new LLMRTC_ERR_OPTIONS_INVALID(name, expected, describeValue(actual))
}

/** Throws LLMRTC_ERR_OPTIONS_INVALID unless `value` is a probability strictly between 0 and 1 (a VAD threshold). */
export function assertProbability (name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) invalidOption(name, 'a number between 0 and 1 (exclusive)', value)
}

/** A short description of a value for an error message. */
export function describeValue (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}
