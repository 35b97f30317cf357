import type { OpenAIRealtimeWS } from 'openai/realtime/ws'
import type { ConversationItem } from 'openai/resources/realtime/realtime'
import { LLMRTC_ERR_REALTIME } from '../errors.js'
import { lazyModule } from '../providers/lazy-module.js'
import { loadOpenAISDK } from '../providers/openai/sdk.js'
import type { Logger } from '../logger.js'
import type { ChatMessage } from '../providers/types.js'
import { scrubSecrets } from '../providers/scrub-secrets.js'
import { mapOpenAIEvent } from './openai-event-mapping.js'
import { OPENAI_REALTIME_RATE_HZ, openAISessionUpdate, openAITools, type OpenAISessionSettings } from './openai-session-config.js'
import type { RealtimeEvent, RealtimeProviderSession } from './types.js'

/** The SDK's WebSocket client, imported when the first relay session opens (not with the package). */
const realtimeWS = lazyModule(async () => await import('openai/realtime/ws'))

const PROVIDER = 'openai-realtime'
/** OpenAI ends a Realtime session after 60 minutes (its documented cap). */
export const OPENAI_REALTIME_MAX_SESSION_MS = 60 * 60_000
/** How long before the cap `expiring` is emitted, at most (and at most half the session). */
const EXPIRY_NOTICE_MS = 60_000

export interface OpenAIRealtimeConnectOptions extends OpenAISessionSettings {
  apiKey: string
  baseURL?: string
  /** Deadline of the handshake and the first `session.updated`, in ms. */
  connectTimeoutMs: number
  signal: AbortSignal
  log: Logger
  /** The conversation so far (a renewed session): replayed as conversation items before the open resolves. */
  history?: ChatMessage[]
  /**
   * The provider's session cap, in ms (default 60 minutes): `expiring` is emitted a minute before it (or
   * half-way, for a short cap), so the relay renews the session in time.
   */
  maxSessionMs?: number
}

/**
 * Opens an OpenAI Realtime session over the SDK's WebSocket client (`openai/realtime/ws`): connects, sends
 * `session.update`, and resolves once the server confirmed it with `session.updated`. Rejects with
 * `LLMRTC_ERR_REALTIME` (handshake refused — 401, 5xx — an `error` event instead of the confirmation, the
 * deadline, or a cut) and closes the socket; an abort rejects with the signal's reason.
 */
