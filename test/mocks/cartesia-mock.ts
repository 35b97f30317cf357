import { createServer, type Server } from 'node:https'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { encodeWav } from '../../lib/audio/wav.js'
import type { TestCertificate } from './tls.js'

/**
 * A loopback Cartesia over TLS: the TTS WebSocket (`/tts/websocket`, contexts with continue, flush,
 * cancel; chunk, timestamps, flush_done, done and error messages) and REST `/tts/bytes`, with auth by
 * `Authorization: Bearer` (or `?api_key=`) and a required API version. Speech is a tone per word
 * (`wordMs` of tone, then `gapMs` of silence); word timestamps count in seconds from the context's start,
 * as Cartesia's do. Records every input, cancel, handshake and REST body. `behaviour` scripts failures.
 */
export type MockBehaviour =
  | { type: 'normal' }
  /** Answers each input with an `error` message for its context. */
  | { type: 'error', status: number, title?: string, message: string, errorCode?: string }
  /** Closes the socket abruptly after this many chunks (counted per connection). */
  | { type: 'drop', afterChunks: number }
  /** Takes inputs and never answers. */
  | { type: 'silent' }
  /** Never answers the WebSocket upgrade. */
  | { type: 'hang-handshake' }

export interface CartesiaMockOptions {
  tls: TestCertificate
  apiKey?: string
  wordMs?: number
  gapMs?: number
  chunkMs?: number
  /** Pause between chunk messages, in ms (default 2): leaves room for a cancel mid-stream. */
  chunkDelayMs?: number
}

interface MockContext { flushId: number, samples: number, closed: boolean, cancelled: boolean, work: Promise<void> }

export class CartesiaMock {
  /** Generation inputs received, in order (flush and end-of-context inputs included). */
  readonly inputs: Array<Record<string, any>> = []
  readonly cancels: string[] = []
  readonly handshakes: Array<{ authorization: string | undefined, version: string | null, url: string }> = []
  readonly restBodies: Array<Record<string, any>> = []
  behaviour: MockBehaviour = { type: 'normal' }
  readonly #server: Server
  readonly #wss = new WebSocketServer({ noServer: true })
  readonly #sockets = new Set<Socket>()
  readonly #o: Required<Omit<CartesiaMockOptions, 'tls'>>

