import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import t from 'tap'
import type { TurnEndEvent } from '../../lib/observability/channels.js'
import { buildApp } from '../helpers/app.js'
import { listenUrl } from '../helpers/e2e.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { WebRTCTestClient, isolateNetwork } from '../helpers/webrtc-client.js'
import { connectOverNetwork } from '../helpers/ws-client.js'
import { HEARD_TEXT, InstantLLM, InstantTTS, MarkedSTT, eventually, isCompleteTurn, markedUtterance, runHealthyTurn, watchCrashes } from './reliability-helpers.js'

/*
 * Clients that misbehave: a socket that drops mid-turn, a client that never adds its microphone, and
 * clients that flood pings or utterances. Real loopback sockets throughout; the WebRTC test runs in a
 * loopback-only network namespace (see test/helpers/webrtc-client.ts). The server must cancel what the
 * client no longer waits for, keep what it may come back for, and keep serving everyone else.
 */
isolateNetwork()
const crashes = watchCrashes(t)

function providers (): { stt: MarkedSTT, llm: InstantLLM, tts: InstantTTS } {
  return { stt: new MarkedSTT(), llm: new InstantLLM(), tts: new InstantTTS() }
}

t.test('a socket dropped mid-turn cancels the turn and keeps the session: resumed within the grace with its history, gone after it', async t => {
  const clock = new FakeClock()
  const GRACE_MS = 10_000
  const p = providers()
  const app = await buildApp(t, { webrtc: false, demoPage: false, providers: p, clock, reconnectGraceMs: GRACE_MS, heartbeatTimeoutMs: 3_600_000, sessionTtlMs: 3_600_000 })
  const first = await connectOverNetwork(app)
  const id = String((await first.next('ready')).id)

  // The LLM hangs: the turn is thinking when the client's connection drops.
  p.llm.hangNext = 1
  first.send({ type: 'audio', data: markedUtterance().toString('base64') })
  await eventually(() => p.llm.requests === 1, 'the turn reached the LLM')
  first.ws.terminate()
  await eventually(() => p.llm.aborted === 1, 'the LLM call is aborted')
  await eventually(() => app.llmrtcSessions.get(id)?.connected === false, 'the session detached')
  const session = app.llmrtcSessions.get(id)
  t.ok(session, 'the session waits for its client')
  await app.llmrtcPipeline.for(session as NonNullable<typeof session>).idle()
  t.same(session?.history.messages.map(m => [m.role, m.content]), [['user', HEARD_TEXT]], 'the question is kept, no answer was heard')

  // Within the grace: a new connection resumes it, history and all.
  clock.advance(GRACE_MS - 1)
  const second = await connectOverNetwork(app)
  const fresh = String((await second.next('ready')).id)
  second.send({ type: 'reconnect', sessionId: id })
  t.same(await second.next('reconnect-ack'), { type: 'reconnect-ack', success: true, sessionId: id, historyRecovered: true }, 'resumed')
  t.equal(app.llmrtcSessions.get(fresh), undefined, 'the fresh session is dropped')
  t.ok(isCompleteTurn(await runHealthyTurn(second)), 'the resumed session runs a whole turn')
  t.equal(app.llmrtcSessions.get(id)?.history.length, 3, 'after the earlier question: the new question and its answer')

  // Dropped again, and not back within the grace: the session ends, its pipeline with it.
  second.ws.terminate()
  await eventually(() => app.llmrtcSessions.get(id)?.connected === false, 'detached again')
  // The grace, and one period of the expiry sweep (5 s).
  clock.advance(GRACE_MS + 5000)
  await eventually(() => app.llmrtcSessions.size === 0, 'the session ended after the grace')
  t.equal(app.llmrtcPipeline.size, 0, 'and its pipeline is gone')
  const third = await connectOverNetwork(app)
  const current = String((await third.next('ready')).id)
  third.send({ type: 'reconnect', sessionId: id })
  t.same(await third.next('reconnect-ack'), { type: 'reconnect-ack', success: false, sessionId: current, historyRecovered: false }, 'too late to resume')
  t.match(await third.next('error'), { code: 'SESSION_EXPIRED' })
  third.ws.terminate()
  t.same(crashes, [], 'no uncaught exception or unhandled rejection')
})

