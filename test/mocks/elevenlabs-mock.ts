import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

/**
 * A loopback ElevenLabs (text to speech) over plain HTTP: the multi-context input-streaming WebSocket
 * (`/v1/text-to-speech/{voice_id}/multi-stream-input`: a context opened by its first text, texts
 * buffered until `flush`, `close_context`, `close_socket`; audio messages with base64 PCM and the
 * character alignment of each chunk, times in ms from the chunk's start; `isFinal` once a closed
 * context has spoken everything) and REST `POST /v1/text-to-speech/{voice_id}/stream`, with auth by
 * the `xi-api-key` header. Speech is a tone per word (`wordMs` of tone, its characters spread over it,
 * then `gapMs` of silence for the space). Records handshakes, inputs, context closes and REST requests.
 * `behaviour` scripts WebSocket failures, `restStatuses` REST ones.
 * (Scribe STT has its own mock: elevenlabs-scribe-mock.ts.)
 */
export type MockBehaviour =
  | { type: 'normal' }
  /** Refuses the WebSocket upgrade with this HTTP status. */
  | { type: 'refuse', status: number }
  /** Never answers the WebSocket upgrade. */
  | { type: 'hang-handshake' }
  /** Answers each text with an error message, then closes the socket with 1008. */
  | { type: 'error', error: string, message: string }
  /** Closes the socket abruptly after this many audio messages (counted per socket). */
  | { type: 'drop', afterChunks: number }
  /** Takes texts and never answers. */
  | { type: 'silent' }
  /** Sends audio without alignment. */
  | { type: 'no-alignment' }

/** What a scripted REST answer does instead of speaking. */
export type RestScript = number | 'cut' | 'hang'

export interface ElevenLabsMockOptions {
  apiKey?: string
  wordMs?: number
  gapMs?: number
  chunkMs?: number
  /** Pause between audio messages, in ms (default 2): leaves room for a close mid-stream. */
  chunkDelayMs?: number
}

interface MockContext { buffer: string, closed: boolean, work: Promise<void>, audioMessages: number }

export class ElevenLabsMock {
  readonly handshakes: Array<{ key: string | undefined, path: string, query: Record<string, string> }> = []
  /** Every message received on every socket, in order. */
  readonly inputs: Array<Record<string, any>> = []
  /** Context ids that got `close_context`. */
  readonly closedContexts: string[] = []
  /** Sockets that got `close_socket`. */
  closeSocketMessages = 0
  readonly restRequests: Array<{ voiceId: string, query: Record<string, string>, body: Record<string, any>, key: string | undefined }> = []
  /** REST answers to give first, one per request (an HTTP status, a cut body, or no answer). */
  restScript: RestScript[] = []
  /** REST responses whose connection the client closed before the end. */
  restAborted = 0
  behaviour: MockBehaviour = { type: 'normal' }
  readonly #server: Server
  readonly #wss = new WebSocketServer({ noServer: true })
  readonly #sockets = new Set<Socket>()
  readonly #o: Required<ElevenLabsMockOptions>

