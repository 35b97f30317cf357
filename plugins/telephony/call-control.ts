import { randomBytes } from 'node:crypto'
import { chooseAgent, type AgentChoice, type ResolvedAgentChoice } from '../../lib/agent/agent-choice.js'
import type { UpgradeRequest } from '../../lib/config/security-options.js'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_SERVER_DRAINING, protocolCodeOf } from '../../lib/errors.js'
import type { HookRegistry } from '../../lib/hooks/hook-registry.js'
import type { TurnContext } from '../../lib/hooks/hook-types.js'
import type { Logger } from '../../lib/logger.js'
import type { Playbook } from '../../lib/playbooks/types.js'
import type { Session } from '../../lib/sessions/session.js'
import type { CarrierName } from '../../lib/telephony/carrier.js'
import type { CarrierControl } from '../../lib/telephony/carrier-control.js'
import { endCallTool, isCallTarget, transferCallTool, type CallAction } from '../../lib/telephony/call-tools.js'
import type { ToolRegistry } from '../../lib/tools/tool-registry.js'
import type { Tool } from '../../lib/tools/types.js'

/** An outbound call to place (`fastify.llmrtc.telephony.call`). */
export interface OutboundCallRequest {
  /** The callee: a phone number in E.164 form (`+14155550100`) or a `sip:` URI. */
  to: string
  /** The caller id: one of the account's numbers. */
  from: string
  /** The carrier that places it (default: the first with call control, Twilio before Telnyx and Plivo). */
  carrier?: CarrierName
  /** The call's agent, as `agentForSession` returns one (system prompt, tools, providers, playbook); default the server's. */
  agent?: AgentChoice
  /** Ask the carrier for answering-machine detection: the result comes as the `onAnsweringMachine` hook. */
  machineDetection?: boolean
  /** Aborts the dial request (not a call already placed). */
  signal?: AbortSignal
}

/** A placed outbound call: its session starts when the callee answers (keyed by `callId`, as an inbound call's). */
export interface OutboundCall {
  carrier: CarrierName
  /** The carrier's id of the call (Twilio's CallSid). */
  callId: string
}

/** `fastify.llmrtc.telephony`: calls placed and controlled by server code. */
export interface LLMRTCTelephony {
  /** Places an outbound call that, once answered, runs through the same webhook, media socket and pipeline as an inbound call. */
  call: (request: OutboundCallRequest) => Promise<OutboundCall>
  /** Hangs up the call of `sessionId` now, then closes its media socket (even if the carrier refused). */
  hangup: (sessionId: string) => Promise<void>
  /** Cold-transfers the call of `sessionId` to `to` (E.164 or `sip:` URI; not limited to `transferTargets`). */
  transfer: (sessionId: string, to: string) => Promise<void>
}

/** What call control needs to know about one running call. */
export interface ControlledCall {
  carrier: CarrierName
  callId: string
  session: Session
  /** The call's audio output, drained before a hang-up or transfer after speech. */
  media: { drain: () => Promise<void> } | undefined
}

export interface CallControlOptions {
  controls: ReadonlyMap<CarrierName, CarrierControl>
  /** Targets `transfer_call` may reach; without them the tool is not offered. */
  transferTargets: readonly string[] | undefined
  hooks: HookRegistry
  log: Logger
  now: () => number
  /** The running call of a session. */
  callOf: (sessionId: string) => ControlledCall | undefined
  /** Ends the call locally (media, socket, session). */
  endCall: (sessionId: string, reason: string) => void
  /** The carrier's answer webhook URL for an outbound call, with its one-time id; undefined when the carrier is not answered here. */
  answerUrl: (carrier: CarrierName, outboundId: string) => string | undefined
  /** Where the carrier posts answering-machine detection results, if it can. */
  machineDetectionUrl: (carrier: CarrierName) => string | undefined
  /** The server's tools and playbook, which a chosen agent is checked against. */
  serverAgent: () => { tools: ToolRegistry, playbook: Playbook | undefined }
  draining: () => boolean
  /** How long an outbound call may ring before its one-time id is forgotten, in ms. */
  outboundTimeoutMs: number
}

/** An outbound call placed and not answered yet. */
interface PendingOutbound {
  carrier: CarrierName
  callId: string | undefined
  agent: ResolvedAgentChoice | undefined
  timer: NodeJS.Timeout
}

/** Longest wait for a call's speech to play out before it is hung up or transferred, in ms. */
const DRAIN_TIMEOUT_MS = 15_000

// chooseAgent is given the choice itself: there is no upgrade request behind an outbound call.
const NO_REQUEST: UpgradeRequest = { headers: {}, query: {}, url: '', ip: '' }

/**
 * Call control: the `end_call` and `transfer_call` tools of each call, the actions they leave for the end
 * of their turn, and `fastify.llmrtc.telephony` (outbound calls, hang-up and transfer by server code).
 */
