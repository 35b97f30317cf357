import { availableParallelism } from 'node:os'
import { invalidEnv } from '../config/env-errors.js'
import { describeValue, invalidOption } from '../config/invalid-option.js'

/** The `workers` option: a number of processes, or `auto` (one per core the process may use). */
export type WorkerCount = number | 'auto'

const EXPECTED = 'a positive integer or "auto"'

/**
 * How many processes serve: the option, else env WORKERS, else 1 (one process, no cluster). `auto` is
 * `os.availableParallelism()`. Throws LLMRTC_ERR_OPTIONS_INVALID / _INVALID_ENV for anything else.
 */
export function resolveWorkerCount (option: unknown, envValue: string | undefined): number {
  if (option !== undefined) {
    const count = parseCount(option)
    if (count === undefined) invalidOption('workers', EXPECTED, option)
    return count
  }
  if (envValue === undefined || envValue.trim() === '') return 1
  const text = parseWorkerCountText(envValue.trim())
  const count = text === undefined ? undefined : parseCount(text)
  if (count === undefined) invalidEnv('WORKERS', EXPECTED, describeValue(envValue))
  return count
}

/** The `--workers` flag's text as the option takes it: `auto`, or a positive integer; undefined if neither. */
export function parseWorkerCountText (text: string): WorkerCount | undefined {
  if (text === 'auto') return 'auto'
  return /^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text)) ? Number(text) : undefined
}

function parseCount (value: unknown): number | undefined {
  if (value === 'auto') return availableParallelism()
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value
  return undefined
}
