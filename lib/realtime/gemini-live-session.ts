import type { LiveServerMessage, Session } from '@google/genai'
import { LLMRTC_ERR_REALTIME } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ChatMessage, ToolDefinition } from '../providers/types.js'
import { scrubSecrets } from '../providers/scrub-secrets.js'
import { GEMINI_LIVE_INPUT_MIME, GEMINI_LIVE_INPUT_RATE_HZ, GEMINI_LIVE_OUTPUT_RATE_HZ, geminiHistoryTurns, geminiLiveConfig, type GeminiLiveSettings } from './gemini-live-config.js'
import { GeminiLiveEventMapper } from './gemini-live-event-mapping.js'
import type { RealtimeEvent, RealtimeProviderSession } from './types.js'

const PROVIDER = 'gemini-live'

export interface GeminiLiveConnectOptions extends GeminiLiveSettings {
  apiKey: string
  /** The API's base URL without the version (default `https://generativelanguage.googleapis.com`; `http:` dials `ws:`). */
  baseURL?: string
  /** Deadline of the handshake and `setupComplete`, in ms. */
  connectTimeoutMs: number
  /** The conversation so far, replayed (a renewal without a resumption handle). */
  history?: ChatMessage[]
  /** Resumes an earlier session's state (`sessionResumption.handle`). */
  resumeHandle?: string
  signal: AbortSignal
  log: Logger
}

/** The SDK's socket wrapper (`NodeWebSocket`): all this module needs of it. */
interface LiveConnection { close: () => void }
interface LiveSocketFactory { create: (url: string, headers: Record<string, string>, callbacks: unknown) => LiveConnection }

/**
 * Opens a Gemini Live session with the official SDK (`ai.live.connect`, the `BidiGenerateContent` WebSocket):
 * sends the setup (lib/realtime/gemini-live-config.ts) and resolves once the server answered `setupComplete`.
 * Rejects with `LLMRTC_ERR_REALTIME` (handshake refused — 401, 5xx — a close before `setupComplete`, the
 * deadline) and closes the socket; an abort rejects with the signal's reason. Then: microphone PCM at 16 kHz
 * with `realtimeInput.audio`, the model's 24 kHz audio as `audio` events (gemini-live-event-mapping.ts).
 */
