import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { encodeWav } from '../../lib/audio/wav.js'

/**
 * A loopback stand-in for a Piper HTTP server, in one of three flavours (`api`):
 * - `piper1`: OHF-Voice/piper1-gpl 1.3 `python3 -m piper.http_server`: `POST /` with JSON
 *   `{ text, voice?, speaker?, speaker_id?, length_scale?, noise_scale?, noise_w_scale? }`; `GET /voices`.
 * - `piper1-synthesize`: later piper1-gpl: `GET /` is a web page (so `POST /` is 405), synthesis at
 *   `POST /synthesize`, same JSON.
 * - `rhasspy`: the older rhasspy/piper server: `POST /` with the text as the body.
 * Like Flask it labels the WAV `text/html`, and a failure is a 500 HTML page. The WAV is a 440 Hz
 * tone at `sampleRateHz` (`channels`), `msPerChar` per character of text. Binds 127.0.0.1:0.
 */
export interface PiperMockOptions {
  api?: 'piper1' | 'piper1-synthesize' | 'rhasspy'
  sampleRateHz?: number
  channels?: number
  msPerChar?: number
}

export type PiperMockFailure =
  | { kind: 'status', status: number }
  /** Read the request and never answer. */
  | { kind: 'hang' }
  /** Send the headers and part of the WAV, then destroy the connection. */
  | { kind: 'drop' }
  /** Answer 200 with something that is not a WAV. */
  | { kind: 'not-wav' }

export interface PiperRequestRecord {
  method: string
  path: string
  contentType: string | undefined
  /** The JSON body (piper1), or `{ text }` for a raw body (rhasspy). */
  body: Record<string, unknown>
  status: number
  finished: Promise<'completed' | 'aborted'>
}

export interface PiperMock {
  readonly url: string
  readonly requests: PiperRequestRecord[]
  fail: (failure: PiperMockFailure, times?: number) => void
  close: () => Promise<void>
}

const VOICES = { 'en_US-lessac-medium': { audio: { sample_rate: 22050, quality: 'medium' }, espeak: { voice: 'en-us' }, num_speakers: 1, speaker_id_map: {} } }
const FLASK_500 = '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n'

export async function startPiperMock (options: PiperMockOptions = {}): Promise<PiperMock> {
  const o = { api: 'piper1', sampleRateHz: 22050, channels: 1, msPerChar: 20, ...options }
  const failures: PiperMockFailure[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => { handle(req, res).catch(() => { if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/html' }).end(FLASK_500) }) })
  server.on('connection', socket => { sockets.add(socket); socket.on('close', () => { sockets.delete(socket) }) })
  const mock: PiperMock = {
    get url () { return `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    requests: [],
    fail: (failure, times = 1) => { for (let i = 0; i < times; i++) failures.push(failure) },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
  const synthesisPath = o.api === 'piper1-synthesize' ? '/synthesize' : '/'

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://mock').pathname
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    if (req.method === 'GET' && path === '/voices' && o.api !== 'rhasspy') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(VOICES))
      return
    }
    if (req.method === 'GET' && path === '/' && o.api === 'piper1-synthesize') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Piper</title>')
      return
    }
    let resolveFinished: (value: 'completed' | 'aborted') => void = () => {}
    const finished = new Promise<'completed' | 'aborted'>(resolve => { resolveFinished = resolve })
    res.on('close', () => { resolveFinished(res.writableFinished ? 'completed' : 'aborted') })
    const known = path === synthesisPath || (path === '/' && o.api === 'piper1-synthesize')
    const status = !known ? 404 : req.method !== 'POST' || path !== synthesisPath ? 405 : 200
    const body = o.api === 'rhasspy' ? { text: raw } : status === 200 ? JSON.parse(raw) as Record<string, unknown> : {}
    const failure = status === 200 ? failures.shift() : undefined
    const answered = failure?.kind === 'status' ? failure.status : status
    mock.requests.push({ method: req.method ?? '', path, contentType: req.headers['content-type'], body, status: answered, finished })
    if (answered !== 200) {
      res.writeHead(answered, { 'content-type': 'text/html; charset=utf-8' }).end(answered === 500 ? FLASK_500 : `<!doctype html><title>${answered}</title>`)
      return
    }
    if (failure?.kind === 'hang') return
    if (failure?.kind === 'not-wav') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<p>oops</p>')
      return
    }
    const text = String(body.text ?? '').trim()
    if (text === '') {
      // piper1-gpl raises ValueError("No text provided"): Flask's 500.
      res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' }).end(FLASK_500)
      return
    }
    const frames = Math.round(o.sampleRateHz * text.length * o.msPerChar / 1000)
    const samples = new Int16Array(frames * o.channels)
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < o.channels; c++) samples[i * o.channels + c] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / o.sampleRateHz))
    }
    const wav = encodeWav(samples, o.sampleRateHz, o.channels)
    // Flask sends the bytes a view returns as text/html.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(wav.length) })
    if (failure?.kind === 'drop') {
      res.write(wav.subarray(0, Math.floor(wav.length / 2)))
      setTimeout(() => { res.destroy() }, 5)
      return
    }
    res.end(wav)
  }

  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return mock
}