  private constructor (options: CartesiaMockOptions) {
    this.#o = { apiKey: 'test-key', wordMs: 120, gapMs: 30, chunkMs: 40, chunkDelayMs: 2, ...options }
    this.#server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => { void this.#rest(req, res) })
    this.#server.on('connection', (socket: Socket) => { this.#sockets.add(socket); socket.on('close', () => this.#sockets.delete(socket)) })
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => { this.#upgrade(req, socket, head) })
  }

  static async start (options: CartesiaMockOptions): Promise<CartesiaMock> {
    const mock = new CartesiaMock(options)
    await new Promise<void>(resolve => mock.#server.listen(0, '127.0.0.1', resolve))
    return mock
  }

  /** The base URL to give the provider (`https://127.0.0.1:PORT`). */
  get baseURL (): string { return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}` }
  get apiKey (): string { return this.#o.apiKey }
  /** Context ids of the transcript-carrying inputs, in order. */
  get contextIds (): string[] { return this.inputs.filter(i => i.transcript !== '').map(i => i.context_id as string) }

  /** Resolves once `check()` holds (polled every 5 ms, for at most `timeoutMs`). */
  async until (check: () => boolean, timeoutMs = 2000): Promise<void> {
    for (const started = Date.now(); !check(); await new Promise(resolve => setTimeout(resolve, 5))) {
      if (Date.now() - started > timeoutMs) throw new Error('mock: condition not met in time')
    }
  }

  /** Closes every connection (as a server crash would, for tests of drops). */
  dropAll (): void { for (const ws of this.#wss.clients) ws.terminate() }

  async close (): Promise<void> {
    this.dropAll()
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>(resolve => this.#server.close(() => { resolve() }))
  }

  #authorized (req: IncomingMessage, url: URL): boolean {
    const key = url.searchParams.get('api_key') ?? req.headers.authorization?.replace(/^Bearer /, '') ?? req.headers['x-api-key']
    return key === this.#o.apiKey
  }

  #upgrade (req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1')
    const version = url.searchParams.get('cartesia_version') ?? (req.headers['cartesia-version'] as string | undefined) ?? null
    this.handshakes.push({ authorization: req.headers.authorization, version, url: url.toString() })
    if (this.behaviour.type === 'hang-handshake') return
    const refuse = (status: number, error: string): void => {
      const body = JSON.stringify({ error })
      socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
    }
    if (url.pathname !== '/tts/websocket') return refuse(404, 'not found')
    if (version === null) return refuse(400, 'missing Cartesia-Version')
    if (!this.#authorized(req, url)) return refuse(401, 'Invalid API key')
    this.#wss.handleUpgrade(req, socket, head, (ws) => { this.#serve(ws) })
  }

  #serve (ws: WebSocket): void {
    const contexts = new Map<string, MockContext>()
    const chunks = { sent: 0 }
    ws.on('message', (data) => {
      const input = JSON.parse(data.toString()) as Record<string, any>
      const id = input.context_id as string
      if (input.cancel === true) {
        this.cancels.push(id)
        const context = contexts.get(id)
        if (context !== undefined) context.cancelled = true
        return
      }
      this.inputs.push(input)
      const send = (message: object): void => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ context_id: id, status_code: 206, ...message })) }
      let context = contexts.get(id)
      if (context === undefined) contexts.set(id, context = { flushId: 1, samples: 0, closed: false, cancelled: false, work: Promise.resolve() })
      const problem = invalid(input) ?? (context.closed ? 'context already finished' : undefined)
      const behaviour = this.behaviour
      if (problem !== undefined || behaviour.type === 'error') {
        context.closed = true
        const error = behaviour.type === 'error' && problem === undefined ? behaviour : { status: 400, message: problem as string, title: 'Invalid request', errorCode: 'invalid_request' }
        send({ type: 'error', done: true, status_code: error.status, title: error.title ?? 'Error', message: error.message, error_code: error.errorCode })
        return
      }
      if (input.continue !== true) context.closed = true
      if (behaviour.type === 'silent') return
      const current = context
      current.work = current.work.then(async () => { await this.#generate(ws, current, input, send, chunks) })
    })
  }

  async #generate (ws: WebSocket, context: MockContext, input: Record<string, any>, send: (m: object) => void, chunks: { sent: number }): Promise<void> {
    const rate = input.output_format.sample_rate as number
    for (const word of (input.transcript as string).split(/\s+/).filter(w => w !== '')) {
      const pcm = this.#word(word, rate)
      const start = context.samples / rate
      if (input.add_timestamps === true) send({ type: 'timestamps', done: false, flush_id: context.flushId, word_timestamps: { words: [word], start: [start], end: [start + this.#o.wordMs / 1000] } })
      const step = Math.round(rate * this.#o.chunkMs / 1000)
      for (let offset = 0; offset < pcm.length; offset += step) {
        await new Promise(resolve => setTimeout(resolve, this.#o.chunkDelayMs))
        if (context.cancelled || ws.readyState !== ws.OPEN) return
        const part = pcm.subarray(offset, offset + step)
        context.samples += part.length
        send({ type: 'chunk', done: false, step_time: 1, flush_id: context.flushId, data: Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64') })
        const behaviour = this.behaviour
        if (behaviour.type === 'drop' && ++chunks.sent >= behaviour.afterChunks) { ws.terminate(); return }
      }
    }
    if (input.flush === true) send({ type: 'flush_done', done: false, flush_done: true, flush_id: context.flushId++ })
    if (input.continue !== true) send({ type: 'done', done: true })
  }

  /** One word: an enveloped tone whose pitch follows the word, then silence. */
  #word (word: string, rate: number): Int16Array {
    const tone = Math.round(rate * this.#o.wordMs / 1000)
    const pcm = new Int16Array(tone + Math.round(rate * this.#o.gapMs / 1000))
    const hz = 200 + (word.length * 37) % 400
    for (let i = 0; i < tone; i++) pcm[i] = Math.round(9000 * Math.sin(Math.PI * i / tone) * Math.sin(2 * Math.PI * hz * i / rate))
    return pcm
  }

  async #rest (req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const parts: Buffer[] = []
    for await (const part of req) parts.push(part as Buffer)
    const url = new URL(req.url ?? '/', 'https://127.0.0.1')
    const reply = (status: number, body: Buffer | string, type = 'application/json'): void => { res.writeHead(status, { 'content-type': type }).end(body) }
    if (req.method !== 'POST' || url.pathname !== '/tts/bytes') return reply(404, '{"error":"not found"}')
    if (!this.#authorized(req, url)) return reply(401, '{"error":"Invalid API key"}')
    const body = JSON.parse(Buffer.concat(parts).toString()) as Record<string, any>
    this.restBodies.push({ ...body, version: req.headers['cartesia-version'] })
    const format = body.output_format as Record<string, any>
    if (format.container === 'mp3') return reply(200, Buffer.from('ID3-not-really-mp3'), 'audio/mpeg')
    const words = (body.transcript as string).split(/\s+/).filter(w => w !== '').map(w => this.#word(w, format.sample_rate))
    const pcm = Buffer.concat(words.map(w => Buffer.from(w.buffer)))
    reply(200, format.container === 'wav' ? encodeWav(pcm, format.sample_rate) : pcm, 'application/octet-stream')
  }
}

/** Why an input is not one Cartesia accepts, or undefined. */
function invalid (input: Record<string, any>): string | undefined {
  if (typeof input.context_id !== 'string' || typeof input.transcript !== 'string') return 'context_id and transcript are required'
  if (typeof input.model_id !== 'string' || typeof input.voice?.id !== 'string') return 'model_id and voice.id are required'
  const format = input.output_format
  if (format?.container !== 'raw' || format.encoding !== 'pcm_s16le' || ![8000, 16000, 22050, 24000, 44100, 48000].includes(format.sample_rate)) return 'unsupported output_format'
  return undefined
}
