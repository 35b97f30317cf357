import { Type } from '@sinclair/typebox'
import { defineTool } from '../tools/define-tool.js'
import type { Tool } from '../tools/types.js'

/** The built-in tools' names. */
export const END_CALL_TOOL = 'end_call'
export const TRANSFER_CALL_TOOL = 'transfer_call'

/** A phone number in E.164 form: `+`, then up to 15 digits, the first not 0. */
const E164 = /^\+[1-9]\d{1,14}$/
/** A SIP URI: `sip:` or `sips:`, then a user@host or a host, without spaces or markup characters. */
const SIP_URI = /^sips?:[^\s<>"'&]+$/i

/** Whether `target` is a phone number in E.164 form or a `sip:`/`sips:` URI. */
export function isCallTarget (target: unknown): target is string {
  return typeof target === 'string' && (E164.test(target) || SIP_URI.test(target))
}

/** What a call tool asks for once the turn that called it has ended and its speech has played. */
export type CallAction =
  | { type: 'hangup', reason?: string }
  | { type: 'transfer', target: string }

/**
 * Records `action` for the call of `sessionId`, to run after the turn `turnId` ended (its speech played out).
 * Returns false when the session has no call that can take it (or another action is already pending).
 */
export type ScheduleCallAction = (sessionId: string, turnId: string, action: CallAction) => boolean

/** What `end_call` and `transfer_call` answer the LLM. */
export interface CallToolResult {
  status: 'ending' | 'transferring'
  /** What the assistant should say now. */
  instruction: string
}

const endCallParameters = Type.Object({
  reason: Type.Optional(Type.String({ maxLength: 200, description: 'Why the call ends, in a few words (for the logs), e.g. "caller said goodbye".' }))
}, { additionalProperties: false })

/**
 * `end_call`: "say goodbye, then hang up". The tool records the hang-up and answers with an instruction to
 * say a short goodbye; once the turn has ended and its speech has played on the call, the call is hung up
 * through the carrier's REST API (and its media socket closed even if that fails).
 */
export function endCallTool (schedule: ScheduleCallAction): Tool {
  return defineTool({
    name: END_CALL_TOOL,
    description: 'Ends the phone call. Use it when the conversation is over or the caller asks to hang up. After calling it, say one short goodbye sentence: the call is hung up once it has been said.',
    parameters: endCallParameters
  }, (args, ctx): CallToolResult => {
    const action: CallAction = args.reason !== undefined ? { type: 'hangup', reason: args.reason } : { type: 'hangup' }
    if (!schedule(ctx.sessionId, ctx.turnId, action)) throw new Error('the call is already ending or being transferred')
    return { status: 'ending', instruction: 'Say one short goodbye sentence now, nothing else; the call ends after it.' }
  }, { cancelOnBargeIn: false })
}

/**
 * `transfer_call`: a cold transfer to one of `targets` (E.164 numbers or SIP URIs, the only ones the LLM
 * may reach). The tool checks the target, records the transfer and answers with an instruction to tell the
 * caller (the `announcement`, when given); once the turn has ended and its speech has played, the carrier
 * connects the caller to the target and the call leaves llmrtc.
 */
export function transferCallTool (targets: readonly string[], schedule: ScheduleCallAction): Tool {
  const allowed = new Set(targets)
  return defineTool({
    name: TRANSFER_CALL_TOOL,
    description: `Transfers the caller to another phone number or SIP address and leaves the call. Only these targets are possible: ${targets.join(', ')}.`,
    parameters: Type.Object({
      to: Type.String({ description: `Where to transfer the caller: one of ${targets.join(', ')}.` }),
      announcement: Type.Optional(Type.String({ maxLength: 500, description: 'What to tell the caller before the transfer, e.g. "I am putting you through to billing."' }))
    }, { additionalProperties: false })
  }, (args, ctx): CallToolResult => {
    if (!isCallTarget(args.to)) throw new Error('"to" must be a phone number in E.164 form (+14155550100) or a sip: URI')
    if (!allowed.has(args.to)) throw new Error(`${args.to} is not a transfer target of this line; the possible targets are ${targets.join(', ')}`)
    if (!schedule(ctx.sessionId, ctx.turnId, { type: 'transfer', target: args.to })) throw new Error('the call is already ending or being transferred')
    const instruction = args.announcement !== undefined && args.announcement.trim() !== ''
      ? `Tell the caller exactly this, nothing else: ${JSON.stringify(args.announcement)}. The transfer happens after it.`
      : 'Tell the caller in one short sentence that you are transferring them now; the transfer happens after it.'
    return { status: 'transferring', instruction }
  }, { cancelOnBargeIn: false })
}