t.test('a WebRTC client that never adds its microphone still talks: ping on both paths, audio turns, and a clean close', async t => {
  const p = providers()
  const app = await buildApp(t, { demoPage: false, providers: p })
  const client = await WebRTCTestClient.connect(await listenUrl(app), { timeoutMs: 15_000 })
  t.teardown(() => client.close())
  t.equal(app.llmrtcTransport.peerCount, 1, 'one peer')
  t.equal(app.llmrtcTransport.media(client.sessionId), undefined, 'no microphone, so no media')

  let from = client.wsMessages.length
  client.send({ type: 'ping', timestamp: 1 })
  client.sendOnChannel({ type: 'ping', timestamp: 2 })
  await client.waitFor(m => m.type === 'pong' && m.timestamp === 1, { from })
  await client.waitFor(m => m.type === 'pong' && m.timestamp === 2, { from })

  for (let turn = 0; turn < 2; turn++) {
    from = client.wsMessages.length
    const channelFrom = client.channelMessages.length
    client.send({ type: 'audio', data: markedUtterance().toString('base64') })
    await client.waitFor('tts-complete', { from, timeoutMs: 15_000 })
    t.ok(isCompleteTurn(client.wsMessages.slice(from).map(m => m.type)), `turn ${turn + 1} completes, its audio in tts-chunk messages`)
    await client.waitFor('tts-complete', { source: 'channel', from: channelFrom, timeoutMs: 15_000 })
    t.pass(`turn ${turn + 1}'s events are mirrored on the data channel`)
  }
  t.equal(client.peer?.connectionState, 'connected', 'the peer stays connected')

  await client.close()
  await eventually(() => app.llmrtcTransport.peerCount === 0, 'the peer closed with the socket')
  await eventually(() => app.llmrtcSessions.get(client.sessionId)?.connected === false, 'the session detached')
  t.same(crashes, [], 'no uncaught exception or unhandled rejection')
})

t.test('a client flooding pings: the first messageBurst are answered, one RATE_LIMITED tells it, the rest are dropped, while another session talks undisturbed', async t => {
  // The rate limiter reads the injected clock: standing still, the bucket never refills during the flood,
  // so what is answered does not depend on how fast the machine runs.
  const clock = new FakeClock()
  const p = providers()
  const BURST = 100
  const app = await buildApp(t, { webrtc: false, demoPage: false, providers: p, clock, maxMessagesPerSecond: 50, messageBurst: BURST, heartbeatTimeoutMs: 3_600_000, sessionTtlMs: 3_600_000 })
  const flooder = await connectOverNetwork(app)
  const other = await connectOverNetwork(app)
  await Promise.all([flooder.next('ready'), other.next('ready')])
  t.teardown(() => { flooder.ws.terminate(); other.ws.terminate() })

  const PINGS = 5000
  const flood = (async () => {
    for (let i = 0; i < PINGS; i++) {
      flooder.send({ type: 'ping', timestamp: i })
      if (i % 250 === 249) await new Promise(resolve => setImmediate(resolve))
    }
  })()
  // During the flood, the other session pings and runs a turn.
  const otherFrom = other.messages.length
  other.send({ type: 'ping', timestamp: -1 })
  const turn = await runHealthyTurn(other)
  await flood
  t.same(other.messages.slice(otherFrom)[0], { type: 'pong', timestamp: -1 }, 'the other session\'s ping is answered first')
  t.ok(isCompleteTurn(turn), `the other session's turn completes: ${turn.join(' ')}`)

  await eventually(() => flooder.messages.length > BURST + 1, 'the answers to the flood')
  t.equal(flooder.ws.readyState, flooder.ws.OPEN, 'the flooding connection stays open')
  // Closed by the client, the socket ends after the server has read (and answered) the whole flood.
  flooder.ws.close()
  await flooder.closed
  const replies = flooder.messages.slice(1).map(m => m.type === 'pong' ? m.timestamp : m.type === 'error' ? m.code : m.type)
  t.same(replies, [...Array.from({ length: BURST }, (_, i) => i), 'RATE_LIMITED'], `the first ${BURST} pings answered in order, then one RATE_LIMITED for the ${PINGS - BURST} dropped`)

  t.ok(isCompleteTurn(await runHealthyTurn(other)), 'the other session still runs a turn')
  t.same(crashes, [], 'no uncaught exception or unhandled rejection')
})