  private constructor (options: ElevenLabsMockOptions) {
    this.#o = { apiKey: 'test-key', wordMs: 120, gapMs: 30, chunkMs: 40, chunkDelayMs: 2, ...options }
    this.#server = createServer((req, res) => { void this.#rest(req, res) })
    this.#server.on('connection', (socket: Socket) => { this.#sockets.add(socket); socket.on('close', () => this.#sockets.delete(socket)) })
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => { this.#upgrade(req, socket, head) })
  }

  static async start (options: ElevenLabsMockOptions = {}): Promise<ElevenLabsMock> {
    const mock = new ElevenLabsMock(options)
    await new Promise<void>(resolve => mock.#server.listen(0, '127.0.0.1', resolve))
    return mock
  }

  /** The base URL to give the provider (`http://127.0.0.1:PORT`). */
  get baseURL (): string { return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}` }
  get apiKey (): string { return this.#o.apiKey }
  /** Text-carrying inputs (not the `' '` that opens a context), in order. */
  get texts (): Array<Record<string, any>> { return this.inputs.filter(i => typeof i.text === 'string' && i.text.trim() !== '') }
  /** Open WebSockets. */
  get openSockets (): number { return this.#wss.clients.size }

  /** Resolves once `check()` holds (polled every 5 ms, for at most `timeoutMs`). */
  async until (check: () => boolean, timeoutMs = 2000): Promise<void> {
    for (const started = Date.now(); !check(); await new Promise(resolve => setTimeout(resolve, 5))) {
      if (Date.now() - started > timeoutMs) throw new Error('mock: condition not met in time')
    }
  }

  /** Closes every WebSocket (as a server crash would). */
  dropAll (): void { for (const ws of this.#wss.clients) ws.terminate() }

  async close (): Promise<void> {
    this.dropAll()
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>(resolve => this.#server.close(() => { resolve() }))
  }

  #upgrade (req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const key = req.headers['xi-api-key'] as string | undefined
    this.handshakes.push({ key, path: url.pathname, query: Object.fromEntries(url.searchParams) })
    const behaviour = this.behaviour
    if (behaviour.type === 'hang-handshake') return
    const refuse = (status: number, detail: object): void => {
      const body = JSON.stringify({ detail })
      socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
    }
    if (!/^\/v1\/text-to-speech\/[^/]+\/multi-stream-input$/.test(url.pathname)) return refuse(404, { status: 'not_found', message: 'Not found' })
    if (key !== this.#o.apiKey) return refuse(401, { status: 'invalid_api_key', message: 'Invalid API key' })
    if (behaviour.type === 'refuse') return refuse(behaviour.status, { status: 'refused', message: 'Service unavailable' })
    if (!/^pcm_\d+$/.test(url.searchParams.get('output_format') ?? '')) return refuse(400, { status: 'invalid_output_format', message: 'bad format' })
    const rate = Number(url.searchParams.get('output_format')?.slice(4))
    this.#wss.handleUpgrade(req, socket, head, (ws) => { this.#serve(ws, rate) })
  }

  #serve (ws: WebSocket, rate: number): void {
    const contexts = new Map<string, MockContext>()
    const counter = { sent: 0 }
    ws.on('message', (data) => {
      const input = JSON.parse(data.toString()) as Record<string, any>
      this.inputs.push(input)
      if (input.close_socket === true) {
        this.closeSocketMessages++
        ws.close(1000)
        return
      }
      const id = input.context_id as string
      const send = (message: object): void => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ ...message, contextId: id })) }
      let context = contexts.get(id)
      if (input.close_context === true) {
        this.closedContexts.push(id)
        if (context === undefined) return
        const closing = context
        closing.closed = true
        closing.work = closing.work.then(() => { send({ isFinal: true }) })
        return
      }
      if (context === undefined) {
        if (contexts.size >= 5) {
          ws.send(JSON.stringify({ message: 'Maximum simultaneous contexts per WebSocket connection exceeded (5).', error: 'max_active_conversations', code: 1008 }))
          ws.close(1008, 'max_active_conversations')
          return
        }
        contexts.set(id, context = { buffer: '', closed: false, work: Promise.resolve(), audioMessages: 0 })
      }
      const behaviour = this.behaviour
      if (behaviour.type === 'error' && input.text?.trim() !== '') {
        send({ message: behaviour.message, error: behaviour.error, code: 1008 })
        ws.close(1008, behaviour.error)
        return
      }
      if (typeof input.text === 'string') context.buffer += input.text
      if (input.flush !== true || behaviour.type === 'silent') return
      const text = context.buffer
      context.buffer = ''
      const current = context
      current.work = current.work.then(async () => { await this.#generate(ws, current, text, rate, send, counter) })
    })
  }

  async #generate (ws: WebSocket, context: MockContext, text: string, rate: number, send: (m: object) => void, counter: { sent: number }): Promise<void> {
    // A timeline of characters: each word's letters over its tone, the space over the gap.
    const chars: Array<{ char: string, startMs: number, durationMs: number }> = []
    const pcmParts: Int16Array[] = []
    let atMs = 0
    for (const word of text.split(/\s+/).filter(w => w !== '')) {
      const letters = [...word]
      for (let i = 0; i < letters.length; i++) chars.push({ char: letters[i] as string, startMs: atMs + i * this.#o.wordMs / letters.length, durationMs: this.#o.wordMs / letters.length })
      chars.push({ char: ' ', startMs: atMs + this.#o.wordMs, durationMs: this.#o.gapMs })
      pcmParts.push(this.#word(word, rate))
      atMs += this.#o.wordMs + this.#o.gapMs
    }
    const pcm = Int16Array.from(pcmParts.flatMap(p => [...p]))
    const step = Math.round(rate * this.#o.chunkMs / 1000)
    for (let offset = 0; offset < pcm.length; offset += step) {
      await new Promise(resolve => setTimeout(resolve, this.#o.chunkDelayMs))
      if (ws.readyState !== ws.OPEN) return
      const part = pcm.subarray(offset, offset + step)
      const fromMs = offset * 1000 / rate
      const toMs = (offset + part.length) * 1000 / rate
      const inChunk = chars.filter(c => c.startMs >= fromMs - 1e-6 && c.startMs < toMs - 1e-6)
      const alignment = { chars: inChunk.map(c => c.char), charStartTimesMs: inChunk.map(c => Math.round(c.startMs - fromMs)), charsDurationsMs: inChunk.map(c => Math.round(c.durationMs)) }
      const withAlignment = this.behaviour.type !== 'no-alignment'
      send({ audio: Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64'), isFinal: null, alignment: withAlignment ? alignment : null, normalizedAlignment: withAlignment ? alignment : null })
      context.audioMessages++
      const behaviour = this.behaviour
      if (behaviour.type === 'drop' && ++counter.sent >= behaviour.afterChunks) { ws.terminate(); return }
    }
  }

  /** One word: an enveloped tone whose pitch follows the word, then silence. */
  #word (word: string, rate: number): Int16Array {
    const tone = Math.round(rate * this.#o.wordMs / 1000)
    const pcm = new Int16Array(tone + Math.round(rate * this.#o.gapMs / 1000))
    const hz = 200 + (word.length * 37) % 400
    for (let i = 0; i < tone; i++) pcm[i] = Math.round(9000 * Math.sin(Math.PI * i / tone) * Math.sin(2 * Math.PI * hz * i / rate))
    return pcm
  }

  async #rest (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = []
    for await (const part of req) parts.push(part as Buffer)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const reply = (status: number, body: Buffer | string, type = 'application/json'): void => { res.writeHead(status, { 'content-type': type }).end(body) }
    const route = /^\/v1\/text-to-speech\/([^/]+)\/stream$/.exec(url.pathname)
    if (req.method !== 'POST' || route === null) return reply(404, '{"detail":"Not Found"}')
    const key = req.headers['xi-api-key'] as string | undefined
    const body = JSON.parse(Buffer.concat(parts).toString()) as Record<string, any>
    this.restRequests.push({ voiceId: decodeURIComponent(route[1] as string), query: Object.fromEntries(url.searchParams), body, key })
    if (key !== this.#o.apiKey) return reply(401, JSON.stringify({ detail: { status: 'invalid_api_key', message: 'Invalid API key' } }))
    const script = this.restScript.shift()
    if (script === 'hang') { res.on('close', () => { this.restAborted++ }); return }
    if (typeof script === 'number') return reply(script, JSON.stringify({ detail: { status: script === 429 ? 'too_many_concurrent_requests' : 'error', message: `scripted ${script}` } }))
    const format = url.searchParams.get('output_format') ?? 'mp3_44100_128'
    if (format.startsWith('mp3')) return reply(200, Buffer.from('ID3-not-really-mp3'), 'audio/mpeg')
    const rate = Number(format.slice(4))
    const pcm = Buffer.concat((body.text as string).split(/\s+/).filter(w => w !== '').map(w => { const p = this.#word(w, rate); return Buffer.from(p.buffer, p.byteOffset, p.byteLength) }))
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.on('close', () => { if (!res.writableFinished) this.restAborted++ })
    const step = Math.round(rate * this.#o.chunkMs / 1000) * 2
    for (let offset = 0; offset < pcm.length; offset += step) {
      if (res.destroyed) return
      // An odd cut, as the network may split a sample.
      res.write(pcm.subarray(offset, Math.min(pcm.length, offset + step + (offset === 0 ? 1 : 0))))
      if (offset === 0) offset += 1
      await new Promise(resolve => setTimeout(resolve, this.#o.chunkDelayMs))
      if (script === 'cut' && offset > step) { res.destroy(); return }
    }
    res.end()
  }
}
