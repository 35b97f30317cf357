import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'

/**
 * A loopback stand-in for OpenAI's realtime transcription WebSocket (GA protocol), for provider tests.
 *
 * `GET /v1/realtime?intent=transcription` upgrades with `Authorization: Bearer <apiKey>` (else 401 with
 * OpenAI's JSON error, the key masked as OpenAI masks it). The mock sends `session.created`, answers
 * `session.update` (type `transcription`, 24 kHz `audio/pcm`, a known model) with `session.updated`,
 * collects `input_audio_buffer.append` (base64 s16le), and on `input_audio_buffer.commit` answers
 * `input_audio_buffer.committed`, then one `…input_audio_transcription.delta` per word it "heard" (one word
 * of `transcript` per 100 ms of 24 kHz audio), then `…completed` with the words joined; with
 * `gpt-realtime-whisper` (natively streaming) the deltas come while the audio arrives. Under 100 ms, the
 * commit gets OpenAI's `input_audio_buffer_commit_empty` error event. The mock never closes a healthy
 * session: the client does. `fail()` scripts failures; everything is recorded in `sessions`.
 */
export interface RealtimeTranscriptionMockOptions {
  /** Accepted key (default 'sk-test-realtime-key'). */
  apiKey?: string
  /** What the mock "hears" (default 'hello from the openai realtime mock'). */
  transcript?: string
  /** Pause between deltas, in ms (default 2). */
  deltaIntervalMs?: number
}

/** A scripted failure for the next connection. */
export type RealtimeTranscriptionMockFailure =
  /** Refuse the upgrade with this HTTP status and OpenAI's JSON error body. */
  | { kind: 'status', status: number }
  /** Accept the TCP connection and never answer the upgrade. */
  | { kind: 'hang' }
  /** Destroy the TCP connection (no close frame) once this many append events arrived. */
  | { kind: 'drop', afterAppends: number }
  /** Open and read everything, but never send an event nor close. */
  | { kind: 'mute' }
  /** Answer the commit with this server `error` event instead of a transcript. */
  | { kind: 'error-event', error: { type: string, code: string, message: string } }
  /** Answer the commit with `…input_audio_transcription.failed` after the first delta. */
  | { kind: 'transcription-failed' }

export interface RealtimeSessionRecord {
  query: URLSearchParams
  authorization: string | undefined
  /** The `OpenAI-Beta` header, if any (the GA protocol sends none). */
  openaiBeta: string | undefined
  /** Client event types, in order. */
  received: string[]
  /** The `session` of each `session.update`. */
  sessionUpdates: Array<Record<string, unknown>>
  /** The appended audio, decoded: 24 kHz s16le mono. */
  audio: Buffer
  /** The server events the mock sent. */
  sent: Array<Record<string, unknown>>
  closedBy?: { by: 'client' | 'server', code: number, reason: string }
  closed: Promise<{ by: 'client' | 'server', code: number, reason: string }>
}

export interface RealtimeTranscriptionMock {
  /** http://127.0.0.1:PORT/v1: the provider's `baseURL`. */
  readonly baseURL: string
  readonly apiKey: string
  transcript: string
  /** Every upgrade, in order: the HTTP status answered (101 accepted, 0 never answered). */
  readonly handshakes: number[]
  readonly sessions: RealtimeSessionRecord[]
  /** The next `times` (default 1) connections fail as scripted. */
  fail: (failure: RealtimeTranscriptionMockFailure, times?: number) => void
  close: () => Promise<void>
}

const MODELS = new Set(['gpt-4o-mini-transcribe', 'gpt-4o-mini-transcribe-2025-12-15', 'gpt-4o-transcribe', 'whisper-1', 'gpt-realtime-whisper', 'gpt-live-transcribe'])
/** 100 ms of 24 kHz s16le. */
const BYTES_PER_WORD = 4800

