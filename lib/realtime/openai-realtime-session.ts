import OpenAI from 'openai'
import { OpenAIRealtimeWS } from 'openai/realtime/ws'
import { LLMRTC_ERR_REALTIME } from '../errors.js'
import type { Logger } from '../logger.js'
import { scrubSecrets } from '../providers/scrub-secrets.js'
import { mapOpenAIEvent } from './openai-event-mapping.js'
import { OPENAI_REALTIME_RATE_HZ, openAISessionUpdate, openAITools, type OpenAISessionSettings } from './openai-session-config.js'
import type { RealtimeEvent, RealtimeProviderSession } from './types.js'

const PROVIDER = 'openai-realtime'

export interface OpenAIRealtimeConnectOptions extends OpenAISessionSettings {
  apiKey: string
  baseURL?: string
  /** Deadline of the handshake and the first `session.updated`, in ms. */
  connectTimeoutMs: number
  signal: AbortSignal
  log: Logger
}

/**
 * Opens an OpenAI Realtime session over the SDK's WebSocket client (`openai/realtime/ws`): connects, sends
 * `session.update`, and resolves once the server confirmed it with `session.updated`. Rejects with
 * `LLMRTC_ERR_REALTIME` (handshake refused — 401, 5xx — an `error` event instead of the confirmation, the
 * deadline, or a cut) and closes the socket; an abort rejects with the signal's reason.
 */
export async function openOpenAIRealtime (options: OpenAIRealtimeConnectOptions): Promise<RealtimeProviderSession> {
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
    socket.once('open', () => { rt.send({ type: 'session.update', session: openAISessionUpdate(options) }) })
    rt.on('session.updated', () => { open = true; resolve() })
    rt.on('error', (err) => {
      if (!open) { fail(err.message, err); return }
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

  const close = (): void => {
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
  options.log.debug({ model: options.model }, 'realtime session opened')

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
