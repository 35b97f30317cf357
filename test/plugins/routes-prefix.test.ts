import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import llmrtc, { type LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { connect, connectOverNetwork } from '../helpers/ws-client.js'

/** A host app with llmrtc (no environment, no WebRTC) and, beside a prefix, its own `GET /`; closed at teardown. */
async function hostApp (t: Test, options: LLMRTCPluginOptions & { prefix?: string } = {}, setup?: (app: FastifyInstance) => void | Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  if (options.prefix !== undefined) app.get('/', async () => ({ host: true }))
  await app.register(llmrtc, { env: false, webrtc: false, ...options })
  await setup?.(app)
  await app.ready()
  return app
}

t.test('prefix moves the page, the WebSocket, /health and /metrics; the decorators stay on the app', async t => {
  const app = await hostApp(t, { prefix: '/voice' })
  t.same((await app.inject('/')).json(), { host: true }, 'the app keeps its own GET /')
  t.equal((await app.inject('/health')).statusCode, 404)
  t.equal((await app.inject('/metrics')).statusCode, 404)

  const page = await app.inject('/voice')
  t.equal(page.statusCode, 200)
  t.match(page.body, /<title>llmrtc voice<\/title>/)
  t.match(page.body, /src="\/voice\/llmrtc-demo\/client.js"/, 'assets are linked under the prefix')
  t.equal((await app.inject('/voice/llmrtc-demo/client.js')).statusCode, 200)
  t.equal((await app.inject('/llmrtc-demo/client.js')).statusCode, 404, 'nothing outside the prefix')
  t.same((await app.inject('/voice/health')).json(), { ok: true })
  const metrics = await app.inject('/voice/metrics')
  t.equal(metrics.statusCode, 200)
  t.match(metrics.body, /llmrtc_active_sessions/)

  const client = await connect(app, '/voice')
  t.match(await client.next('ready'), { protocolVersion: 1 })
  t.equal(app.llmrtcSessions.size, 1, 'llmrtcSessions is visible to the app')
  client.ws.terminate()
  for (const name of ['llmrtc', 'llmrtcConfig', 'llmrtcSessions', 'llmrtcSignaling', 'llmrtcMetrics', 'llmrtcDrain', 'llmrtcPipeline']) {
    t.ok(app.hasDecorator(name), `${name} is decorated on the app`)
  }
})

t.test('path sits behind the prefix', async t => {
  const app = await hostApp(t, { prefix: '/api', path: '/voice', healthPath: '/voice/health' })
  t.equal((await app.inject('/api/voice')).statusCode, 200)
  t.same((await app.inject('/api/voice/health')).json(), { ok: true })
  t.match((await app.inject('/api/voice')).body, /src="\/api\/llmrtc-demo\/client.js"/)
  t.equal((await app.inject('/api/llmrtc-demo/client.js')).statusCode, 200)
  const client = await connect(app, '/api/voice')
  await client.next('ready')
  client.ws.terminate()
})

t.test('healthPath: false, metrics.path: false and demoPage: false each turn their route off', async t => {
  const app = await hostApp(t, { prefix: '/voice', healthPath: false, metrics: { path: false }, demoPage: false })
  t.equal((await app.inject('/voice/health')).statusCode, 404)
  t.equal((await app.inject('/voice/metrics')).statusCode, 404)
  t.equal((await app.inject('/voice')).statusCode, 404, 'no page (the WebSocket stays)')
  t.equal((await app.inject('/voice/llmrtc-demo/client.js')).statusCode, 404)
  t.match(await app.llmrtcMetrics.registry.metrics(), /llmrtc_active_sessions/, 'the registry is still there to merge')

  const on = await hostApp(t, { prefix: '/voice' })
  t.equal((await on.inject('/voice/health')).statusCode, 200, 'each is on by default')
  t.rejects(hostApp(t, { healthPath: 'health' as '/' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /healthPath.*a path starting with "\/" \(or false\)/ })
})

t.test('the rate limit and CORS touch only llmrtc\'s routes, even an app route on the same URL', async t => {
  const app = await hostApp(t, { rateLimit: { max: 2, timeWindow: 60_000 }, allowedOrigins: ['https://voice.example'] }, (app) => {
    app.post('/', async () => ({ posted: true }))
  })
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 200, 'the app\'s POST / is not limited')
  const origin = { origin: 'https://voice.example' }
  t.equal((await app.inject({ url: '/health', headers: origin })).headers['access-control-allow-origin'], 'https://voice.example')
  t.equal((await app.inject({ method: 'POST', url: '/', headers: origin })).headers['access-control-allow-origin'], undefined, 'no CORS on the app\'s route')
  t.equal((await app.inject('/health')).statusCode, 200)
  t.equal((await app.inject('/health')).statusCode, 429, 'llmrtc\'s own route is limited')
  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 200)
})

/** Logs at warn and above, as JSON lines. */
function warnings (): { stream: Writable, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  return { stream, lines }
}

for (const order of ['before', 'after'] as const) {
  t.test(`an app's own @fastify/websocket registered ${order} llmrtc: both WebSocket routes work`, async t => {
    const logs = warnings()
    const app = Fastify({ logger: { level: 'warn', stream: logs.stream } })
    t.teardown(() => app.close())
    async function hostWebSocket (): Promise<void> {
      await app.register(websocket)
      app.get('/mine', { websocket: true }, (socket) => { socket.send('mine') })
    }
    if (order === 'before') await hostWebSocket()
    await app.register(llmrtc, { env: false, webrtc: false, prefix: '/voice' })
    if (order === 'after') await hostWebSocket()
    await app.listen({ port: 0, host: '127.0.0.1' })

    const voice = await connectOverNetwork(app, '/voice')
    t.match(await voice.next('ready'), { protocolVersion: 1 }, 'llmrtc over the network')
    voice.ws.terminate()
    const injected = await connect(app, '/voice')
    await injected.next('ready')
    injected.ws.terminate()

    const { port } = app.server.address() as { port: number }
    const WebSocket = (await import('ws')).default
    const mine = new WebSocket(`ws://127.0.0.1:${port}/mine`)
    const message = await new Promise<string>((resolve, reject) => {
      mine.once('message', (data: Buffer) => { resolve(data.toString()) })
      mine.once('error', reject)
    })
    t.equal(message, 'mine', 'the app\'s own route over the network')
    mine.terminate()
    let received!: Promise<string>
    const injectedMine = await app.injectWS('/mine', {}, {
      onInit: (ws) => { received = new Promise(resolve => { ws.once('message', (data: Buffer) => { resolve(data.toString()) }) }) }
    })
    t.equal(await received, 'mine', 'and through injectWS')
    injectedMine.terminate()
    t.same(logs.lines.filter(line => line.includes('websocket upgrade failed')), [], 'one WebSocket server handles each upgrade')
  })
}
