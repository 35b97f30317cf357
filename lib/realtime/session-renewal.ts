import { LLMRTC_ERR_REALTIME } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ChatMessage, ToolDefinition } from '../providers/types.js'
import type { OpenRealtimeSession, RealtimeEvent, RealtimeProviderSession, RealtimeSessionChange } from './types.js'

/** Microphone kept while a session is renewed, in ms (older audio is dropped). */
export const DEFAULT_RENEWAL_BUFFER_MS = 2000
/** Most messages of the mirrored transcript a renewed session is given. */
export const DEFAULT_RENEWAL_HISTORY_MESSAGES = 40
/** Most characters of the mirrored transcript a renewed session is given. */
export const DEFAULT_RENEWAL_HISTORY_CHARS = 16_000
/** With more time left than this, an `expiring` notice waits for the response in progress to finish. */
const DEFER_MARGIN_MS = 2000

export interface SessionRenewalOptions {
  /** The provider session opened at connect. */
  initial: RealtimeProviderSession
  /** Opens the replacement (the same provider and settings). */
  open: OpenRealtimeSession
  /** The session's instructions and tools now (a playbook's `update()` changes them). */
  instructions?: string
  tools: ToolDefinition[]
  /** The conversation so far, as the relay mirrors it (final texts of both sides). */
  history: () => ChatMessage[]
  log: Logger
  /** Microphone kept while renewing, in ms (default 2000); older audio is dropped. */
  maxBufferMs?: number
  maxHistoryMessages?: number
  maxHistoryChars?: number
}

/**
 * A provider session that renews itself: on `expiring` (OpenAI's session cap, Gemini's `goAway`) it opens a
 * replacement with the latest resume handle, or else the mirrored transcript, switches to it and closes the
 * old one. The relay sees one session throughout. While renewing, microphone audio is kept in a bounded
 * buffer (the oldest is dropped) and flushed to the new session; typed text and responses asked for wait
 * too. The old session goes on speaking until the switch. One renewal at a time; a renewal that fails ends
 * the session (`closed`), and `close()` aborts a renewal in progress.
 */
export class RenewingSession implements RealtimeProviderSession {
  readonly inputRateHz: number
  readonly outputRateHz: number
  readonly #o: SessionRenewalOptions
  readonly #listeners: Array<(event: RealtimeEvent) => void> = []
  #current: RealtimeProviderSession
  #instructions: string | undefined
  #tools: ToolDefinition[]
  #resumeHandle: string | undefined
  /** The response of the current session in progress (cancelled for the relay when it is replaced). */
  #activeResponseId: string | undefined
  /** Items and calls of the current session: truncates and tool outputs for a replaced one are dropped. */
  #items = new Set<string>()
  #calls = new Set<string>()
  #renewal: AbortController | undefined
  #deferTimer: NodeJS.Timeout | undefined
  #deferred = false
  readonly #buffer: Int16Array[] = []
  #bufferedSamples = 0
  #droppedSamples = 0
  /** Calls that wait for the new session (typed text, response.create, playbook updates). */
  #pending: Array<(session: RealtimeProviderSession) => void> = []
  #renewals = 0
  #closed = false
  #handedOver = false

  constructor (options: SessionRenewalOptions) {
    this.#o = options
    this.#current = options.initial
    this.inputRateHz = options.initial.inputRateHz
    this.outputRateHz = options.initial.outputRateHz
    this.#instructions = options.instructions
    this.#tools = options.tools
    this.#listen(options.initial)
  }

