import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { decodeWav, isWav } from '../../lib/audio/wav.js'

/**
 * A loopback stand-in for ElevenLabs Scribe that speaks its wire protocol.
 *
 * - Realtime, WebSocket `/v1/speech-to-text/realtime?model_id=...&commit_strategy=...`: sends
 *   `session_started`, reads `input_audio_chunk` messages (base64 s16le, `sample_rate`) and reveals one
 *   word of `transcript` per `bytesPerWord` bytes, answering each reveal with a `partial_transcript` of
 *   the uncommitted words; a chunk with `commit: true` answers `committed_transcript` (and, with
 *   `include_timestamps=true`, `committed_transcript_with_timestamps`). It never closes by itself.
 * - Batch, `POST /v1/speech-to-text` (multipart `model_id`, `file`, `language_code`): the same word rule
 *   over the uploaded WAV's duration; Scribe's JSON answer.
 *
 * Every request needs `xi-api-key: <apiKey>`, else 401 (`{ detail: { status: 'invalid_api_key', ... } }`).
 * `fail()` scripts failures per endpoint. Everything received is recorded. Binds 127.0.0.1:0.
 */
export interface ScribeMockOptions {
  apiKey?: string
  transcript?: string
  /** Bytes of 16 kHz s16le audio per revealed word (default 3200 = 100 ms). */
  bytesPerWord?: number
}

export type ScribeMockEndpoint = 'realtime' | 'batch'

export type ScribeMockFailure =
  /** An HTTP error with ElevenLabs' JSON body (realtime: the handshake is refused). */
  | { kind: 'status', status: number }
  /** Accept the connection and never answer. */
  | { kind: 'hang' }
  /** Realtime: destroy the TCP connection (no close frame) once this many audio bytes arrived. */
  | { kind: 'drop', afterBytes: number }
  /** Realtime: start the session, then never answer the commit. */
  | { kind: 'mute-commit' }
  /** Realtime: answer the first audio chunk with this error message (`rate_limited`, `auth_error`, ...). */
  | { kind: 'error-message', messageType: string, error: string }

export interface ScribeRealtimeRecord {
  query: URLSearchParams
  apiKeyHeader: string | undefined
  audioBytes: number
  /** What the client sent, in order: 'audio' per chunk with audio, 'commit' per chunk with `commit: true`. */
  received: string[]
  /** The raw messages the client sent. */
  messages: Array<Record<string, unknown>>
  sent: Array<Record<string, unknown>>
  closed: Promise<{ by: 'client' | 'server', code: number }>
}

export interface ScribeBatchRecord {
  apiKeyHeader: string | undefined
  fields: Record<string, string>
  file: { name: string, type: string, bytes: Buffer } | undefined
  status: number
  finished: Promise<'completed' | 'aborted'>
}

export interface ScribeMock {
  readonly url: string
  readonly apiKey: string
  transcript: string
  /** Every realtime handshake's answer: 101, an error status, or 0 (never answered). */
  readonly handshakes: number[]
  readonly realtime: ScribeRealtimeRecord[]
  readonly batch: ScribeBatchRecord[]
  fail: (endpoint: ScribeMockEndpoint, failure: ScribeMockFailure, times?: number) => void
  close: () => Promise<void>
}

const DETAIL: Record<number, string> = { 401: 'invalid_api_key', 429: 'too_many_concurrent_requests', 500: 'internal_error', 503: 'service_unavailable' }

