import {
  LLMRTC_ERR_LLM, LLMRTC_ERR_LLM_TIMEOUT, LLMRTC_ERR_STT, LLMRTC_ERR_STT_TIMEOUT,
  LLMRTC_ERR_TTS, LLMRTC_ERR_TTS_TIMEOUT, isLLMRTCErrorCode
} from '../errors.js'
import { scrubSecrets } from '../providers/scrub-secrets.js'
import { linkSignals } from '../streams/link-signals.js'

export type ProviderRole = 'stt' | 'llm' | 'tts'

const failures = { stt: LLMRTC_ERR_STT, llm: LLMRTC_ERR_LLM, tts: LLMRTC_ERR_TTS }
const timeouts = { stt: LLMRTC_ERR_STT_TIMEOUT, llm: LLMRTC_ERR_LLM_TIMEOUT, tts: LLMRTC_ERR_TTS_TIMEOUT }

/** The signal one provider call runs under: the turn's, plus its own deadline. */
export interface CallSignal {
  signal: AbortSignal
  /** True when the deadline (not the turn) ended the call. */
  timedOut: () => boolean
}

export function callSignal (turn: AbortSignal, timeoutMs: number): CallSignal {
  const deadline = AbortSignal.timeout(timeoutMs)
  // Both sources are short-lived: no dispose needed (linkSignals, not AbortSignal.any: a leak per call on Node 20).
  return { signal: linkSignals(turn, deadline).signal, timedOut: () => deadline.aborted && !turn.aborted }
}

/**
 * Turns whatever a provider threw into llmrtc's error for that role (STT_ERROR, LLM_TIMEOUT, ...),
 * keeping the original as `cause`. Returns undefined when the turn itself was aborted: a cancelled
 * call ends quietly and is never reported.
 */
export function classifyProviderError (role: ProviderRole, providerName: string, error: unknown, call: CallSignal, turn: AbortSignal, timeoutMs: number): Error | undefined {
  if (turn.aborted && !call.timedOut()) return undefined
  // Provider messages may echo part of a key: scrub it before it reaches a log line or a client.
  scrubMessage(error)
  if (call.timedOut()) return new timeouts[role](providerName, timeoutMs, { cause: error })
  if (isLLMRTCErrorCode((error as { code?: unknown } | null)?.code)) return error as Error
  return new failures[role](providerName, describe(error), { cause: error })
}

/** A short, secret-free description: the HTTP status when there is one, else the scrubbed message. */
function describe (error: unknown): string {
  const status = (error as { status?: unknown } | null)?.status
  const message = scrubSecrets(error instanceof Error ? error.message : String(error))
  if (typeof status === 'number') return message.startsWith(String(status)) ? message : `${status} ${message}`
  return message
}

function scrubMessage (error: unknown): void {
  if (!(error instanceof Error)) return
  const scrubbed = scrubSecrets(error.message)
  if (scrubbed === error.message) return
  // Some errors (DOMException) have a read-only message: those are ours and carry no secret anyway.
  try { error.message = scrubbed } catch {}
}
