import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import { clientMessageSchemas, type ClientMessage } from './client-messages.js'
import {
  LLMRTC_ERR_PROTOCOL_INVALID_JSON,
  LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE,
  LLMRTC_ERR_PROTOCOL_MISSING_TYPE
} from '../errors.js'

export type ParseResult =
  | { kind: 'message', message: ClientMessage }
  | { kind: 'unknown', type: string }
  | { kind: 'invalid', error: Error }

const checkers = new Map<string, TypeCheck<TSchema>>(
  Object.entries(clientMessageSchemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)])
)

/**
 * Parses one text frame. Never throws: malformed input is returned as `invalid` with a typed error,
 * and an unknown `type` as `unknown` so the caller can ignore it (forward compatibility).
 */
export function parseClientMessage (text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { kind: 'invalid', error: new LLMRTC_ERR_PROTOCOL_INVALID_JSON() }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'invalid', error: new LLMRTC_ERR_PROTOCOL_MISSING_TYPE() }
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') {
    return { kind: 'invalid', error: new LLMRTC_ERR_PROTOCOL_MISSING_TYPE() }
  }
  const checker = checkers.get(type)
  if (checker === undefined) return { kind: 'unknown', type }
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First()
    const where = first === undefined || first.path === '' ? '' : `${first.path.slice(1)}: `
    const detail = first === undefined ? 'does not match the protocol' : `${where}${first.message}`
    return { kind: 'invalid', error: new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE(type, detail) }
  }
  return { kind: 'message', message: value as ClientMessage }
}
