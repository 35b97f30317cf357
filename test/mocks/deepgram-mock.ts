import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { decodeWav, encodeWav, isWav } from '../../lib/audio/wav.js'

/**
 * A loopback stand-in for Deepgram that speaks its wire protocol, for provider and end-to-end tests.
 *
 * - Live STT, WebSocket `/v1/listen`: reads binary s16le audio and reveals one word of `transcript` per
 *   `bytesPerWord` bytes (100 ms of 16 kHz mono by default): an interim `Results` each time a word is
 *   revealed, a final one every `wordsPerFinal` words. `Finalize` turns what is pending into a final
 *   (`from_finalize: true`, possibly empty); `CloseStream` flushes, sends `Metadata` and closes with 1000.
 *   Like Deepgram it closes with 1011 `NET-0001` after `inactivityTimeoutMs` without audio or KeepAlive.
 * - Prerecorded STT, `POST /v1/listen`: the same word rule over the uploaded WAV's duration; JSON answer.
 * - Both give each word's timing in seconds (live: from the stream's first byte), `word` in lower case
 *   without punctuation, and with `punctuate` or `smart_format` on, `punctuated_word` as the transcript has it.
 * - Aura TTS, `POST /v1/speak`: a 440 Hz tone (`ttsMsPerChar` per character of text) streamed in
 *   `ttsChunkBytes` chunks, raw with `container=none`, else behind a WAV header (Aura's REST default).
 *
 * Every request needs `Authorization: Token <apiKey>` (or `?token=<apiKey>`), else 401. `fail()` scripts
 * failures per endpoint. Everything received is recorded in `live` and `requests`. Binds 127.0.0.1:0.
 */
export interface DeepgramMockOptions {
  /** Accepted key (default 'test-deepgram-key'). */
  apiKey?: string
  /** What the mock "hears" (default 'hello from the deepgram mock'). */
  transcript?: string
  /** Bytes of 16 kHz s16le audio per revealed word (default 3200 = 100 ms). */
  bytesPerWord?: number
  /** Live: a final Results every this many revealed words (default 3). */
  wordsPerFinal?: number
  /** TTS: bytes per streamed chunk (default 1201: odd on purpose, a sample may be split). */
  ttsChunkBytes?: number
  /** TTS: pause between chunks in ms (default 2). */
  ttsChunkIntervalMs?: number
  /** TTS: tone duration per character of text in ms (default 20, at least 200 ms). */
  ttsMsPerChar?: number
  /** Live: close with 1011 NET-0001 after this many ms without audio or KeepAlive (default 10000). */
  inactivityTimeoutMs?: number
}

export type DeepgramMockEndpoint = 'live' | 'listen' | 'speak'

/** A scripted failure. `status`: an HTTP error with Deepgram's JSON body (live: the handshake is refused). */
export type DeepgramMockFailure =
  | { kind: 'status', status: number }
  /** Accept the connection and never answer (no handshake, no response). */
  | { kind: 'hang' }
  /** Live: destroy the TCP connection (no close frame) once this many audio bytes arrived. */
  | { kind: 'drop', afterBytes: number }
  /** Live: open and read everything, but never send a message nor close. */
  | { kind: 'mute' }

export interface LiveSessionRecord {
  query: URLSearchParams
  authorization: string | undefined
  audioBytes: number
  /** What the client sent, in order: 'audio' per binary frame, else the control message's type. */
  received: string[]
  /** The JSON messages the mock sent. */
  sent: Array<Record<string, unknown>>
  /** Set once the socket closed: who closed it (client: close frame or lost connection), code, reason. */
  closedBy?: { by: 'client' | 'server', code: number, reason: string }
  closed: Promise<{ by: 'client' | 'server', code: number, reason: string }>
}

export interface RestRequestRecord {
  endpoint: 'listen' | 'speak'
  query: URLSearchParams
  authorization: string | undefined
  contentType: string | undefined
  body: Buffer
  status: number
  /** 'aborted' when the client went away before the response ended. */
  finished: Promise<'completed' | 'aborted'>
}

export interface DeepgramMock {
  /** http://127.0.0.1:PORT: the `baseUrl` (DEEPGRAM_BASE_URL) for the provider. */
  readonly url: string
  readonly apiKey: string
  /** What the next connections and requests hear (live and prerecorded). */
  transcript: string
  /** Every live handshake, in order: the HTTP status answered (101 accepted, 0 never answered). */
  readonly handshakes: number[]
  readonly live: LiveSessionRecord[]
  readonly requests: RestRequestRecord[]
  /** The next `times` (default 1) connections or requests to `endpoint` fail as scripted. */
  fail: (endpoint: DeepgramMockEndpoint, failure: DeepgramMockFailure, times?: number) => void
  close: () => Promise<void>
}

