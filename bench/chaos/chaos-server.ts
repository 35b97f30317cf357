/**
 * One server of bench/chaos.ts, run as its child process (`node --expose-gc --import tsx
 * bench/chaos/chaos-server.ts`, with an IPC channel): an LLMRTCServer on 127.0.0.1 with the real OpenAI
 * STT, LLM and TTS providers pointed at the bench's loopback mock (through its fault forwarders), the
 * default Silero VAD, and the Redis session store shared with the other servers. Not meant to be run by hand.
 *
 * CHAOS_SERVER (JSON): `{ stt, llm, tts }` base URLs, `redisUrl`, `reconnectGraceMs`, `providerTimeoutMs`.
 * IPC: sends `{ type: 'listening', port }`; answers `{ cmd: 'stats' }` with a ServerStats,
 * `{ cmd: 'history', id }` with `{ type: 'history', id, history }` (from the shared store);
 * `{ cmd: 'drain' }` stops the server (drain, then 1001 to every client) and exits 0.
 * Log lines at warn level or above go to the parent as `{ type: 'log', line }`.
 * No audio after `tts-cancelled`, checked exactly here: from the barge-in that sent it (the output's queue
 * was cleared before) until the next answer's `onTTSStart`, the frames the server hands its track must be
 * silent but for the fade; a loud one is sent as `{ type: 'violation', text }`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Writable } from 'node:stream'
import { subscribeChannel } from '../../lib/observability/channels.js'
import { OpenAILLM, OpenAISTT, OpenAITTS } from '../../lib/providers/openai/index.js'
import { LLMRTCServer } from '../../server/llmrtc-server.js'
import { ResourceCounter } from '../../test/faults/reliability-helpers.js'

export interface ServerStats {
  type: 'stats'
  pid: number
  sessions: number
  peers: number
  connections: number
  resources: Record<string, number>
  /** After full collections. */
  heapUsedBytes: number
  rssBytes: number
  /** Event-loop delay since the previous `stats`, ms. */
  loopP99Ms: number
  loopMaxMs: number
}

interface Config { stt: string, llm: string, tts: string, redisUrl: string, reconnectGraceMs: number, providerTimeoutMs: number }
const config = JSON.parse(process.env.CHAOS_SERVER ?? '{}') as Config
const send = (message: unknown): void => { if (process.connected) process.send?.(message) }
const counter = new ResourceCounter().start()
const loop = monitorEventLoopDelay({ resolution: 5 })
loop.enable()

const logStream = new Writable({
  write (chunk: Buffer, _encoding, callback) {
    send({ type: 'log', line: chunk.toString().slice(0, 600) })
    callback()
  }
})
const KEY = 'sk-chaos-bench-key'
const options = (baseURL: string): { apiKey: string, baseURL: string, maxRetries: number } => ({ apiKey: KEY, baseURL, maxRetries: 1 })
const server = new LLMRTCServer({
  env: false,
  port: 0,
  host: '127.0.0.1',
  logger: { level: 'warn', stream: logStream },
  providers: { stt: new OpenAISTT(options(config.stt)), llm: new OpenAILLM(options(config.llm)), tts: new OpenAITTS(options(config.tts)) },
  redis: { url: config.redisUrl },
  reconnectGraceMs: config.reconnectGraceMs,
  // The whole conversation of a phase stays in the history, so the bench compares all of it.
  historyLimit: 1000,
  sttTimeoutMs: config.providerTimeoutMs,
  llmTimeoutMs: config.providerTimeoutMs,
  ttsTimeoutMs: config.providerTimeoutMs,
  // Every client connects from 127.0.0.1: no per-client session limit, no HTTP rate limit. The
  // per-connection message limit stays (the flood injection meets it).
  maxSessionsPerClient: 0,
  rateLimit: false
})
const app = server.getApp()

const gc = (globalThis as { gc?: () => void }).gc

function stats (): ServerStats {
  gc?.()
  gc?.()
  const result: ServerStats = {
    type: 'stats',
    pid: process.pid,
    sessions: app.llmrtcSessions.list().length,
    peers: app.hasDecorator('llmrtcTransport') ? app.llmrtcTransport.peerCount : 0,
    connections: app.llmrtcSignaling.connections().length,
    resources: counter.counts(),
    heapUsedBytes: process.memoryUsage().heapUsed,
    rssBytes: process.memoryUsage.rss(),
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6
  }
  loop.reset()
  return result
}

process.on('message', (message: { cmd: string, id?: string }) => {
  if (message.cmd === 'stats') send(stats())
  else if (message.cmd === 'history') {
    const id = String(message.id)
    app.llmrtcSessions.store.get(id).then(
      record => { send({ type: 'history', id, history: record?.history.filter(m => m.role === 'user' || m.role === 'assistant').map(m => ({ role: m.role, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) })) ?? null }) },
      (err: unknown) => { send({ type: 'history', id, history: null, error: String(err) }) })
  } else if (message.cmd === 'drain') {
    server.stop().finally(() => { process.exit(0) })
  }
})
// The bench gone: leave at once (explicitly: wrtc may segfault at a natural exit). A server once outlived
// a bench killed by a test's timeout, orphaned and busy: its parent is watched as well.
process.on('disconnect', () => { process.exit(0) })
const parent = process.ppid
setInterval(() => { if (process.ppid !== parent) process.exit(0) }, 1000).unref()
const { port } = await server.start()

// The app's plugins are registered once it started: the checks attach before any client can connect.
/** A frame whose peak is at least this is audio (the TTS mock's speech peaks far above; silence is 0). */
const LOUD_PEAK = 1000
/** Loud frames allowed after a cut: the one being faded out when the queue was cleared. */
const FADE_FRAMES = 1
/** Sessions whose answer was cut, with the loud frames sent since; removed at the next answer. */
const cut = new Map<string, { loud: number, reported: boolean }>()
subscribeChannel('llmrtc:barge-in', (event) => { if (event.speaking) cut.set(event.sessionId, { loud: 0, reported: false }) })
app.llmrtc.addHook('onTTSStart', (ctx) => { cut.delete(ctx.sessionId) })
app.llmrtcTransport.on('media', (sessionId, media) => {
  media.output.onFrame?.((pcm) => {
    const after = cut.get(sessionId)
    if (after === undefined || after.reported) return
    let peak = 0
    for (let i = 0; i < pcm.length; i++) { const v = Math.abs(pcm[i] as number); if (v > peak) peak = v }
    if (peak < LOUD_PEAK || ++after.loud <= FADE_FRAMES) return
    after.reported = true
    send({ type: 'violation', text: `session ${sessionId}: the server sent ${after.loud} loud frames after tts-cancelled (peak ${peak})` })
  })
})
app.llmrtcTransport.on('closed', (sessionId) => { cut.delete(sessionId) })
send({ type: 'listening', port, pid: process.pid })