  /** Renewals completed so far. */
  get renewals (): number { return this.#renewals }

  /** A renewal is in progress. */
  get renewing (): boolean { return this.#renewal !== undefined }

  onEvent (listener: (event: RealtimeEvent) => void): void {
    this.#listeners.push(listener)
  }

  appendAudio (pcm: Int16Array): void {
    if (this.#closed) return
    if (this.#renewal === undefined) {
      this.#current.appendAudio(pcm)
      return
    }
    // A copy: the caller's array is reused for the next frame.
    this.#buffer.push(pcm.slice())
    this.#bufferedSamples += pcm.length
    const max = Math.floor(this.inputRateHz * (this.#o.maxBufferMs ?? DEFAULT_RENEWAL_BUFFER_MS) / 1000)
    while (this.#bufferedSamples > max && this.#buffer.length > 0) {
      const oldest = this.#buffer.shift() as Int16Array
      this.#bufferedSamples -= oldest.length
      if (this.#droppedSamples === 0) this.#o.log.warn({ maxBufferMs: this.#o.maxBufferMs ?? DEFAULT_RENEWAL_BUFFER_MS }, 'realtime renewal: microphone buffer full, dropping the oldest audio')
      this.#droppedSamples += oldest.length
    }
  }

  truncate (itemId: string, contentIndex: number, audioEndMs: number): void {
    if (this.#items.has(itemId)) this.#current.truncate(itemId, contentIndex, audioEndMs)
  }

  sendToolOutput (callId: string, output: string): void {
    if (this.#calls.has(callId)) this.#current.sendToolOutput(callId, output)
  }

  createResponse (): void {
    if (this.#renewal !== undefined) this.#pending.push(session => { session.createResponse() })
    else this.#current.createResponse()
  }

  sendText (text: string): void {
    // Already in the mirrored history when a renewal starts later; while renewing, it waits for the new session.
    if (this.#renewal !== undefined) this.#pending.push(session => { session.sendText(text) })
    else this.#current.sendText(text)
  }

  update (change: RealtimeSessionChange): void {
    if (change.instructions !== undefined) this.#instructions = change.instructions
    this.#tools = change.tools
    this.#current.update(change)
    if (this.#renewal !== undefined) this.#pending.push(session => { session.update(change) })
  }

  commitInput (): void {
    // While renewing, after the buffered audio has reached the new session.
    if (this.#renewal !== undefined) this.#pending.push(session => { session.commitInput() })
    else this.#current.commitInput()
  }

  cancelResponse (): void {
    this.#current.cancelResponse()
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#deferTimer)
    this.#renewal?.abort(new LLMRTC_ERR_REALTIME('renewal', 'the session was closed while renewing'))
    this.#renewal = undefined
    this.#buffer.length = 0
    this.#pending = []
    if (!this.#handedOver) this.#current.close()
  }

  /**
   * Gives the provider session to a new owner (a relay rebuilt for a resumed session): this wrapper stops
   * (a renewal in progress is aborted), and its `close()` leaves the provider session open.
   */
  handOver (): RealtimeProviderSession {
    this.#handedOver = true
    this.close()
    return this.#current
  }

  /**
   * Replaces the provider session now (an `expiring` notice does this by itself). Resolves once the new
   * session took over, or the renewal failed (the session then ends with `closed`); a second call while
   * one runs waits for nothing and does nothing.
   */
  async renew (reason: string): Promise<void> {
    if (this.#closed || this.#renewal !== undefined) return
    clearTimeout(this.#deferTimer)
    this.#deferTimer = undefined
    this.#deferred = false
    const controller = new AbortController()
    this.#renewal = controller
    this.#droppedSamples = 0
    const old = this.#current
    const history = renewalHistory(this.#o.history(), this.#o.maxHistoryMessages, this.#o.maxHistoryChars)
    const log = this.#o.log
    log.info({ reason, historyMessages: history.length, resume: this.#resumeHandle !== undefined }, 'realtime session renewing')
    const setup = {
      ...(this.#instructions !== undefined ? { instructions: this.#instructions } : {}),
      tools: this.#tools,
      history,
      signal: controller.signal,
      log
    }
    const handle = this.#resumeHandle
    let next: RealtimeProviderSession
    try {
      if (handle === undefined) {
        next = await this.#o.open(setup)
      } else {
        // A handle the provider no longer knows: once more, from the transcript.
        next = await this.#o.open({ ...setup, resumeHandle: handle }).catch(async (err: unknown) => {
          if (controller.signal.aborted) throw err
          log.warn({ err }, 'realtime session resumption failed: renewing from the transcript')
          return await this.#o.open(setup)
        })
      }
    } catch (err) {
      if (this.#closed || controller.signal.aborted) return
      this.#renewal = undefined
      log.warn({ err, reason }, 'realtime session renewal failed')
      const error = err instanceof Error ? err : new LLMRTC_ERR_REALTIME('renewal', String(err))
      this.close()
      this.#emit({ type: 'closed', error })
      return
    }
    if (this.#closed || controller.signal.aborted) {
      next.close()
      return
    }
    // The old session's response in progress ends here for the relay: its tools are cancelled, its queued
    // audio plays out.
    const cut = this.#activeResponseId
    this.#activeResponseId = undefined
    this.#items = new Set()
    this.#calls = new Set()
    this.#resumeHandle = undefined
    this.#current = next
    this.#listen(next)
    this.#renewal = undefined
    this.#renewals++
    if (cut !== undefined) this.#emit({ type: 'response-done', responseId: cut, status: 'cancelled' })
    const buffered = this.#buffer.splice(0)
    this.#bufferedSamples = 0
    for (const pcm of buffered) next.appendAudio(pcm)
    for (const call of this.#pending.splice(0)) call(next)
    old.close()
    log.info({ reason, flushedMs: Math.round(buffered.reduce((n, pcm) => n + pcm.length, 0) * 1000 / this.inputRateHz), droppedMs: Math.round(this.#droppedSamples * 1000 / this.inputRateHz) }, 'realtime session renewed')
  }

  #listen (session: RealtimeProviderSession): void {
    session.onEvent((event) => {
      if (this.#closed || session !== this.#current) return
      this.#handle(event)
    })
  }

  #handle (event: RealtimeEvent): void {
    switch (event.type) {
      case 'resume-handle':
        this.#resumeHandle = event.handle
        return
      case 'expiring':
        this.#expiring(event.timeLeftMs)
        return
      case 'closed':
        // While renewing, the old session's end is expected: the renewal decides what follows. After an
        // `expiring` notice that waited for a response, the end is the expiry: renew now.
        if (this.#renewal !== undefined) return
        if (this.#deferred) {
          void this.renew('expired')
          return
        }
        this.close()
        break
      case 'response-started':
        this.#activeResponseId = event.responseId
        break
      case 'response-done':
        if (this.#activeResponseId === event.responseId) this.#activeResponseId = undefined
        this.#emit(event)
        if (this.#deferred) void this.renew('expiring')
        return
      case 'audio':
        this.#items.add(event.itemId)
        break
      case 'tool-call':
        this.#calls.add(event.callId)
        break
    }
    this.#emit(event)
  }

  /** Renews now, or once the response in progress is done when there is time for it. */
  #expiring (timeLeftMs: number | undefined): void {
    if (this.#renewal !== undefined || this.#deferred) return
    if (this.#activeResponseId === undefined || timeLeftMs === undefined || timeLeftMs <= DEFER_MARGIN_MS) {
      void this.renew('expiring')
      return
    }
    this.#deferred = true
    this.#deferTimer = setTimeout(() => { void this.renew('expiring') }, timeLeftMs - DEFER_MARGIN_MS).unref()
  }

  #emit (event: RealtimeEvent): void {
    for (const listener of this.#listeners) listener(event)
  }
}

/**
 * What a renewed session is told of the conversation: the final user and assistant texts (no tool
 * messages), the newest ones that fit in `maxMessages` and `maxChars`, oldest first.
 */
export function renewalHistory (messages: ChatMessage[], maxMessages = DEFAULT_RENEWAL_HISTORY_MESSAGES, maxChars = DEFAULT_RENEWAL_HISTORY_CHARS): ChatMessage[] {
  const kept: ChatMessage[] = []
  let chars = 0
  for (let i = messages.length - 1; i >= 0 && kept.length < maxMessages; i--) {
    const message = messages[i] as ChatMessage
    if ((message.role !== 'user' && message.role !== 'assistant') || message.content.trim() === '') continue
    if (chars + message.content.length > maxChars) break
    chars += message.content.length
    kept.push({ role: message.role, content: message.content })
  }
  return kept.reverse()
}
