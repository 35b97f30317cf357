import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { connect } from '../helpers/ws-client.js'

t.test('the greeting is said when a session opens without WebRTC, and enters the history', async t => {
  const app = await buildApp(t, { webrtc: false, greeting: 'Hello, this is the bakery.' })
  const client = await connect(app)
  const ready = await client.next('ready')
  await client.next('tts-complete')
  const types = client.messages.map(m => m.type).filter(type => type !== 'tts-chunk' && type !== 'llm-chunk' && type !== 'metrics')
  t.same(types, ['ready', 'tts-start', 'llm', 'tts-complete'])
  t.match(client.messages.find(m => m.type === 'llm'), { text: 'Hello, this is the bakery.' })
  t.same(app.llmrtcSessions.get(ready.id as string)?.history.messages, [{ role: 'assistant', content: 'Hello, this is the bakery.' }])
  client.ws.terminate()
})

t.test('turnTakingForSession sets one session\'s turn-taking over the server\'s; a bad result keeps the server\'s and tells the client', async t => {
  const app = await buildApp(t, {
    webrtc: false,
    interruption: { resumeAfterMs: 3000 },
    turnTakingForSession: (session) => session.data.bad === true ? { interruption: { mode: 'sideways' as 'off' } } : { interruption: { mode: 'off' }, preemptive: false }
  })
  const client = await connect(app)
  const ready = await client.next('ready')
  const session = app.llmrtcSessions.get(ready.id as string)
  if (session === undefined) return t.fail('session')
  const settings = app.llmrtcPipeline.for(session).turnTaking
  t.equal(settings.interruption.mode, 'off')
  t.equal(settings.interruption.resumeAfterMs, 3000, 'the server\'s options stay under the session\'s')
  t.equal(settings.preemptive, false)
  t.not(settings.turnDetection, false, 'the server\'s adaptive end of turn')

  const other = app.llmrtcSessions.create()
  other.data.bad = true
  const sent: Array<{ type: string, code?: string }> = []
  other.send = (message) => { sent.push(message as { type: string, code?: string }) }
  t.equal(app.llmrtcPipeline.for(other).turnTaking.interruption.mode, 'pause', 'the server\'s default')
  t.match(sent, [{ type: 'error' }])
  client.ws.terminate()
})

t.test('turn-taking options are validated at start, and the environment sets them when the options do not', async t => {
  await t.rejects(buildApp(t, { webrtc: false, interruption: { mode: 'never' as 'off' } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /interruption\.mode/ })
  await t.rejects(buildApp(t, { webrtc: false, preemptive: { afterMs: 5 } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /preemptive\.afterMs/ })
  await t.rejects(buildApp(t, { webrtc: false, turnDetection: { minEndpointMs: 900, maxEndpointMs: 300 } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  await t.rejects(buildApp(t, { webrtc: false, greeting: 42 as unknown as string }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /greeting/ })
  const app = await buildApp(t, { webrtc: false, env: { INTERRUPTION_MODE: 'confirm', TURN_DETECTION: 'false', PREEMPTIVE: 'false', USER_IDLE_MS: '20000' } as Record<string, string> })
  const settings = app.llmrtcConfig.turnTaking
  t.equal(settings.interruption.mode, 'confirm')
  t.equal(settings.turnDetection, false)
  t.equal(settings.preemptive, false)
  t.match(settings.userIdle, { afterMs: 20000 })
  const defaults = (await buildApp(t, { webrtc: false })).llmrtcConfig.turnTaking
  t.equal(defaults.interruption.mode, 'pause')
  t.match(defaults.turnDetection, { minEndpointMs: 200, maxEndpointMs: 1600 })
  t.match(defaults.preemptive, { afterMs: 160 })
  t.equal(defaults.userIdle, false)
})

t.test('a user silent through every idle prompt is told goodbye and the session ends with close 1000', async t => {
  const clock = new FakeClock()
  const app = await buildApp(t, { webrtc: false, clock, userIdle: { afterMs: 10_000, prompts: ['Are you still there?'], maxPrompts: 1, goodbye: 'Goodbye.' } })
  const client = await connect(app)
  const ready = await client.next('ready')
  clock.advance(10_000)
  await client.next('tts-complete')
  t.match(client.messages.find(m => m.type === 'llm'), { text: 'Are you still there?' })
  const from = client.messages.length
  clock.advance(10_000)
  await client.next('tts-complete', from)
  t.match(client.messages.slice(from).find(m => m.type === 'llm'), { text: 'Goodbye.' })
  const closed = await client.closed
  t.equal(closed.code, 1000)
  t.equal(app.llmrtcSessions.get(ready.id as string), undefined, 'the session ended')
})

t.test('/metrics counts preemptive generations by outcome', async t => {
  const app = await buildApp(t, { webrtc: false })
  const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
  for (const outcome of ['started', 'used', 'wasted']) t.match(body, new RegExp(`llmrtc_preemptive_generations_total\\{outcome="${outcome}"\\} 0`))
})
