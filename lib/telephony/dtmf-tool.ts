import { Type } from '@sinclair/typebox'
import { defineTool } from '../tools/define-tool.js'
import type { Tool } from '../tools/types.js'
import { DEFAULT_FIRST_DIGIT_TIMEOUT_MS, DEFAULT_INTER_DIGIT_TIMEOUT_MS, type DtmfCollector } from './dtmf.js'

/** The built-in tool's name. */
export const COLLECT_DIGITS_TOOL = 'collect_digits'

/** The longest wait for one key the LLM may ask for, in ms. */
export const MAX_DIGIT_TIMEOUT_MS = 60_000

const parameters = Type.Object({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 32, description: 'How many keys to collect, e.g. 4 for a PIN. Omit it to collect until the terminator key.' })),
  terminator: Type.Optional(Type.String({ pattern: '^[0-9*#A-D]$', description: 'The key that ends the entry (not included in the result). Default "#" when count is not given.' })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: MAX_DIGIT_TIMEOUT_MS, description: `How long to wait for each key in ms (default ${DEFAULT_FIRST_DIGIT_TIMEOUT_MS} for the first, ${DEFAULT_INTER_DIGIT_TIMEOUT_MS} between keys).` }))
}, { additionalProperties: false })

/** What `collect_digits` answers: the keys, and `timedOut` when the caller stopped pressing before the count or terminator. */
export interface CollectDigitsResult {
  digits: string
  timedOut?: true
}

/**
 * `collect_digits`: the LLM asks for keys on the phone's keypad ("enter your 4-digit PIN") and gets them
 * as the call's result. Keys already pressed since the last collection count. Offered on calls only
 * (the telephony plugin adds it to the session's transport tools). The collection ends at `count` keys, at
 * the terminator (default '#' without a count), or when the caller stops pressing (then `timedOut`); the
 * call's signal (barge-in, the tool's deadline) ends it too.
 */
export function collectDigitsTool (collector: DtmfCollector): Tool {
  return defineTool({
    name: COLLECT_DIGITS_TOOL,
    description: 'Collects keys the caller presses on the phone keypad (DTMF), e.g. an account number or a menu choice. Ask the caller to press the keys first. Returns { digits }, with timedOut: true when the caller stopped pressing keys before the entry was complete.',
    parameters
  }, async (args, ctx): Promise<CollectDigitsResult> => {
    const terminator = args.terminator ?? (args.count === undefined ? '#' : undefined)
    const collected = await collector.collect({
      ...(args.count !== undefined ? { count: args.count } : {}),
      ...(terminator !== undefined ? { terminator } : {}),
      ...(args.timeoutMs !== undefined ? { firstDigitTimeoutMs: args.timeoutMs, interDigitTimeoutMs: args.timeoutMs } : {}),
      signal: ctx.signal
    })
    // Cut by barge-in or the deadline: the executor reports that, not a partial entry.
    ctx.signal.throwIfAborted()
    return collected.timedOut ? { digits: collected.digits, timedOut: true } : { digits: collected.digits }
  }, {
    // A backstop well past the usual entry: the collection's own timeouts end it first.
    timeoutMs: 5 * MAX_DIGIT_TIMEOUT_MS
  })
}