export async function openGeminiLive (options: GeminiLiveConnectOptions): Promise<RealtimeProviderSession> {
  // Loaded when a session opens, not with the package (as the Gemini LLM does).
  const { GoogleGenAI } = await import('@google/genai')
  const ai = new GoogleGenAI({ apiKey: options.apiKey, vertexai: false, apiVersion: 'v1beta', ...(options.baseURL !== undefined ? { httpOptions: { baseUrl: options.baseURL } } : {}) })
  // live.connect() gives the socket only once `setupComplete` came: its (per-client) factory is wrapped to
  // get it sooner, so an abort or the deadline can close a handshake that hangs.
  let connection: LiveConnection | undefined
  const factory = (ai.live as unknown as { webSocketFactory?: LiveSocketFactory }).webSocketFactory
  if (typeof factory?.create === 'function') {
    const create = factory.create.bind(factory)
    factory.create = (url, headers, callbacks) => { connection = create(url, headers, callbacks); return connection }
  }
  const scrub = (text: string): string => scrubSecrets(options.apiKey !== '' ? text.split(options.apiKey).join('[redacted]') : text)
  const mapper = new GeminiLiveEventMapper()
  const listeners: Array<(event: RealtimeEvent) => void> = []
  /** Events that came before the relay listened (e.g. a resumption handle right after setupComplete). */
  const early: RealtimeEvent[] = []
  let open = false
  let closed = false
  const emit = (event: RealtimeEvent): void => {
    if (listeners.length === 0) { early.push(event); return }
    for (const listener of listeners) listener(event)
  }

  const connecting = ai.live.connect({
    model: options.model,
    config: geminiLiveConfig(options, options.resumeHandle),
    callbacks: {
      onmessage: (message: LiveServerMessage) => {
        if (closed) return
        for (const event of mapper.map(message)) emit(event)
      },
      onerror: (event: { message?: string }) => {
        if (open && !closed) emit({ type: 'provider-error', message: scrub(event?.message ?? 'WebSocket error') })
      },
      onclose: (event: { code?: number, reason?: string }) => {
        if (!open || closed) { closed = true; return }
        closed = true
        const reason = typeof event?.reason === 'string' && event.reason !== '' ? ` ${event.reason.slice(0, 160)}` : ''
        emit({ type: 'closed', error: new LLMRTC_ERR_REALTIME(PROVIDER, scrub(`the socket closed (${event?.code ?? 1006}${reason})`)) })
      }
    }
  })

  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new LLMRTC_ERR_REALTIME(PROVIDER, `no session within ${options.connectTimeoutMs} ms`)) }, options.connectTimeoutMs).unref()
    onAbort = () => { reject(options.signal.reason) }
    if (options.signal.aborted) onAbort()
    else options.signal.addEventListener('abort', onAbort, { once: true })
  })
  let session: Session
  try {
    session = await Promise.race([connecting.catch((err: unknown) => { throw handshakeError(err, scrub) }), deadline])
  } catch (err) {
    closed = true
    connection?.close()
    connecting.then((late) => { late.close() }, () => {})
    throw err
  } finally {
    clearTimeout(timer)
    if (onAbort !== undefined) options.signal.removeEventListener('abort', onAbort)
  }
  open = true
  options.log.debug({ model: options.model, resumed: options.resumeHandle !== undefined }, 'gemini live session opened')

  const send = (what: string, action: () => void): void => {
    if (closed) return
    try {
      action()
    } catch (err) {
      options.log.warn({ err, what }, 'gemini live: sending failed')
    }
  }
  const turns = options.resumeHandle === undefined ? geminiHistoryTurns(options.history ?? []) : []
  // A renewal without a handle: the conversation so far, as context (no answer is asked for).
  if (turns.length > 0) send('history', () => { session.sendClientContent({ turns, turnComplete: false }) })
  const manualActivity = options.turnDetection.type === 'llmrtc'
  const openedWith = setupOf(options.instructions, options.tools)
  let activity = false

  const close = (): void => {
    if (closed) return
    closed = true
    session.close()
  }
  return {
    inputRateHz: GEMINI_LIVE_INPUT_RATE_HZ,
    outputRateHz: GEMINI_LIVE_OUTPUT_RATE_HZ,
    onEvent: (listener) => {
      listeners.push(listener)
      for (const event of early.splice(0)) listener(event)
    },
    appendAudio: (pcm) => {
      send('audio', () => {
        // With our turn detection, an utterance's first audio opens the user's activity (it interrupts the model).
        if (manualActivity && !activity) { activity = true; session.sendRealtimeInput({ activityStart: {} }) }
        session.sendRealtimeInput({ audio: { data: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64'), mimeType: GEMINI_LIVE_INPUT_MIME } })
      })
    },
    // Gemini Live keeps no per-item audio to cut: the model's turn was interrupted server-side already.
    truncate: () => {},
    sendToolOutput: (callId, output) => {
      let response: Record<string, unknown>
      try {
        const parsed: unknown = JSON.parse(output)
        response = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : { output: parsed }
      } catch {
        response = { output }
      }
      send('toolResponse', () => { session.sendToolResponse({ functionResponses: [{ id: callId, name: mapper.callName(callId) ?? '', response }] }) })
    },
    // The model goes on by itself after tool responses, and answers typed text (turnComplete) at once.
    createResponse: () => {},
    sendText: (text) => {
      send('text', () => { session.sendClientContent({ turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true }) })
    },
    // The Live API takes instructions and tools at setup only: the relay renews the session (resumed by its
    // handle, or from the transcript) with the new ones when the session says it is expiring. A change to
    // what this session was opened with already (a renewal's replayed update) needs none.
    update: (change) => {
      if (setupOf(change.instructions ?? options.instructions, change.tools) === openedWith) return
      if (!closed) queueMicrotask(() => { if (!closed) emit({ type: 'expiring' }) })
    },
    commitInput: () => {
      if (!activity) return
      activity = false
      send('activityEnd', () => { session.sendRealtimeInput({ activityEnd: {} }) })
    },
    // The next activityStart interrupts the model's turn.
    cancelResponse: () => {},
    close
  }
}

/** What a session's instructions and tools are, comparable. */
function setupOf (instructions: string | undefined, tools: ToolDefinition[]): string {
  return JSON.stringify([instructions ?? null, tools])
}

/** The SDK's connect failure, classified: a refused handshake names its HTTP status. */
function handshakeError (err: unknown, scrub: (text: string) => string): Error {
  const message = err instanceof Error ? err.message : String(err)
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1]
  const reason = status !== undefined ? `the handshake was refused with HTTP ${status}` : message
  return new LLMRTC_ERR_REALTIME(PROVIDER, scrub(reason), { cause: err })
}
