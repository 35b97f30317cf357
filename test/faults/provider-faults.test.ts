import type { FastifyInstance } from 'fastify'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { CartesiaTTS } from '../../lib/providers/cartesia/index.js'
import { DeepgramSTT, DeepgramTTS } from '../../lib/providers/deepgram/index.js'
import { OpenAILLM, OpenAISTT, OpenAITTS } from '../../lib/providers/openai/index.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../../lib/providers/types.js'
import { buildApp } from '../helpers/app.js'
import { connect, type RecordingSocket } from '../helpers/ws-client.js'
import { CartesiaMock } from '../mocks/cartesia-mock.js'
import { startDeepgramMock } from '../mocks/deepgram-mock.js'
import { startOpenAIMock, type MockAction, type MockRoute } from '../mocks/openai-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { InstantLLM, MarkedSTT, ResourceCounter, eventually, isCompleteTurn, markedUtterance, runHealthyTurn, sleep, watchCrashes, type ResourceCounts } from './reliability-helpers.js'

/*
 * Provider faults end to end: the real OpenAI, Deepgram and Cartesia providers talk to loopback mocks of
 * their APIs, through the whole app (an `audio` message runs each turn). For every fault (connection
 * refused, no answer, 5xx, a connection cut mid-stream, a malformed answer) the turn ends with the
 * role's own error code, the same session's next turn completes, and nothing is left open: the mock saw
 * every exchange end, and the process's sockets and timers go back to where they were.
 *
 * The providers' own behaviour under each fault (retries, timeouts, aborts) is tested against the same
 * mocks in test/providers/. Cartesia is reached over TLS only: this file re-runs itself trusting a
 * throwaway certificate (see test/mocks/tls.ts), and skips Cartesia without openssl.
 */
const tls = trustTestCertificate()
const crashes = watchCrashes(t)
const counter = new ResourceCounter().start()
t.teardown(() => { counter.stop() })

/** Per-call deadlines of the app: long enough for a loopback answer, short enough to wait out a hang. */
const TIMEOUT_MS = 2000
const KEY = 'sk-fault-test-key'

/**
 * A TCP forwarder in front of a mock, on a port of its own: `shut()` stops listening and cuts what it
 * forwards (the next connection is refused), `open()` listens again on the same port.
 */
class Forwarder {
  readonly #targetPort: number
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  port = 0

  private constructor (targetPort: number) {
    this.#targetPort = targetPort
  }

  static async start (targetPort: number): Promise<Forwarder> {
    const forwarder = new Forwarder(targetPort)
    await forwarder.open()
    return forwarder
  }