export class CallControl {
  readonly #o: CallControlOptions
  readonly #pending = new Map<string, { turnId: string, action: CallAction }>()
  readonly #outbound = new Map<string, PendingOutbound>()
  readonly #tools: Tool[]
  readonly api: LLMRTCTelephony

  constructor (options: CallControlOptions) {
    this.#o = options
    const schedule = (sessionId: string, turnId: string, action: CallAction): boolean => this.#schedule(sessionId, turnId, action)
    this.#tools = [endCallTool(schedule)]
    if (options.transferTargets !== undefined && options.transferTargets.length > 0) this.#tools.push(transferCallTool(options.transferTargets, schedule))
    options.hooks.addHook('onTurnEnd', (ctx: TurnContext) => { this.#turnEnded(ctx) })
    this.api = {
      call: async (request) => await this.#call(request),
      hangup: async (sessionId) => { await this.#hangup(this.#controlled(sessionId), 'hung up by the server') },
      transfer: async (sessionId, to) => {
        const call = this.#controlled(sessionId)
        if (!isCallTarget(to)) throw new LLMRTC_ERR_CALL_CONTROL(call.carrier, `"${String(to)}" is not a phone number in E.164 form or a sip: URI`)
        await this.#transfer(call, to)
      }
    }
  }

  /** The tools a call through `carrier` offers: none when the carrier has no call control. */
  toolsFor (carrier: CarrierName): Tool[] {
    return this.#o.controls.has(carrier) ? [...this.#tools] : []
  }

  /**
   * The outbound call an answer webhook's `?outbound=` id names, used once: its agent, if any. Undefined
   * for an unknown or expired id, or one placed for another call.
   */
  takeOutbound (outboundId: string, carrier: CarrierName, callId: string): { agent: ResolvedAgentChoice | undefined } | undefined {
    const pending = this.#outbound.get(outboundId)
    if (pending === undefined || pending.carrier !== carrier) return undefined
    // The webhook may beat the dial's response; once known, the call's id must match.
    if (pending.callId !== undefined && pending.callId !== callId) return undefined
    this.#outbound.delete(outboundId)
    clearTimeout(pending.timer)
    return { agent: pending.agent }
  }

  /** Forgets pending outbound calls (the server closes). */
  close (): void {
    for (const pending of this.#outbound.values()) clearTimeout(pending.timer)
    this.#outbound.clear()
    this.#pending.clear()
  }

  #controlled (sessionId: string): ControlledCall & { control: CarrierControl } {
    const call = this.#o.callOf(sessionId)
    if (call === undefined) throw new LLMRTC_ERR_CALL_CONTROL('telephony', `no call has the session ${sessionId}`)
    const control = this.#o.controls.get(call.carrier)
    if (control === undefined) throw new LLMRTC_ERR_CALL_CONTROL(call.carrier, 'this carrier has no call control configured (see docs/telephony.md)')
    return { ...call, control }
  }

  #schedule (sessionId: string, turnId: string, action: CallAction): boolean {
    const call = this.#o.callOf(sessionId)
    if (call === undefined || !this.#o.controls.has(call.carrier) || this.#pending.has(sessionId)) return false
    this.#pending.set(sessionId, { turnId, action })
    call.session.signal.addEventListener('abort', () => { this.#pending.delete(sessionId) }, { once: true })
    return true
  }

  /** The turn that asked for an action ended: its speech plays out, then the action runs. */
  #turnEnded (ctx: TurnContext): void {
    const pending = this.#pending.get(ctx.sessionId)
    if (pending?.turnId !== ctx.turnId) return
    this.#pending.delete(ctx.sessionId)
    const call = this.#o.callOf(ctx.sessionId)
    if (call === undefined || !this.#o.controls.has(call.carrier)) return
    void this.#afterSpeech(call, pending.action)
  }

  async #afterSpeech (call: ControlledCall, action: CallAction): Promise<void> {
    if (call.media !== undefined) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>(resolve => { timer = setTimeout(resolve, DRAIN_TIMEOUT_MS); timer.unref() })
      await Promise.race([call.media.drain(), timeout])
      clearTimeout(timer)
    }
    const controlled = this.#o.callOf(call.session.id)
    if (controlled === undefined) return
    const control = this.#o.controls.get(controlled.carrier)
    if (control === undefined) return
    try {
      if (action.type === 'hangup') await this.#hangup({ ...controlled, control }, action.reason ?? 'end_call')
      else await this.#transfer({ ...controlled, control }, action.target)
    } catch {
      // Reported already (log, onError); after a refused transfer the caller stays with the assistant.
    }
  }

  /** Hangs up through the carrier; the call ends here whatever the carrier answered. */
  async #hangup (call: ControlledCall & { control: CarrierControl }, reason: string): Promise<void> {
    try {
      await call.control.hangup(call.callId)
      this.#o.log.info({ carrier: call.carrier, callId: call.callId, sessionId: call.session.id, reason }, 'call hung up')
    } catch (error) {
      await this.#report(call, error, 'hang-up')
      throw error
    } finally {
      this.#o.endCall(call.session.id, 'hung up')
    }
  }

  /** Transfers through the carrier; once it took the call, the call leaves llmrtc. A refused transfer keeps the call. */
  async #transfer (call: ControlledCall & { control: CarrierControl }, target: string): Promise<void> {
    try {
      await call.control.transfer(call.callId, target)
    } catch (error) {
      await this.#report(call, error, 'transfer')
      throw error
    }
    this.#o.log.info({ carrier: call.carrier, callId: call.callId, sessionId: call.session.id }, 'call transferred')
    this.#o.endCall(call.session.id, 'transferred')
  }

  async #report (call: ControlledCall, error: unknown, what: string): Promise<void> {
    this.#o.log.warn({ err: error, carrier: call.carrier, callId: call.callId, sessionId: call.session.id }, `call ${what} failed`)
    const err = error instanceof Error ? error : new Error(String(error))
    await this.#o.hooks.run('onError', err, { code: protocolCodeOf(err), component: 'tool', sessionId: call.session.id, timestamp: this.#o.now(), details: { carrier: call.carrier, callId: call.callId, action: what } })
  }