const ERROR_CODES: Record<number, string> = { 400: 'Bad Request', 401: 'INVALID_AUTH', 402: 'ASR_PAYMENT_REQUIRED', 403: 'INSUFFICIENT_PERMISSIONS', 429: 'TOO_MANY_REQUESTS', 500: 'INTERNAL_SERVER_ERROR', 503: 'SERVICE_UNAVAILABLE' }

export async function startDeepgramMock (options: DeepgramMockOptions = {}): Promise<DeepgramMock> {
  const o = { apiKey: 'test-deepgram-key', transcript: 'hello from the deepgram mock', bytesPerWord: 3200, wordsPerFinal: 3, ttsChunkBytes: 1201, ttsChunkIntervalMs: 2, ttsMsPerChar: 20, inactivityTimeoutMs: 10_000, ...options }
  const failures: Record<DeepgramMockEndpoint, DeepgramMockFailure[]> = { live: [], listen: [], speak: [] }
  const hung = new Set<Socket>()
  const wss = new WebSocketServer({ noServer: true })
  const server = createServer((req, res) => {
    // A body the mock cannot read (not JSON, not a 16-bit WAV) gets Deepgram's 400, never a crash.
    handleRest(req, res).catch(() => { if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' }).end(errorBody(400)) })
  })
  const mock: DeepgramMock = {
    get url () { return `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    apiKey: o.apiKey,
    transcript: o.transcript,
    handshakes: [],
    live: [],
    requests: [],
    fail: (endpoint, failure, times = 1) => { for (let i = 0; i < times; i++) failures[endpoint].push(failure) },
    close: async () => {
      for (const socket of hung) socket.destroy()
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
  const authorized = (req: IncomingMessage, query: URLSearchParams): boolean =>
    req.headers.authorization === `Token ${o.apiKey}` || query.get('token') === o.apiKey
  const errorBody = (status: number): string => JSON.stringify({ err_code: ERROR_CODES[status] ?? 'ERROR', err_msg: status === 401 ? 'Invalid credentials.' : `Mock failure ${status}`, request_id: randomUUID() })
  const wordSeconds = o.bytesPerWord / 32000

  const punctuates = (query: URLSearchParams): boolean => query.get('punctuate') === 'true' || query.get('smart_format') === 'true'
  /** The `index`th word of the transcript as Deepgram reports it. */
  const wordOf = (word: string, index: number, punctuated: boolean): Record<string, unknown> => ({
    word: word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
    start: index * wordSeconds,
    end: (index + 1) * wordSeconds,
    confidence: 0.99,
    ...(punctuated ? { punctuated_word: word } : {})
  })

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://mock')
    const failure = failures.live.shift()
    const status = url.pathname !== '/v1/listen' ? 404 : !authorized(req, url.searchParams) ? 401 : failure?.kind === 'status' ? failure.status : 0
    mock.handshakes.push(status !== 0 ? status : failure?.kind === 'hang' ? 0 : 101)
    if (status !== 0) {
      const body = errorBody(status)
      socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\ndg-error: ${JSON.parse(body).err_msg as string}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
      return
    }
    if (failure?.kind === 'hang') { hung.add(socket); return }
    wss.handleUpgrade(req, socket, head, ws => { serveLive(ws, url.searchParams, req.headers.authorization, failure) })
  })

  function serveLive (ws: WebSocket, query: URLSearchParams, authorization: string | undefined, failure: DeepgramMockFailure | undefined): void {
    let resolveClosed: (value: { by: 'client' | 'server', code: number, reason: string }) => void = () => {}
    const record: LiveSessionRecord = { query, authorization, audioBytes: 0, received: [], sent: [], closed: new Promise(resolve => { resolveClosed = resolve }) }
    mock.live.push(record)
    const words = mock.transcript.split(/\s+/).filter(w => w !== '')
    const punctuated = punctuates(query)
    const requestId = randomUUID()
    let revealed = 0
    let finalized = 0
    let serverClosing = false
    const mute = failure?.kind === 'mute'
    const send = (message: Record<string, unknown>): void => { if (!mute && ws.readyState === ws.OPEN) { record.sent.push(message); ws.send(JSON.stringify(message)) } }
    const closeWith = (code: number, reason: string): void => { serverClosing = true; ws.close(code, reason) }
    const idle = setTimeout(() => { closeWith(1011, 'NET-0001') }, o.inactivityTimeoutMs).unref()
    const active = (): void => { idle.refresh() }
    const results = (isFinal: boolean, fromFinalize = false): void => {
      const transcript = words.slice(finalized, revealed).join(' ')
      send({
        type: 'Results',
        channel_index: [0, 1],
        duration: (revealed - finalized) * wordSeconds,
        start: finalized * wordSeconds,
        is_final: isFinal,
        speech_final: false,
        from_finalize: fromFinalize,
        channel: { alternatives: [{ transcript, confidence: 0.99, words: words.slice(finalized, revealed).map((word, i) => wordOf(word, finalized + i, punctuated)) }] },
        metadata: { request_id: requestId, model_info: { name: 'general-nova-3', version: '2025-01-01.0', arch: 'nova-3' }, model_uuid: '00000000-0000-0000-0000-000000000003' }
      })
      if (isFinal) finalized = revealed
    }
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
      if (isBinary) {
        record.received.push('audio')
        record.audioBytes += bytes.length
        active()
        if (failure?.kind === 'drop' && record.audioBytes >= failure.afterBytes) { serverClosing = true; ws.terminate(); return }
        const now = Math.min(words.length, Math.floor(record.audioBytes / o.bytesPerWord))
        if (now === revealed) return
        revealed = now
        results(revealed - finalized >= o.wordsPerFinal)
        return
      }
      const type = String((JSON.parse(bytes.toString('utf8')) as { type?: unknown }).type)
      record.received.push(type)
      if (type === 'KeepAlive') active()
      else if (type === 'Finalize') results(true, true)
      else if (type === 'CloseStream' && !mute) {
        if (revealed > finalized) results(true)
        send({ type: 'Metadata', transaction_key: 'deprecated', request_id: requestId, sha256: '', created: new Date().toISOString(), duration: record.audioBytes / 32000, channels: 1 })
        closeWith(1000, '')
      }
    })
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(idle)
      record.closedBy = { by: serverClosing ? 'server' : 'client', code, reason: reason.toString('utf8') }
      resolveClosed(record.closedBy)
    })
  }

  async function handleRest (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock')
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const endpoint = url.pathname === '/v1/listen' ? 'listen' : url.pathname === '/v1/speak' ? 'speak' : undefined
    let resolveFinished: (value: 'completed' | 'aborted') => void = () => {}
    const finished = new Promise<'completed' | 'aborted'>(resolve => { resolveFinished = resolve })
    res.on('close', () => { resolveFinished(res.writableFinished ? 'completed' : 'aborted') })
    const failure = endpoint !== undefined ? failures[endpoint].shift() : undefined
    const status = endpoint === undefined || req.method !== 'POST' ? 404 : !authorized(req, url.searchParams) ? 401 : failure?.kind === 'status' ? failure.status : 200
    if (endpoint !== undefined) mock.requests.push({ endpoint, query: url.searchParams, authorization: req.headers.authorization, contentType: req.headers['content-type'], body: Buffer.concat(chunks), status, finished })
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'application/json' }).end(errorBody(status))
      return
    }
    if (failure?.kind === 'hang') return
    if (endpoint === 'listen') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(prerecorded(Buffer.concat(chunks), punctuates(url.searchParams))))
    else await speak(url.searchParams, Buffer.concat(chunks), res)
  }

  function prerecorded (body: Buffer, punctuated: boolean): Record<string, unknown> {
    const durationS = isWav(body) ? (() => { const wav = decodeWav(body); return wav.samples.length / wav.channels / wav.sampleRateHz })() : body.length / 32000
    const words = mock.transcript.split(/\s+/).filter(w => w !== '').slice(0, Math.floor(durationS / wordSeconds + 1e-6))
    return {
      metadata: { transaction_key: 'deprecated', request_id: randomUUID(), sha256: '', created: new Date().toISOString(), duration: durationS, channels: 1, models: ['00000000-0000-0000-0000-000000000003'] },
      results: { channels: [{ alternatives: [{ transcript: words.join(' '), confidence: 0.99, words: words.map((word, i) => wordOf(word, i, punctuated)) }] }] }
    }
  }

  async function speak (query: URLSearchParams, body: Buffer, res: ServerResponse): Promise<void> {
    const text = String((JSON.parse(body.toString('utf8') || '{}') as { text?: unknown }).text ?? '')
    if (text === '' || (query.get('encoding') ?? 'linear16') !== 'linear16') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ err_code: 'INVALID_REQUEST', err_msg: 'The mock speaks linear16 only, and needs text.' }))
      return
    }
    const rateHz = Number(query.get('sample_rate') ?? 24000)
    const samples = new Int16Array(Math.round(rateHz * Math.max(200, text.length * o.ttsMsPerChar) / 1000))
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rateHz))
    const raw = (query.get('container') ?? 'wav') === 'none'
    const audio = raw ? Buffer.from(samples.buffer) : encodeWav(samples, rateHz)
    res.writeHead(200, { 'content-type': raw ? 'application/octet-stream' : 'audio/wav', 'dg-model-name': query.get('model') ?? 'aura-2-thalia-en', 'dg-char-count': String(text.length), 'dg-request-id': randomUUID() })
    for (let offset = 0; offset < audio.length && !res.destroyed; offset += o.ttsChunkBytes) {
      res.write(audio.subarray(offset, offset + o.ttsChunkBytes))
      await new Promise(resolve => setTimeout(resolve, o.ttsChunkIntervalMs))
    }
    res.end()
  }

  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return mock
}