t.test('a client flooding utterances: each interrupts the one before, one turn runs at a time, and no backlog is left behind', async t => {
  const p = providers()
  let running = 0
  let maxRunning = 0
  let started = 0
  const app = await buildApp(t, {
    webrtc: false,
    demoPage: false,
    providers: p,
    // Every utterance reaches the pipeline: no per-connection message limit here (the ping flood has one).
    maxMessagesPerSecond: 0,
    hooks: {
      onTurnStart: () => { started++; running++; maxRunning = Math.max(maxRunning, running) },
      onTurnEnd: () => { running-- }
    }
  })
  const flooder = await connectOverNetwork(app)
  const other = await connectOverNetwork(app)
  const [ready] = await Promise.all([flooder.next('ready'), other.next('ready')])
  t.teardown(() => { flooder.ws.terminate(); other.ws.terminate() })
  // How each of the flooding session's turns ended, in order.
  const outcomes: string[] = []
  const onTurnEnd = (event: unknown): void => { if ((event as TurnEndEvent).sessionId === String(ready.id)) outcomes.push((event as TurnEndEvent).outcome) }
  subscribe('llmrtc:turn:end', onTurnEnd)
  t.teardown(() => { unsubscribe('llmrtc:turn:end', onTurnEnd) })

  // Every answer of the flood waits for its LLM until it is interrupted: no turn can end on its own, so
  // which ones end, and how, does not depend on how the messages are spread over the event loop.
  const UTTERANCES = 300
  p.llm.hangNext = UTTERANCES
  const audio = markedUtterance().toString('base64')
  for (let i = 0; i < UTTERANCES; i++) {
    flooder.send({ type: 'audio', data: audio })
    if (i % 50 === 49) await new Promise(resolve => setImmediate(resolve))
  }
  other.send({ type: 'ping', timestamp: 7 })
  t.match(await other.next('pong'), { timestamp: 7 }, 'the other session answers during the flood')

  // A ping answered after the flood means every utterance was handled (one message at a time, in order).
  const from = flooder.messages.length
  flooder.send({ type: 'ping', timestamp: -1 })
  await eventually(() => flooder.messages.slice(from).some(m => m.type === 'pong' && m.timestamp === -1), 'pong -1')
  // The newest utterance was never replaced: its turn runs, waiting for its answer.
  await eventually(() => running === 1 && p.llm.requests - p.llm.aborted === 1, 'the newest utterance\'s turn')
  const floodTurns = started
  t.ok(floodTurns >= 1 && floodTurns <= UTTERANCES, `${floodTurns} turns for ${UTTERANCES} utterances: one replaced those that came before it started`)
  t.same(outcomes, Array(floodTurns - 1).fill('cancelled'), 'every turn but the newest was interrupted by the next utterance')
  t.equal(maxRunning, 1, 'never more than one turn at a time')
  t.same(flooder.messages.filter(m => m.type === 'error'), [], 'no error')

  p.llm.hangNext = 0
  t.ok(isCompleteTurn(await runHealthyTurn(flooder)), 'the flooding session still runs a whole turn')
  t.same(outcomes, [...Array(floodTurns).fill('cancelled'), 'completed'], 'it interrupted the newest flood turn, and no backlog turn ran')
  t.equal(started, floodTurns + 1)
  t.ok(isCompleteTurn(await runHealthyTurn(other)), 'and so does the other')
  t.same(crashes, [], 'no uncaught exception or unhandled rejection')
})