  async #call (request: OutboundCallRequest): Promise<OutboundCall> {
    const carrier = request.carrier ?? [...this.#o.controls.keys()][0]
    const control = carrier === undefined ? undefined : this.#o.controls.get(carrier)
    if (carrier === undefined || control === undefined) throw new LLMRTC_ERR_CALL_CONTROL(carrier ?? 'telephony', 'no carrier with call control is configured (see docs/telephony.md)')
    if (!isCallTarget(request.to)) throw new LLMRTC_ERR_CALL_CONTROL(carrier, `"to" must be a phone number in E.164 form or a sip: URI, instead got "${String(request.to)}"`)
    if (typeof request.from !== 'string' || request.from === '') throw new LLMRTC_ERR_CALL_CONTROL(carrier, '"from" must be one of the account\'s numbers')
    if (this.#o.draining()) throw new LLMRTC_ERR_SERVER_DRAINING()
    const server = this.#o.serverAgent()
    const agent = request.agent === undefined ? undefined : await chooseAgent(() => request.agent, { principal: null, query: new URLSearchParams(), request: NO_REQUEST, sessionId: '' }, server.tools, server.playbook)
    const outboundId = randomBytes(18).toString('base64url')
    const answerUrl = this.#o.answerUrl(carrier, outboundId)
    if (answerUrl === undefined) throw new LLMRTC_ERR_CALL_CONTROL(carrier, 'the carrier\'s calls are not answered on this server')
    const machineDetectionUrl = request.machineDetection === true ? this.#o.machineDetectionUrl(carrier) : undefined
    const timer = setTimeout(() => { this.#outbound.delete(outboundId) }, this.#o.outboundTimeoutMs)
    timer.unref()
    const pending: PendingOutbound = { carrier, callId: undefined, agent, timer }
    this.#outbound.set(outboundId, pending)
    try {
      const { callId } = await control.dial({ to: request.to, from: request.from, answerUrl, ...(machineDetectionUrl !== undefined ? { machineDetectionUrl } : {}) }, request.signal)
      pending.callId = callId
      this.#o.log.info({ carrier, callId }, 'outbound call placed')
      return { carrier, callId }
    } catch (error) {
      clearTimeout(timer)
      this.#outbound.delete(outboundId)
      throw error
    }
  }
}

/** `fastify.llmrtc.telephony` when no carrier is configured: every method rejects. */
export function unconfiguredTelephony (): LLMRTCTelephony {
  const refuse = async (): Promise<never> => { throw new LLMRTC_ERR_CALL_CONTROL('telephony', 'no carrier is configured (see docs/telephony.md)') }
  return { call: refuse, hangup: refuse, transfer: refuse }
}

/** The `telephony.transferTargets` option, checked: E.164 numbers or SIP URIs, at least one. */
export function transferTargetsOf (value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0) throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.transferTargets', 'a non-empty array of E.164 numbers or sip: URIs', Array.isArray(value) ? 'an empty array' : typeof value)
  const wrong = value.find(target => !isCallTarget(target))
  if (wrong !== undefined) throw new LLMRTC_ERR_OPTIONS_INVALID('telephony.transferTargets', 'E.164 numbers (+14155550100) or sip: URIs', JSON.stringify(wrong))
  return [...value as string[]]
}