function errorBody (status: number, key: string | undefined): string {
  const shown = key === undefined ? '' : `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`
  const error = status === 401
    ? { message: `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' }
    : status === 429
      ? { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' }
      : { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null }
  return JSON.stringify({ error })
}

export async function startRealtimeTranscriptionMock (options: RealtimeTranscriptionMockOptions = {}): Promise<RealtimeTranscriptionMock> {
  const o = { apiKey: 'sk-test-realtime-key', transcript: 'hello from the openai realtime mock', deltaIntervalMs: 2, ...options }
  const failures: RealtimeTranscriptionMockFailure[] = []
  const hung = new Set<Socket>()
  const wss = new WebSocketServer({ noServer: true })
  const server = createServer((_req, res) => { res.writeHead(404).end() })
  const mock: RealtimeTranscriptionMock = {
    get baseURL () { return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` },
    apiKey: o.apiKey,
    transcript: o.transcript,
    handshakes: [],
    sessions: [],
    fail: (failure, times = 1) => { for (let i = 0; i < times; i++) failures.push(failure) },
    close: async () => {
      for (const socket of hung) socket.destroy()
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://mock')
    const failure = failures.shift()
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const status = url.pathname !== '/v1/realtime' ? 404 : bearer !== o.apiKey ? 401 : failure?.kind === 'status' ? failure.status : 0
    mock.handshakes.push(status !== 0 ? status : failure?.kind === 'hang' ? 0 : 101)
    if (status !== 0) {
      const body = errorBody(status, bearer)
      socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
      return
    }
    if (failure?.kind === 'hang') { hung.add(socket); return }
    wss.handleUpgrade(req, socket, head, ws => { serve(ws, req, url.searchParams, failure) })
  })

  function serve (ws: WebSocket, req: IncomingMessage, query: URLSearchParams, failure: RealtimeTranscriptionMockFailure | undefined): void {
    let resolveClosed: (value: { by: 'client' | 'server', code: number, reason: string }) => void = () => {}
    const beta = req.headers['openai-beta']
    const record: RealtimeSessionRecord = {
      query,
      authorization: req.headers.authorization,
      openaiBeta: Array.isArray(beta) ? beta.join(',') : beta,
      received: [],
      sessionUpdates: [],
      audio: Buffer.alloc(0),
      sent: [],
      closed: new Promise(resolve => { resolveClosed = resolve })
    }
    mock.sessions.push(record)
    const sessionId = `sess_${randomUUID().replaceAll('-', '').slice(0, 20)}`
    const mute = failure?.kind === 'mute'
    let serverClosing = false
    let appends = 0
    let buffered = 0
    let previousItemId: string | null = null
    let session: Record<string, unknown> = { object: 'realtime.session', type: 'transcription', id: sessionId, audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: null, noise_reduction: null, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 } } }, include: null }
    const send = (event: Record<string, unknown>): void => {
      if (mute || ws.readyState !== ws.OPEN) return
      const full = { event_id: `event_${randomUUID().replaceAll('-', '').slice(0, 20)}`, ...event }
      record.sent.push(full)
      ws.send(JSON.stringify(full))
    }
    const sendError = (type: string, code: string, message: string, param: string | null = null): void => {
      send({ type: 'error', error: { type, code, message, param, event_id: null } })
    }
    send({ type: 'session.created', session })

    const wordsFor = (bytes: number): string[] => mock.transcript.split(/\s+/).filter(w => w !== '').slice(0, Math.floor(bytes / BYTES_PER_WORD))
    const streaming = (): boolean => ((session.audio as { input?: { transcription?: { model?: string } } }).input?.transcription?.model) === 'gpt-realtime-whisper'
    // gpt-realtime-whisper streams: its deltas come while the audio arrives, for the item the commit will name.
    let streamedItemId: string | undefined
    let streamedWords = 0
    const transcribe = async (itemId: string, bytes: number, from = 0): Promise<void> => {
      const words = wordsFor(bytes)
      for (const [i, word] of words.entries()) {
        if (i < from) continue
        if (ws.readyState !== ws.OPEN) return
        send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: i === 0 ? word : ` ${word}` })
        if (failure?.kind === 'transcription-failed') {
          send({ type: 'conversation.item.input_audio_transcription.failed', item_id: itemId, content_index: 0, error: { type: 'transcription_error', code: 'audio_unintelligible', message: 'The audio could not be transcribed.', param: null } })
          return
        }
        await new Promise(resolve => setTimeout(resolve, o.deltaIntervalMs))
      }
      send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript: words.join(' '), usage: { type: 'duration', seconds: bytes / 48000 } })
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const text = (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8')
      let event: { type?: unknown, audio?: unknown, session?: Record<string, unknown> }
      try {
        event = isBinary ? {} : JSON.parse(text)
      } catch {
        sendError('invalid_request_error', 'invalid_json', 'The server could not parse the event.')
        return
      }
      const type = String(event.type)
      record.received.push(type)
      if (type === 'session.update') {
        const update = event.session ?? {}
        record.sessionUpdates.push(update)
        const input = (update.audio as { input?: { format?: { type?: string, rate?: number }, transcription?: { model?: string } } } | undefined)?.input
        if (update.type !== 'transcription' || query.get('intent') !== 'transcription') {
          sendError('invalid_request_error', 'invalid_value', 'Invalid value: session.type must be \'transcription\', on a connection opened with intent=transcription.', 'session.type')
        } else if (input?.format !== undefined && (input.format.type !== 'audio/pcm' || input.format.rate !== 24000)) {
          sendError('invalid_request_error', 'invalid_value', 'Only 24kHz audio/pcm is supported.', 'session.audio.input.format')
        } else if (input?.transcription?.model !== undefined && !MODELS.has(input.transcription.model)) {
          sendError('invalid_request_error', 'invalid_value', `Invalid value: '${input.transcription.model}'. Supported values are: ${[...MODELS].join(', ')}.`, 'session.audio.input.transcription.model')
        } else {
          session = { ...session, audio: { input: { ...(session.audio as { input: object }).input, ...input } } }
          send({ type: 'session.updated', session })
        }
      } else if (type === 'input_audio_buffer.append') {
        const pcm = Buffer.from(String(event.audio ?? ''), 'base64')
        record.audio = Buffer.concat([record.audio, pcm])
        buffered += pcm.length
        appends++
        if (streaming()) {
          streamedItemId ??= `item_${randomUUID().replaceAll('-', '').slice(0, 20)}`
          for (const [i, word] of wordsFor(buffered).entries()) {
            if (i < streamedWords) continue
            send({ type: 'conversation.item.input_audio_transcription.delta', item_id: streamedItemId, content_index: 0, delta: i === 0 ? word : ` ${word}` })
            streamedWords = i + 1
          }
        }
        if (failure?.kind === 'drop' && appends >= failure.afterAppends) { serverClosing = true; ws.terminate() }
      } else if (type === 'input_audio_buffer.commit') {
        const bytes = buffered
        buffered = 0
        if (bytes < BYTES_PER_WORD) {
          sendError('invalid_request_error', 'input_audio_buffer_commit_empty', `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${(bytes / 48).toFixed(2)}ms of audio.`)
          return
        }
        if (failure?.kind === 'error-event') {
          sendError(failure.error.type, failure.error.code, failure.error.message)
          return
        }
        const itemId = streamedItemId ?? `item_${randomUUID().replaceAll('-', '').slice(0, 20)}`
        const from = streamedWords
        streamedItemId = undefined
        streamedWords = 0
        send({ type: 'input_audio_buffer.committed', previous_item_id: previousItemId, item_id: itemId })
        previousItemId = itemId
        void transcribe(itemId, bytes, from)
      } else {
        sendError('invalid_request_error', 'invalid_value', `Invalid value: '${type}'.`, 'type')
      }
    })
    ws.on('close', (code: number, reason: Buffer) => {
      record.closedBy = { by: serverClosing ? 'server' : 'client', code, reason: reason.toString('utf8') }
      resolveClosed(record.closedBy)
    })
  }

  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return mock
}