export async function startScribeMock (options: ScribeMockOptions = {}): Promise<ScribeMock> {
  const o = { apiKey: 'test-elevenlabs-key', transcript: 'hello from the scribe mock', bytesPerWord: 3200, ...options }
  const failures: Record<ScribeMockEndpoint, ScribeMockFailure[]> = { realtime: [], batch: [] }
  const hung = new Set<Socket>()
  const wss = new WebSocketServer({ noServer: true })
  const server = createServer((req, res) => {
    handleBatch(req, res).catch(() => { if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' }).end(errorBody(400)) })
  })
  server.on('connection', socket => { hung.add(socket); socket.on('close', () => { hung.delete(socket) }) })
  const mock: ScribeMock = {
    get url () { return `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    apiKey: o.apiKey,
    transcript: o.transcript,
    handshakes: [],
    realtime: [],
    batch: [],
    fail: (endpoint, failure, times = 1) => { for (let i = 0; i < times; i++) failures[endpoint].push(failure) },
    close: async () => {
      for (const socket of hung) socket.destroy()
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
  const errorBody = (status: number): string => JSON.stringify({ detail: { status: DETAIL[status] ?? 'error', message: status === 401 ? 'Invalid API key' : `Mock failure ${status}` } })
  const words = (): string[] => mock.transcript.split(/\s+/).filter(w => w !== '')

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://mock')
    const failure = failures.realtime.shift()
    const status = url.pathname !== '/v1/speech-to-text/realtime' ? 404 : req.headers['xi-api-key'] !== o.apiKey ? 401 : failure?.kind === 'status' ? failure.status : 0
    mock.handshakes.push(status !== 0 ? status : failure?.kind === 'hang' ? 0 : 101)
    if (status !== 0) {
      const body = errorBody(status)
      socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
      return
    }
    if (failure?.kind === 'hang') return
    wss.handleUpgrade(req, socket, head, ws => { serveRealtime(ws, url.searchParams, req.headers['xi-api-key'] as string | undefined, failure) })
  })

  function serveRealtime (ws: WebSocket, query: URLSearchParams, apiKeyHeader: string | undefined, failure: ScribeMockFailure | undefined): void {
    let resolveClosed: (value: { by: 'client' | 'server', code: number }) => void = () => {}
    const record: ScribeRealtimeRecord = { query, apiKeyHeader, audioBytes: 0, received: [], messages: [], sent: [], closed: new Promise(resolve => { resolveClosed = resolve }) }
    mock.realtime.push(record)
    const all = words()
    let revealed = 0
    let committed = 0
    let serverClosing = false
    const send = (message: Record<string, unknown>): void => { if (ws.readyState === ws.OPEN) { record.sent.push(message); ws.send(JSON.stringify(message)) } }
    send({
      message_type: 'session_started',
      session_id: randomUUID(),
      config: { sample_rate: Number(query.get('audio_format')?.replace('pcm_', '') ?? 16000), audio_format: query.get('audio_format') ?? 'pcm_16000', language_code: query.get('language_code'), commit_strategy: query.get('commit_strategy') ?? 'manual', model_id: query.get('model_id'), include_timestamps: query.get('include_timestamps') === 'true' }
    })
    ws.on('message', (data: RawData) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
      const message = JSON.parse(bytes.toString('utf8')) as { message_type?: unknown, audio_base_64?: unknown, commit?: unknown }
      record.messages.push(message as Record<string, unknown>)
      if (message.message_type !== 'input_audio_chunk') {
        send({ message_type: 'input_error', error: `unknown message_type ${String(message.message_type)}` })
        return
      }
      const audio = Buffer.from(String(message.audio_base_64 ?? ''), 'base64')
      if (audio.length > 0) {
        record.received.push('audio')
        record.audioBytes += audio.length
        if (failure?.kind === 'error-message') { send({ message_type: failure.messageType, error: failure.error }); return }
        if (failure?.kind === 'drop' && record.audioBytes >= failure.afterBytes) { serverClosing = true; ws.terminate(); return }
        const now = Math.min(all.length, Math.floor(record.audioBytes / o.bytesPerWord))
        if (now > revealed) {
          revealed = now
          send({ message_type: 'partial_transcript', text: all.slice(committed, revealed).join(' ') })
        }
      }
      if (message.commit === true) {
        record.received.push('commit')
        if (failure?.kind === 'mute-commit') return
        const text = all.slice(committed, revealed).join(' ')
        send({ message_type: 'committed_transcript', text })
        if (query.get('include_timestamps') === 'true') {
          send({ message_type: 'committed_transcript_with_timestamps', text, language_code: 'en', words: all.slice(committed, revealed).map((w, i) => ({ text: w, start: (committed + i) * 0.1, end: (committed + i + 1) * 0.1, type: 'word', logprob: -0.01 })) })
        }
        committed = revealed
      }
    })
    ws.on('close', (code: number) => { resolveClosed({ by: serverClosing ? 'server' : 'client', code }) })
  }

  async function handleBatch (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock')
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let resolveFinished: (value: 'completed' | 'aborted') => void = () => {}
    const finished = new Promise<'completed' | 'aborted'>(resolve => { resolveFinished = resolve })
    res.on('close', () => { resolveFinished(res.writableFinished ? 'completed' : 'aborted') })
    if (url.pathname !== '/v1/speech-to-text' || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'Not Found' }))
      return
    }
    const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData()
    const fields: Record<string, string> = {}
    let file: ScribeBatchRecord['file']
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') fields[name] = value
      else file = { name: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) }
    }
    const failure = failures.batch.shift()
    const apiKeyHeader = req.headers['xi-api-key'] as string | undefined
    const status = apiKeyHeader !== o.apiKey ? 401 : failure?.kind === 'status' ? failure.status : fields.model_id === undefined || file === undefined ? 400 : 200
    mock.batch.push({ apiKeyHeader, fields, file, status, finished })
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'application/json' }).end(errorBody(status))
      return
    }
    if (failure?.kind === 'hang') return
    const body = file?.bytes ?? Buffer.alloc(0)
    const durationS = isWav(body) ? (() => { const wav = decodeWav(body); return wav.samples.length / wav.channels / wav.sampleRateHz })() : body.length / 32000
    const wordSeconds = o.bytesPerWord / 32000
    const heard = words().slice(0, Math.floor(durationS / wordSeconds + 1e-6))
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      language_code: fields.language_code ?? 'eng',
      language_probability: 0.98,
      text: heard.join(' '),
      words: heard.flatMap((word, i) => [{ text: word, start: i * wordSeconds, end: (i + 1) * wordSeconds, type: 'word', logprob: -0.01 }]),
      transcription_id: randomUUID()
    }))
  }

  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return mock
}