  /** Forwarded connections still open (each counted once, client side). */
  get connections (): number { return this.#sockets.size }

  async open (): Promise<void> {
    const server = createServer(client => {
      const upstream = createConnection(this.#targetPort, '127.0.0.1')
      this.#sockets.add(client)
      client.once('close', () => { this.#sockets.delete(client); upstream.destroy() })
      upstream.once('close', () => { client.destroy() })
      client.on('error', () => {})
      upstream.on('error', () => {})
      client.pipe(upstream)
      upstream.pipe(client)
    })
    await new Promise<void>(resolve => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as AddressInfo).port
    this.#server = server
  }

  async shut (): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    if (server !== undefined) await new Promise<void>(resolve => server.close(() => { resolve() }))
  }
}

interface Harness {
  app: FastifyInstance
  client: RecordingSocket
  /** Resources once the app had run one healthy turn (keep-alive sockets and all). */
  baseline: ResourceCounts
}

/** An app with the given providers, one connected client, and a first healthy turn. */
async function harness (t: Test, providers: { stt: STTProvider, llm: LLMProvider, tts: TTSProvider }): Promise<Harness> {
  const app = await buildApp(t, {
    webrtc: false,
    demoPage: false,
    providers,
    sttTimeoutMs: TIMEOUT_MS,
    llmTimeoutMs: TIMEOUT_MS,
    ttsTimeoutMs: TIMEOUT_MS,
    rateLimit: false
  })
  const client = await connect(app)
  await client.next('ready')
  t.teardown(() => { client.ws.terminate() })
  t.ok(isCompleteTurn(await runHealthyTurn(client)), 'a first turn completes')
  return { app, client, baseline: counter.counts() }
}

/**
 * Runs one turn under a fault: it must end with exactly one `error`, of `code`. Then the next turn, the
 * fault gone, must complete on the same session.
 */
async function expectFault (t: Test, h: Harness, what: string, code: string, inject: () => void | Promise<void>, heal: () => void | Promise<void> = () => {}): Promise<void> {
  await inject()
  const from = h.client.messages.length
  h.client.send({ type: 'audio', data: markedUtterance().toString('base64') })
  await eventually(() => h.client.messages.slice(from).some(m => m.type === 'error' || m.type === 'tts-complete'), `the end of the turn under ${what}`, 30_000)
  const session = h.app.llmrtcSessions.list()[0]
  if (session !== undefined) await h.app.llmrtcPipeline.for(session).idle()
  const errors = h.client.messages.slice(from).filter(m => m.type === 'error').map(m => m.code)
  t.same(errors, [code], `${what}: the turn ends with ${code}, reported once`)
  await heal()
  t.ok(isCompleteTurn(await runHealthyTurn(h.client)), `${what}: the next turn completes`)
}

/** No socket, timer or child process more than at the baseline (a few timers and sockets of slack). */
async function expectNoLeaks (t: Test, h: Harness): Promise<void> {
  const excess = await counter.settle(h.baseline, { default: 2, 'Timer (any)': 4, ProcessWrap: 0 })
  t.same(excess, {}, `resources back to the baseline ${JSON.stringify(h.baseline)}`)
  t.same(crashes, [], 'no uncaught exception or unhandled rejection')
}

/** Resolves when every promise settled, or with the count still pending after `maxWaitMs`. */
async function allSettled (promises: Array<Promise<unknown>>, maxWaitMs = 10_000): Promise<number> {
  let pending = promises.length
  for (const p of promises) void p.finally(() => { pending-- })
  const started = Date.now()
  // eslint-disable-next-line no-unmodified-loop-condition -- `pending` counts down in the callbacks above
  while (pending > 0 && Date.now() - started < maxWaitMs) await sleep(20)
  return pending
}

t.test('OpenAI: each fault of each role ends the turn with that role\'s code, the session keeps working, and nothing leaks', async t => {
  const mock = await startOpenAIMock({ chunkDelayMs: 2 })
  t.teardown(() => mock.close())
  const mockPort = Number(new URL(mock.baseURL).port)
  const proxies = { stt: await Forwarder.start(mockPort), llm: await Forwarder.start(mockPort), tts: await Forwarder.start(mockPort) }
  t.teardown(async () => { for (const proxy of Object.values(proxies)) await proxy.shut() })
  const options = (proxy: Forwarder): { apiKey: string, baseURL: string, maxRetries: number } => ({ apiKey: KEY, baseURL: `http://127.0.0.1:${proxy.port}/v1`, maxRetries: 1 })
  const h = await harness(t, { stt: new OpenAISTT(options(proxies.stt)), llm: new OpenAILLM(options(proxies.llm)), tts: new OpenAITTS(options(proxies.tts)) })
  const script = (route: MockRoute, ...actions: MockAction[]) => () => { mock.script(route, ...actions) }
  const refused = (proxy: Forwarder): [() => Promise<void>, () => Promise<void>] => [async () => { await proxy.shut() }, async () => { await proxy.open() }]
  const serverError: MockAction = { type: 'error', status: 503 }

  await expectFault(t, h, 'STT connection refused', 'STT_ERROR', ...refused(proxies.stt))
  await expectFault(t, h, 'STT 5xx', 'STT_ERROR', script('transcriptions', serverError, serverError))
  await expectFault(t, h, 'STT never answers', 'STT_TIMEOUT', script('transcriptions', { type: 'hang' }))
  await expectFault(t, h, 'STT broken JSON', 'STT_ERROR', script('transcriptions', { type: 'raw', status: 200, contentType: 'application/json', body: '{"text": "half' }))
  await expectFault(t, h, 'STT answers HTML', 'STT_ERROR', script('transcriptions', { type: 'raw', status: 200, contentType: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' }))

  await expectFault(t, h, 'LLM connection refused', 'LLM_ERROR', ...refused(proxies.llm))
  await expectFault(t, h, 'LLM 5xx', 'LLM_ERROR', script('chat', serverError, serverError))
  await expectFault(t, h, 'LLM never answers', 'LLM_TIMEOUT', script('chat', { type: 'hang' }))
  await expectFault(t, h, 'LLM stream cut mid-answer', 'LLM_ERROR', script('chat', { type: 'chat', content: 'This answer is cut short. It never ends.', disconnectAfterChunks: 3 }))
  await expectFault(t, h, 'LLM stream of broken JSON', 'LLM_ERROR', script('chat', { type: 'raw', status: 200, contentType: 'text/event-stream', body: 'data: {"choices": [{"delta": {"content": "Hi\n\n' }))
  await expectFault(t, h, 'LLM answers HTML', 'LLM_ERROR', script('chat', { type: 'raw', status: 200, contentType: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' }))

  await expectFault(t, h, 'TTS connection refused', 'TTS_ERROR', ...refused(proxies.tts))
  await expectFault(t, h, 'TTS 5xx', 'TTS_ERROR', script('speech', serverError, serverError))
  await expectFault(t, h, 'TTS never answers', 'TTS_TIMEOUT', script('speech', { type: 'hang' }))
  await expectFault(t, h, 'TTS audio cut mid-stream', 'TTS_ERROR', script('speech', { type: 'speech', disconnectAfterChunks: 1 }))
  await expectFault(t, h, 'TTS answers JSON instead of audio', 'TTS_ERROR', script('speech', { type: 'raw', status: 200, contentType: 'application/json', body: '{"error":{"message":"quota exceeded"}}' }))

  t.equal(await allSettled(mock.requests.map(async r => await r.closed)), 0, `the mock saw all ${mock.requests.length} exchanges end`)
  t.ok(mock.requests.filter(r => r.clientAborted).length >= 3, 'the unanswered requests were abandoned by the client (deadline)')
  await eventually(() => Object.values(proxies).every(p => p.connections <= 3), 'idle keep-alive connections only', 15_000)
  await expectNoLeaks(t, h)
})

t.test('Deepgram: STT and TTS faults end the turn with STT_* or TTS_*, the session keeps working, and nothing leaks', async t => {
  const mock = await startDeepgramMock({ apiKey: KEY, transcript: 'hello there', ttsChunkIntervalMs: 1 })
  t.teardown(() => mock.close())
  const mockPort = Number(new URL(mock.url).port)
  const proxies = { stt: await Forwarder.start(mockPort), tts: await Forwarder.start(mockPort) }
  t.teardown(async () => { for (const proxy of Object.values(proxies)) await proxy.shut() })
  // The providers' own request deadline (timers that outlive each request until they expire) just above the turn's.
  const options = (proxy: Forwarder): { apiKey: string, baseUrl: string, maxRetries: number, retryBaseDelayMs: number, requestTimeoutMs: number } =>
    ({ apiKey: KEY, baseUrl: `http://127.0.0.1:${proxy.port}`, maxRetries: 1, retryBaseDelayMs: 1, requestTimeoutMs: TIMEOUT_MS + 500 })
  const h = await harness(t, { stt: new DeepgramSTT(options(proxies.stt)), llm: new InstantLLM(), tts: new DeepgramTTS(options(proxies.tts)) })
  const refused = (proxy: Forwarder): [() => Promise<void>, () => Promise<void>] => [async () => { await proxy.shut() }, async () => { await proxy.open() }]

  await expectFault(t, h, 'STT connection refused', 'STT_ERROR', ...refused(proxies.stt))
  await expectFault(t, h, 'STT 5xx', 'STT_ERROR', () => { mock.fail('listen', { kind: 'status', status: 500 }, 2) })
  await expectFault(t, h, 'STT refuses the key', 'STT_ERROR', () => { mock.fail('listen', { kind: 'status', status: 401 }) })
  await expectFault(t, h, 'STT never answers', 'STT_TIMEOUT', () => { mock.fail('listen', { kind: 'hang' }) })
  await expectFault(t, h, 'TTS connection refused', 'TTS_ERROR', ...refused(proxies.tts))
  await expectFault(t, h, 'TTS 5xx', 'TTS_ERROR', () => { mock.fail('speak', { kind: 'status', status: 503 }, 2) })
  await expectFault(t, h, 'TTS never answers', 'TTS_TIMEOUT', () => { mock.fail('speak', { kind: 'hang' }) })

  t.equal(await allSettled(mock.requests.map(async r => await r.finished)), 0, `the mock saw all ${mock.requests.length} requests end`)
  t.ok((await Promise.all(mock.requests.map(async r => await r.finished))).filter(f => f === 'aborted').length >= 2, 'the unanswered ones were abandoned by the client')
  await eventually(() => Object.values(proxies).every(p => p.connections <= 2), 'idle keep-alive connections only', 15_000)
  await expectNoLeaks(t, h)
})

t.test('Cartesia: TTS faults over its WebSocket end the turn with TTS_ERROR or TTS_TIMEOUT, the session keeps working, and nothing leaks', { skip: tls === undefined ? 'openssl is not available to make a test certificate' : false }, async t => {
  const mock = await CartesiaMock.start({ tls: tls as NonNullable<typeof tls>, apiKey: KEY, wordMs: 40, gapMs: 10, chunkMs: 20, chunkDelayMs: 1 })
  t.teardown(() => mock.close())
  const proxy = await Forwarder.start(Number(new URL(mock.baseURL).port))
  t.teardown(() => proxy.shut())
  // A handshake deadline (twice, with the retry) well under the turn's.
  const CONNECT_TIMEOUT_MS = 500
  const h = await harness(t, { stt: new MarkedSTT(), llm: new InstantLLM(), tts: new CartesiaTTS({ apiKey: KEY, baseURL: `https://127.0.0.1:${proxy.port}`, retries: 1, retryDelayMs: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS }) })
  const normal = (): void => { mock.behaviour = { type: 'normal' } }

  await expectFault(t, h, 'Cartesia answers with an error', 'TTS_ERROR', () => { mock.behaviour = { type: 'error', status: 500, message: 'internal error' } }, normal)
  await expectFault(t, h, 'Cartesia drops the socket mid-stream', 'TTS_ERROR', () => { mock.behaviour = { type: 'drop', afterChunks: 2 } }, normal)
  await expectFault(t, h, 'Cartesia never answers', 'TTS_TIMEOUT', () => { mock.behaviour = { type: 'silent' } }, normal)
  await expectFault(t, h, 'Cartesia unreachable', 'TTS_ERROR', async () => { await proxy.shut() }, async () => { await proxy.open() })
  // Its handshake deadline comes before the turn's: the provider gives up (and says so) first.
  await expectFault(t, h, 'Cartesia never completes the handshake', 'TTS_ERROR', async () => { mock.dropAll(); mock.behaviour = { type: 'hang-handshake' } }, normal)

  await expectNoLeaks(t, h)
})
