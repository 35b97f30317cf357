import t from 'tap'
import { LLMRTCServer } from '../../server/llmrtc-server.js'
import { connectOverNetwork, until } from '../helpers/ws-client.js'
import { encodeWav } from '../../lib/audio/wav.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

t.test('library mode: start, events, user routes through getApp, stop', async t => {
  const server = new LLMRTCServer({ env: false, port: 0, host: '127.0.0.1', logger: false, systemPrompt: 'Be brief.' })
  t.teardown(() => server.stop())
  server.getApp().get('/api/ping', async () => ({ pong: true }))
  const events: string[] = []
  server.on('listening', ({ host, port }) => { events.push(`listening ${host} ${port > 0}`) })
  server.on('connection', ({ id }) => { events.push(`connection ${id}`) })
  server.on('disconnect', ({ id }) => { events.push(`disconnect ${id}`) })
  const address = await server.start()
  t.ok(server.started)
  t.equal(address.host, '127.0.0.1')
  const base = `http://127.0.0.1:${address.port}`
  t.same(await (await fetch(`${base}/api/ping`)).json(), { pong: true })
  t.same(await (await fetch(`${base}/health`)).json(), { ok: true })
  t.equal(server.getApp().llmrtcConfig.systemPrompt, 'Be brief.')

  const client = await connectOverNetwork(server.getApp())
  const { id } = await client.next('ready')
  client.ws.close()
  await until(() => events.length === 3, 'disconnect event')
  t.same(events, ['listening 127.0.0.1 true', `connection ${id}`, `disconnect ${id}`])

  await server.stop()
  await server.stop()
  t.notOk(server.started)
})

t.test('hooks given to the server run, and hook errors reach the error event', async t => {
  const server = new LLMRTCServer({
    env: false,
    port: 0,
    logger: false,
    hooks: { onConnection: () => { throw new Error('hook failed') } }
  })
  t.teardown(() => server.stop())
  const errors: string[] = []
  server.on('error', (err) => { errors.push(err.message) })
  await server.start()
  const client = await connectOverNetwork(server.getApp())
  await client.next('ready')
  await until(() => errors.length === 1, 'error event')
  t.same(errors, ['hook failed'])
  client.ws.terminate()
})

t.test('a server with no error listener survives hook errors', async t => {
  const server = new LLMRTCServer({ env: false, port: 0, logger: false, hooks: { onConnection: () => { throw new Error('x') } } })
  t.teardown(() => server.stop())
  await server.start()
  const client = await connectOverNetwork(server.getApp())
  await client.next('ready')
  client.send({ type: 'ping', timestamp: 1 })
  t.same(await client.next('pong'), { type: 'pong', timestamp: 1 })
  client.ws.terminate()
})

t.test('bad options make start() reject with the option error', async t => {
  const server = new LLMRTCServer({ env: false, port: 0, logger: false, historyLimit: -1 })
  t.teardown(() => server.stop())
  await t.rejects(server.start(), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /historyLimit/ })
})

t.test('a bad LOG_LEVEL or PORT fails at construction, naming the variable, its value and what is expected', async t => {
  t.throws(() => new LLMRTCServer({ env: { LOG_LEVEL: 'loud' } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: 'Invalid environment variable LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, instead got "loud"' })
  t.throws(() => new LLMRTCServer({ env: { PORT: 'http' } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: 'Invalid environment variable PORT: expected an integer from 0 to 65535, instead got "http"' })
  t.throws(() => new LLMRTCServer({ env: { PORT: '70000' } }), { message: /PORT: expected an integer from 0 to 65535, instead got "70000"$/ })
})

t.test('options of the server alone (port, host, logger, trustProxy) are not passed to the plugin as unknown options', async t => {
  const server = new LLMRTCServer({ env: false, port: 0, host: '127.0.0.1', logger: false, trustProxy: false, webrtc: false })
  t.teardown(() => server.stop())
  t.equal((await server.start()).host, '127.0.0.1')
})

t.test('port and host come from the environment when not given', async t => {
  const server = new LLMRTCServer({ env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' } })
  t.teardown(() => server.stop())
  const address = await server.start()
  t.equal(address.host, '127.0.0.1')
  t.ok(address.port > 0)
})

t.test('stop() drains first: /health answers 503 while a turn finishes, then the socket closes with 1001', async t => {
  let release = (): void => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  let markStarted = (): void => {}
  const started = new Promise<void>(resolve => { markStarted = resolve })
  const llm = new ScriptedLLM([['All done.']])
  const stream = llm.stream.bind(llm)
  llm.stream = async function * (request) { markStarted(); await gate; yield * stream(request) }
  const server = new LLMRTCServer({ env: false, port: 0, host: '127.0.0.1', logger: false, webrtc: false, providers: { llm, stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() } })
  t.teardown(() => server.stop({ drainTimeoutMs: 0 }))
  const { port } = await server.start()
  const client = await connectOverNetwork(server.getApp())
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(new Int16Array(9600).fill(1000), 16_000).toString('base64') })
  await started
  let stopped = false
  const stopping = server.stop().then(() => { stopped = true })
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.same([health.status, await health.json()], [503, { ok: false, draining: true }])
  t.notOk(stopped, 'stop waits for the turn')
  release()
  await stopping
  t.ok(client.messages.some(m => m.type === 'llm'), 'the answer was given before the close')
  t.equal((await client.closed).code, 1001)
  t.notOk(server.started)
})

t.test('library mode: say() and generateReply() speak in a session, unknown sessions get undefined', async t => {
  const llm = new ScriptedLLM([['Welcome to the bakery.']])
  const server = new LLMRTCServer({ env: false, port: 0, host: '127.0.0.1', logger: false, webrtc: false, providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
  t.teardown(() => server.stop())
  await server.start()
  const client = await connectOverNetwork(server.getApp())
  const { id } = await client.next('ready')
  t.equal(await server.say('no-such-session', 'Hello?'), undefined)
  t.equal((await server.say(id as string, 'One moment, please.'))?.outcome, 'completed')
  t.match(await client.next('llm'), { text: 'One moment, please.' })
  t.equal((await server.generateReply(id as string, 'Greet the caller.'))?.outcome, 'completed')
  t.equal(llm.requests[0]?.messages.at(-1)?.content, 'Greet the caller.')
  t.same(server.getApp().llmrtcSessions.get(id as string)?.history.messages.map(m => m.content), ['One moment, please.', 'Welcome to the bakery.'])
  client.ws.close()
})