export async function openOpenAIRealtime (options: OpenAIRealtimeConnectOptions): Promise<RealtimeProviderSession> {
  const [{ default: OpenAI }, { OpenAIRealtimeWS }] = await Promise.all([loadOpenAISDK(), realtimeWS.load()])
  const client = new OpenAI({ apiKey: options.apiKey, ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}), maxRetries: 0 })
  const rt = new OpenAIRealtimeWS({ model: options.model, options: { handshakeTimeout: options.connectTimeoutMs } }, client)
  const socket = rt.socket
  const listeners: Array<(event: RealtimeEvent) => void> = []
  let open = false
  let closed = false
  const emit = (event: RealtimeEvent): void => { for (const listener of listeners) listener(event) }

  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const ready = new Promise<void>((resolve, reject) => {
    const fail = (reason: string, cause?: unknown): void => { reject(new LLMRTC_ERR_REALTIME(PROVIDER, scrubSecrets(reason), { cause })) }
    timer = setTimeout(() => { fail(`no session within ${options.connectTimeoutMs} ms`) }, options.connectTimeoutMs).unref()
    onAbort = () => { reject(options.signal.reason) }
    if (options.signal.aborted) onAbort()
    options.signal.addEventListener('abort', onAbort, { once: true })
    socket.once('unexpected-response', (_req, res) => { fail(`the handshake was refused with HTTP ${res.statusCode ?? 0}`); res.resume() })
    socket.once('open', () => {
      rt.send({ type: 'session.update', session: openAISessionUpdate(options) })
      for (const message of options.history ?? []) {
        if (message.role !== 'user' && message.role !== 'assistant') continue
        rt.send({ type: 'conversation.item.create', item: historyItem(message.role, message.content) })
      }
    })
    rt.on('session.updated', () => { open = true; resolve() })
    rt.on('error', (err) => {
      if (!open) { fail(err.message, err); return }
      // The server's cap: it closes the socket next. The relay renews the session.
      if (err.error?.code === 'session_expired') { emit({ type: 'expiring', timeLeftMs: 0 }); return }
      emit({ type: 'provider-error', message: scrubSecrets(err.message), ...(typeof err.error?.code === 'string' ? { code: err.error.code } : {}) })
    })
    socket.once('close', (code, reason) => {
      const why = `the socket closed (${code}${reason.length > 0 ? ` ${reason.toString('utf8').slice(0, 120)}` : ''})`
      if (!open) fail(why)
      else if (!closed) emit({ type: 'closed', error: new LLMRTC_ERR_REALTIME(PROVIDER, scrubSecrets(why)) })
      closed = true
    })
  })
  // The SDK emits `error` for error events too: handled above. Every other event is mapped here.
  rt.on('event', (raw) => {
    if (raw.type === 'error') return
    const event = mapOpenAIEvent(raw)
    if (event !== undefined) emit(event)
  })

  // Set once the session is open: `expiring` before the provider's cap.
  const expiry: { timer?: NodeJS.Timeout } = {}
  const close = (): void => {
    clearTimeout(expiry.timer)
    if (closed) return
    closed = true
    if (socket.readyState === socket.CONNECTING) socket.terminate()
    else socket.close(1000)
  }
  try {
    await ready
  } catch (err) {
    close()
    throw err
  } finally {
    clearTimeout(timer)
    if (onAbort !== undefined) options.signal.removeEventListener('abort', onAbort)
  }
  options.log.debug({ model: options.model, historyMessages: options.history?.length ?? 0 }, 'realtime session opened')
  const maxSessionMs = options.maxSessionMs ?? OPENAI_REALTIME_MAX_SESSION_MS
  const noticeMs = Math.min(EXPIRY_NOTICE_MS, Math.floor(maxSessionMs / 2))
  expiry.timer = setTimeout(() => { if (!closed) emit({ type: 'expiring', timeLeftMs: noticeMs }) }, maxSessionMs - noticeMs).unref()
  socket.once('close', () => { clearTimeout(expiry.timer) })

  const send = (event: Parameters<OpenAIRealtimeWS['send']>[0]): void => {
    if (!closed && socket.readyState === socket.OPEN) rt.send(event)
  }
  return {
    inputRateHz: OPENAI_REALTIME_RATE_HZ,
    outputRateHz: OPENAI_REALTIME_RATE_HZ,
    onEvent: (listener) => { listeners.push(listener) },
    appendAudio: (pcm) => {
      send({ type: 'input_audio_buffer.append', audio: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64') })
    },
    truncate: (itemId, contentIndex, audioEndMs) => {
      send({ type: 'conversation.item.truncate', item_id: itemId, content_index: contentIndex, audio_end_ms: Math.max(0, Math.floor(audioEndMs)) })
    },
    sendToolOutput: (callId, output) => {
      send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } })
    },
    createResponse: () => { send({ type: 'response.create' }) },
    sendText: (text) => {
      send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } })
    },
    update: (change) => {
      send({ type: 'session.update', session: { type: 'realtime', ...(change.instructions !== undefined ? { instructions: change.instructions } : {}), ...openAITools(change.tools) } })
    },
    commitInput: () => {
      send({ type: 'input_audio_buffer.commit' })
      send({ type: 'response.create' })
    },
    cancelResponse: () => { send({ type: 'response.cancel' }) },
    close
  }
}

/** A message of the conversation as an item: the user's as `input_text`, the model's as `output_text`. */
function historyItem (role: 'user' | 'assistant', text: string): ConversationItem {
  return role === 'user'
    ? { type: 'message', role, content: [{ type: 'input_text', text }] }
    : { type: 'message', role, content: [{ type: 'output_text', text }] }
}
