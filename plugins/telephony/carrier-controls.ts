import { randomBytes } from 'node:crypto'
import type { LLMRTCEnv } from '../../lib/config/env-schema.js'
import type { CarrierControl } from '../../lib/telephony/carrier-control.js'
import { createPlivoControl } from '../../lib/telephony/plivo-control.js'
import { createTelnyxControl } from '../../lib/telephony/telnyx-control.js'

function given (value: string | undefined): value is string {
  return value !== undefined && value !== ''
}

/** Telnyx call-control settings (beside the webhook's `publicKey`). */
export interface TelnyxControlSettings {
  apiKey?: string
  accountSid?: string
  applicationId?: string
  apiBaseUrl?: string
}

/** Plivo call-control settings (beside the webhook's `authToken`). */
export interface PlivoControlSettings {
  authId?: string
  apiBaseUrl?: string
}

/** Telnyx's call control when its API key and account id are given (options, else TELNYX_API_KEY, TELNYX_ACCOUNT_SID). */
export function telnyxControlOf (settings: TelnyxControlSettings | undefined, env: LLMRTCEnv): CarrierControl | undefined {
  const apiKey = settings?.apiKey ?? env.TELNYX_API_KEY
  const accountSid = settings?.accountSid ?? env.TELNYX_ACCOUNT_SID
  const applicationId = settings?.applicationId ?? env.TELNYX_APPLICATION_ID
  if (!given(apiKey) || !given(accountSid)) return undefined
  return createTelnyxControl({
    apiKey,
    accountSid,
    ...(given(applicationId) ? { applicationId } : {}),
    ...(settings?.apiBaseUrl !== undefined ? { baseUrl: settings.apiBaseUrl } : {})
  })
}

/** Plivo's call control when its auth id is given (option, else PLIVO_AUTH_ID) beside the auth token. */
export function plivoControlOf (settings: PlivoControlSettings | undefined, authToken: string, env: LLMRTCEnv, transferUrl: (target: string) => string): CarrierControl | undefined {
  const authId = settings?.authId ?? env.PLIVO_AUTH_ID
  if (!given(authId)) return undefined
  return createPlivoControl({ authId, authToken, transferUrl, ...(settings?.apiBaseUrl !== undefined ? { baseUrl: settings.apiBaseUrl } : {}) })
}

/**
 * Plivo transfers by pointing the call at a URL that answers the dial XML: each transfer gets a one-time
 * id there, which maps to its target for `ttlMs` (Plivo fetches it at once; a retry within the time works).
 */
export class TransferTargets {
  readonly #targets = new Map<string, string>()
  readonly #timers = new Set<NodeJS.Timeout>()

  constructor (readonly ttlMs = 5 * 60_000) {}

  /** A new id for `target`. */
  issue (target: string): string {
    const id = randomBytes(18).toString('base64url')
    this.#targets.set(id, target)
    const timer = setTimeout(() => { this.#targets.delete(id); this.#timers.delete(timer) }, this.ttlMs)
    timer.unref()
    this.#timers.add(timer)
    return id
  }

  /** The target of `id`, if it was issued and has not expired. */
  target (id: string): string | undefined {
    return this.#targets.get(id)
  }

  close (): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#targets.clear()
  }
}
