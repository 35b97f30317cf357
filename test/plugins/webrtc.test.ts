import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { LLMRTCOptions } from '../../lib/config/options.js'
import type { ErrorContext } from '../../lib/hooks/hook-types.js'
import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import type { SessionMedia } from '../../lib/transport/media-transport.js'
import llmrtcConfig from '../../plugins/config/index.js'
import llmrtcHooks from '../../plugins/hooks/index.js'
import llmrtcSessions from '../../plugins/sessions/index.js'
import llmrtcSignaling from '../../plugins/signaling/index.js'
import { sdpCandidates } from '../../plugins/webrtc/ice-gathering.js'
import { InboundAudio } from '../../plugins/webrtc/inbound-audio.js'
import llmrtcWebRTC, { type LLMRTCWebRTCOptions } from '../../plugins/webrtc/index.js'
import { loadWrtc, type Wrtc, type WrtcAudioData, type WrtcConnectionState, type WrtcIceCandidateInit, type WrtcSessionDescription } from '../../plugins/webrtc/wrtc.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { connect, until } from '../helpers/ws-client.js'
import { tone as sine } from '../helpers/audio.js'
import { WebRTCTestClient, isolateNetwork, keepLoopbackCandidates } from '../helpers/webrtc-client.js'

// Every packet stays on 127.0.0.1: this file re-runs itself in a network namespace that has only lo
// (where possible), the client keeps only 127.0.0.1 candidates in its offer, in the server's answer and
// in trickled candidates, and no STUN/TURN server is configured on either side. The helper also exits
// the process explicitly at the end (wrtc segfaults at natural exit).
const isolated = isolateNetwork()
t.comment(isolated ? 'WebRTC traffic isolated in a loopback-only network namespace' : 'no network namespace: relying on 127.0.0.1 candidate filtering')

/**
 * The transport on its own: the plugin and exactly the plugins it depends on (no VAD or pipeline
 * consuming the media), so these tests see only what the transport does.
 */
async function transportApp (t: Test, options: LLMRTCOptions = {}, webrtc: LLMRTCWebRTCOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtcConfig, { env: false, ...options })
  await app.register(llmrtcHooks)
  await app.register(llmrtcSessions)
  await app.register(llmrtcSignaling)
  await app.register(llmrtcWebRTC, webrtc)
  await app.ready()
  return app
}

async function startServer (t: Test, options: LLMRTCOptions = {}, webrtc: LLMRTCWebRTCOptions = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await transportApp(t, options, webrtc)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `ws://127.0.0.1:${address.port}/` }
}

async function client (t: Test, url: string, start = true): Promise<WebRTCTestClient> {
  const c = start ? await WebRTCTestClient.connect(url) : await WebRTCTestClient.open(url)
  t.teardown(() => c.close())
  return c
}

/** `ms` of a 440 Hz tone at `rateHz`. */
const tone = (ms: number, rateHz = 48_000): Int16Array => sine(ms, { hz: 440, sampleRateHz: rateHz, amplitude: 8000 })

const peak = (samples: Int16Array): number => samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0)

t.test('a client connects with complete SDP, the data channel opens and payload events are mirrored on it', async t => {
  const { app, url } = await startServer(t)
  const c = await client(t, url)
  t.equal(app.llmrtcTransport.available, true)
  t.equal(app.llmrtcTransport.peerCount, 1)
  const answer = c.wsMessages.find(m => m.type === 'signal')
  t.match(answer, { type: 'signal', signal: { type: 'answer' } })
  t.match(answer?.type === 'signal' ? answer.signal.sdp : '', /a=candidate:.* 127\.0\.0\.1 /, 'the answer carries its candidates (no trickle needed)')
  t.same(c.wsMessages.map(m => m.type).filter(type => type !== 'ice'), ['ready', 'signal', 'pong'], 'the helper ends connect() with a ping on the channel')
  t.equal(c.peer?.connectionState, 'connected')

  app.llmrtcSessions.get(c.sessionId)?.send({ type: 'transcript', text: 'hello', isFinal: true })
  app.llmrtcSessions.get(c.sessionId)?.send({ type: 'pong', timestamp: 1 })
  const onChannel = await c.waitFor('transcript', { source: 'channel' })
  t.same(onChannel, { type: 'transcript', text: 'hello', isFinal: true })
  await c.waitFor(m => m.type === 'pong' && m.timestamp === 1)
  t.same(c.channelMessages.map(m => m.type), ['transcript'], 'signaling messages stay off the channel')
  t.same(c.wsMessages.slice(3).map(m => m.type), ['transcript', 'pong'])
})

t.test('messages on the data channel are validated and routed: attachments queue for the next turn, ping gets pong', async t => {
  const { app, url } = await startServer(t, { maxMessageBytes: 8192 })
  const c = await client(t, url)
  c.sendOnChannel({ type: 'attachments', attachments: [{ data: 'data:image/png;base64,AAAA', mimeType: 'image/png' }] })
  c.sendOnChannel({ type: 'ping', timestamp: 42 })
  c.sendOnChannel({ type: 'attachments', attachments: 'nope' } as Record<string, unknown>)
  c.channel?.send('{not json')
  c.sendOnChannel({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  c.sendOnChannel({ type: 'from-the-future' })
  c.sendOnChannel({ type: 'attachments', attachments: [{ data: 'x'.repeat(10_000) }] })
  ;(c.channel?.send as unknown as (data: ArrayBuffer) => void)(new ArrayBuffer(8))
  ;(c.channel?.send as unknown as (data: ArrayBuffer) => void)(new ArrayBuffer(10_000))
  t.same(await c.waitFor(m => m.type === 'pong' && m.timestamp === 42), { type: 'pong', timestamp: 42 })
  await until(() => c.wsMessages.filter(m => m.type === 'error').length === 5)
  t.same(c.wsMessages.filter(m => m.type === 'error').map(m => m.type === 'error' && m.code), ['INVALID_MESSAGE', 'INVALID_MESSAGE', 'MESSAGE_TOO_LARGE', 'INVALID_MESSAGE', 'MESSAGE_TOO_LARGE'], 'size is checked before binary, as on the WebSocket')
  t.same(app.llmrtcSessions.get(c.sessionId)?.pendingAttachments, [{ data: 'data:image/png;base64,AAAA', mimeType: 'image/png' }])
  t.equal(app.llmrtcTransport.peerCount, 1, 'an offer on the channel is ignored: signaling belongs on the WebSocket')
  t.same(c.wsMessages.filter(m => m.type === 'signal').length, 1)
})

t.test('adding a microphone renegotiates the same peer: media event, then 48 kHz 10 ms frames of what the client says', async t => {
  const { app, url } = await startServer(t)
  const c = await client(t, url)
  const events: string[] = []
  const media = new Promise<SessionMedia>(resolve => {
    app.llmrtcTransport.on('media', (sessionId, m) => { events.push(`media ${sessionId}`); resolve(m) })
  })
  t.equal(app.llmrtcTransport.media(c.sessionId), undefined, 'no media before the microphone')
  await c.addMicrophone()
  const m = await media
  t.same(events, [`media ${c.sessionId}`])
  t.equal(app.llmrtcTransport.media(c.sessionId), m)
  t.equal(app.llmrtcTransport.peerCount, 1, 'renegotiated on the same peer')
  // Candidates the server found after its answer (ICE-TCP, on a slow machine) are trickled as `ice`
  // messages whenever gathering ends: the renegotiation is the second `signal`.
  t.same(c.wsMessages.map(x => x.type).filter(type => type !== 'ice'), ['ready', 'signal', 'pong', 'signal'])

  const formats = new Set<string>()
  let loudest = 0
  const unsubscribe = m.onAudio((frame: AudioFrame) => {
    formats.add(`${frame.sampleRateHz}/${frame.channels}/${frame.samplesPerChannel}/${frame.samples.length}`)
    loudest = Math.max(loudest, peak(frame.samples))
  })
  await c.speak(tone(300))
  await until(() => loudest > 2000)
  unsubscribe()
  t.same([...formats], ['48000/1/480/480'], 'only 48 kHz mono 10 ms frames are delivered')
  t.ok(loudest > 2000, `the tone arrived (peak ${loudest})`)
})

t.test('audio written to media.output plays on the server track: heard by the client, marks and drain after playout', async t => {
  const { app, url } = await startServer(t)
  const c = await client(t, url)
  const media = new Promise<SessionMedia>(resolve => { app.llmrtcTransport.once('media', (_id, m) => { resolve(m) }) })
  await c.addMicrophone()
  const { output } = await media
  await until(() => c.audio.frames > 10)
  t.ok(c.audio.peaks.every(p => p < 100), 'silence while nothing is queued')

  const order: string[] = []
  output.onPlayed(mark => { order.push(`played ${mark}`) })
  const heard = c.audio.waitForSound(1000).then(() => { order.push('heard') })
  output.write(tone(200, 24_000), 24_000, 'first')
  output.write(tone(200, 24_000), 24_000, 'second')
  t.equal(output.playing, true)
  await output.drain()
  order.push('drained')
  await heard
  t.same(order.filter(e => e !== 'heard'), ['played first', 'played second', 'drained'])
  t.ok(order.indexOf('heard') < order.indexOf('drained') || order.indexOf('heard') === order.length - 1, 'the client heard the audio')
  t.equal(output.playedMs, 400)

  output.write(tone(2000), 48_000)
  const dropped = output.clear()
  t.ok(dropped > 1900 && dropped <= 2000, `clear drops the queued audio (${dropped} ms)`)
})

t.test('closing the WebSocket closes the peer: closed event and no peer left', async t => {
  const { app, url } = await startServer(t)
  const c = await client(t, url)
  const closed: string[] = []
  app.llmrtcTransport.on('closed', (sessionId) => { closed.push(sessionId) })
  t.equal(app.llmrtcTransport.peerCount, 1)
  c.ws.close()
  await until(() => app.llmrtcTransport.peerCount === 0)
  t.same(closed, [c.sessionId])
})

t.test('closing the server with open peers closes them all and sends nothing after', async t => {
  const { app, url } = await startServer(t)
  const clients = await Promise.all([WebRTCTestClient.connect(url), WebRTCTestClient.connect(url)])
  t.teardown(() => Promise.all(clients.map(async c => { await c.close() })))
  const closed: string[] = []
  app.llmrtcTransport.on('closed', (id) => { closed.push(id) })
  t.equal(app.llmrtcTransport.peerCount, 2)
  await app.close()
  t.equal(app.llmrtcTransport.peerCount, 0)
  t.same(closed.sort(), clients.map(c => c.sessionId).sort())
  const codes = await Promise.all(clients.map(async c => (await c.closed).code))
  t.same(codes, [1001, 1001])
})

t.test('reconnect re-binds the session: the old peer closes, and the next offer gets a new peer for the resumed session', async t => {
  const { app, url } = await startServer(t)
  const first = await client(t, url)
  const events: string[] = []
  app.llmrtcTransport.on('closed', (id) => { events.push(`closed ${id === first.sessionId ? 'resumed' : 'other'}`) })
  app.llmrtcTransport.on('media', (id) => { events.push(`media ${id === first.sessionId ? 'resumed' : 'other'}`) })
  const second = await client(t, url, false)
  second.send({ type: 'reconnect', sessionId: first.sessionId })
  t.match(await second.waitFor('reconnect-ack'), { success: true, sessionId: first.sessionId })
  await second.startWebRTC()
  await second.addMicrophone()
  await until(() => events.includes('media resumed'))
  t.same(events, ['closed resumed', 'media resumed'], 'the old peer of the session closes before the new one brings media')
  await until(() => app.llmrtcTransport.peerCount === 1)
  t.equal(app.llmrtcTransport.media(first.sessionId) !== undefined, true)
})

t.test('a client peer that closes while its WebSocket stays is failed after the grace: CONNECTION_FAILED to the client and the onError hook', async t => {
  const errors: Array<[string, ErrorContext]> = []
  const { app, url } = await startServer(t, { hooks: { onError: (err, ctx) => { errors.push([err.message, ctx]) } } }, { disconnectedGraceMs: 100 })
  const c = await client(t, url)
  c.peer?.close() // the client's peer vanishes; its WebSocket stays open
  const error = await c.waitFor('error')
  t.match(error, { type: 'error', code: 'CONNECTION_FAILED' })
  t.equal(app.llmrtcTransport.peerCount, 0)
  t.match(errors, [[/WebRTC connection failed/, { code: 'CONNECTION_FAILED', component: 'webrtc', sessionId: c.sessionId }]])
  t.equal(c.ws.readyState, 1, 'the session stays usable: the client may offer again')
})

t.test('a client the server cannot reach yet gets the answer at once, not after the server\'s TCP phase: later candidates follow as ice, then null', async t => {
  const app = await transportApp(t)
  const ws = await connect(app)
  await ws.next('ready')
  const pc = new (loadWrtc().RTCPeerConnection)({ iceServers: [] })
  t.teardown(() => { pc.close() })
  const channel = pc.createDataChannel('data')
  await pc.setLocalDescription(await pc.createOffer())
  await until(() => pc.iceGatheringState === 'complete', 'client ICE gathering')
  // As from behind NAT: no candidate the server could check, so its checks cannot end its gathering early.
  const offer = (pc.localDescription?.sdp ?? '').split('\r\n').filter(line => !line.startsWith('a=candidate:')).join('\r\n')
  ws.send({ type: 'offer', signal: { type: 'offer', sdp: offer } })
  const answer = (await ws.next('signal')).signal as WrtcSessionDescription
  const inAnswer = sdpCandidates(answer.sdp)
  t.ok([...inAnswer.values()].some(c => c.transport === 'udp' && c.type === 'host'), 'the answer carries a UDP host candidate')
  t.notOk([...inAnswer.values()].some(c => c.transport === 'tcp'), 'it went out before the TCP candidates (libwebrtc finds them ~100 ms later)')

  await until(() => ws.messages.some(m => m.type === 'ice' && m.candidate === null), 'the end of trickled candidates')
  const trickled = ws.messages.filter(m => m.type === 'ice').map(m => m.candidate as WrtcIceCandidateInit | null)
  t.equal(trickled.at(-1), null, 'null closes them')
  const late = sdpCandidates(trickled.slice(0, -1).map(c => `a=${c?.candidate ?? ''}`).join('\r\n'))
  t.ok([...late.values()].some(c => c.transport === 'tcp'), 'the TCP candidates are trickled')
  t.notOk([...late.keys()].some(key => inAnswer.has(key)), 'nothing in the answer is trickled again')

  const open = new Promise<void>(resolve => { channel.onopen = () => { resolve() } })
  await pc.setRemoteDescription(answer)
  for (const candidate of trickled) await pc.addIceCandidate(candidate ?? undefined)
  await open
  t.pass('the client connects with the answer and the trickled candidates')
  ws.ws.terminate()
})

t.test('an offer whose SDP cannot be applied gets INVALID_MESSAGE and leaves no peer; ICE before any offer is ignored', async t => {
  const { app, url } = await startServer(t)
  const c = await client(t, url, false)
  c.send({ type: 'ice', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } })
  c.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0\r\nnot sdp\r\n' } })
  t.match(await c.waitFor('error'), { code: 'INVALID_MESSAGE' })
  t.equal(app.llmrtcTransport.peerCount, 0)
  t.same(c.wsMessages.map(m => m.type), ['ready', 'error'])
})

t.test('registered alone, the plugin refuses an unknown option key', async t => {
  await t.rejects(transportApp(t, {}, { gatherTimeout: 100 } as LLMRTCWebRTCOptions), {
    code: 'LLMRTC_ERR_OPTIONS_UNKNOWN',
    message: 'Unknown llmrtc option "webrtc.gatherTimeout": did you mean "webrtc.gatherTimeoutMs"? expected one of loadWrtc, gatherTimeoutMs, disconnectedGraceMs, opusDtx, prefix, logLevel, logSerializers'
  })
})

t.test('without wrtc the server runs: offers get WEBRTC_UNAVAILABLE and the transport says unavailable', async t => {
  const app = await transportApp(t, {}, { loadWrtc: () => { throw new Error('not on this platform') } })
  t.equal(app.llmrtcTransport.available, false)
  t.equal(app.llmrtcTransport.peerCount, 0)
  const ws = await connect(app)
  await ws.next('ready')
  ws.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  t.match(await ws.next('error'), { code: 'WEBRTC_UNAVAILABLE' })
  ws.ws.terminate()
})

t.test('with a TURN secret each ready carries fresh credentials; the secret itself never leaves the server', async t => {
  const app = await transportApp(t, { turnSecret: 'north', turnUrls: ['turn:turn.example.com:3478'], turnTtlSeconds: 600, iceServers: [{ urls: 'stun:stun.example.com' }] })
  const a = await connect(app)
  const b = await connect(app)
  const [readyA, readyB] = [await a.next('ready'), await b.next('ready')]
  const [turnA, turnB] = [readyA, readyB].map(r => (r.iceServers as Array<Record<string, string>>)[1])
  t.same((readyA.iceServers as unknown[])[0], { urls: 'stun:stun.example.com' })
  t.match(turnA, { urls: 'turn:turn.example.com:3478', username: /^\d+:[0-9a-f-]{36}$/, credential: /^[A-Za-z0-9+/]{27}=$/ })
  const expiry = Number(turnA?.username?.split(':')[0])
  t.ok(Math.abs(expiry - (Date.now() / 1000 + 600)) < 5, 'expires ttl seconds from now')
  t.not(turnA?.username, turnB?.username, 'per connection')
  t.notMatch(JSON.stringify([readyA, readyB]), /north/)
  a.ws.terminate()
  b.ws.terminate()
})

t.test('the loopback filter keeps only 127.0.0.1 candidates', async t => {
  const sdp = ['v=0', 'a=candidate:1 1 udp 2122260223 192.0.2.2 5000 typ host', 'a=candidate:2 1 udp 2122194687 127.0.0.1 5001 typ host', 'a=candidate:3 1 udp 2122136831 ::1 5002 typ host', 'a=mid:0', ''].join('\r\n')
  t.equal(keepLoopbackCandidates(sdp), ['v=0', 'a=candidate:2 1 udp 2122194687 127.0.0.1 5001 typ host', 'a=mid:0', ''].join('\r\n'))
})

/** A scripted stand-in for @roamhq/wrtc: the test drives connection and gathering states. */
class FakePeer {
  static instances: FakePeer[] = []
  connectionState: WrtcConnectionState = 'new'
  iceGatheringState: 'new' | 'gathering' | 'complete' = 'complete'
  signalingState = 'stable'
  localDescription: WrtcSessionDescription | null = null
  readonly candidates: Array<WrtcIceCandidateInit | undefined> = []
  onconnectionstatechange: (() => void) | null = null
  onicegatheringstatechange: (() => void) | null = null
  onicecandidate: ((event: { candidate: WrtcIceCandidateInit | null }) => void) | null = null
  ondatachannel = null
  ontrack = null
  readonly #listeners = new Set<() => void>()
  constructor () { FakePeer.instances.push(this) }
  addEventListener (_type: string, listener: () => void): void { this.#listeners.add(listener) }
  removeEventListener (_type: string, listener: () => void): void { this.#listeners.delete(listener) }
  async setRemoteDescription (): Promise<void> {}
  async createOffer (): Promise<WrtcSessionDescription> { return { type: 'offer', sdp: 'v=0' } }
  async createAnswer (): Promise<WrtcSessionDescription> { return { type: 'answer', sdp: 'v=0\r\nfake answer\r\n' } }
  async setLocalDescription (description: WrtcSessionDescription): Promise<void> { this.localDescription = description }
  async addIceCandidate (candidate?: WrtcIceCandidateInit): Promise<void> {
    if (candidate?.candidate === 'garbage') throw new Error('bad candidate')
    this.candidates.push(candidate)
  }

  addTrack (): void {}
  addTransceiver (): void {}
  createDataChannel (): never { throw new Error('not scripted') }
  close (): void { this.connectionState = 'closed' }
  set (state: WrtcConnectionState): void {
    this.connectionState = state
    this.onconnectionstatechange?.()
  }

  gathered (): void {
    this.iceGatheringState = 'complete'
    for (const listener of this.#listeners) listener()
  }
}

const fakeWrtc: Wrtc = {
  RTCPeerConnection: FakePeer,
  nonstandard: {
    RTCAudioSource: class { createTrack () { return { id: 'out', kind: 'audio', stop () {} } } onData (): void {} },
    RTCAudioSink: class { ondata = null; stop (): void {} }
  }
}

t.test('a disconnected peer gets a grace: recovering keeps it, staying disconnected fails it; failed fails at once', async t => {
  FakePeer.instances = []
  const clock = new FakeClock()
  const errors: ErrorContext[] = []
  const app = await transportApp(t, { clock, hooks: { onError: (_err, ctx) => { errors.push(ctx) } } }, { loadWrtc: () => fakeWrtc, disconnectedGraceMs: 1000 })
  const ws = await connect(app)
  const ready = await ws.next('ready')
  ws.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  t.same(await ws.next('signal'), { type: 'signal', signal: { type: 'answer', sdp: 'v=0\r\nfake answer\r\n' } })
  const peer = FakePeer.instances[0] as FakePeer
  peer.set('connected')
  peer.set('disconnected')
  clock.advance(999)
  peer.set('connected')
  clock.advance(5000)
  t.equal(app.llmrtcTransport.peerCount, 1, 'recovered within the grace')
  t.equal(ws.messages.filter(m => m.type === 'error').length, 0)

  peer.set('disconnected')
  clock.advance(1000)
  t.match(await ws.next('error'), { code: 'CONNECTION_FAILED', message: /disconnected for 1000 ms/ })
  t.equal(app.llmrtcTransport.peerCount, 0)
  t.equal(peer.connectionState, 'closed')
  await until(() => errors.length === 1)
  t.match(errors, [{ code: 'CONNECTION_FAILED', component: 'webrtc', sessionId: ready.id }])

  const from = ws.messages.length
  ws.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  await ws.next('signal', from)
  t.equal(app.llmrtcTransport.peerCount, 1, 'the client may offer again: a new peer')
  FakePeer.instances[1]?.set('failed')
  t.match(await ws.next('error', from), { code: 'CONNECTION_FAILED', message: /peer connection failed/ })
  t.equal(app.llmrtcTransport.peerCount, 0)
  ws.ws.terminate()
})

t.test('when gathering outlasts its timeout the answer goes out and later candidates trickle; client candidates reach the peer', async t => {
  FakePeer.instances = []
  const clock = new FakeClock()
  const app = await transportApp(t, { clock }, { loadWrtc: () => fakeWrtc, gatherTimeoutMs: 500 })
  const ws = await connect(app)
  await ws.next('ready')
  const original = FakePeer.prototype.setLocalDescription
  t.teardown(() => { FakePeer.prototype.setLocalDescription = original })
  FakePeer.prototype.setLocalDescription = async function (this: FakePeer, description) {
    this.localDescription = description
    this.iceGatheringState = 'gathering'
  }
  ws.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  await until(() => FakePeer.instances[0]?.iceGatheringState === 'gathering')
  const peer = FakePeer.instances[0] as FakePeer
  peer.onicecandidate?.({ candidate: { candidate: 'candidate:early', sdpMid: '0', sdpMLineIndex: 0 } })
  clock.advance(500)
  await ws.next('signal')
  peer.onicecandidate?.({ candidate: { candidate: 'candidate:late', sdpMid: '0', sdpMLineIndex: 0 } })
  peer.onicecandidate?.({ candidate: null })
  peer.gathered()
  await until(() => ws.messages.filter(m => m.type === 'ice').length === 2)
  t.same(ws.messages.map(m => m.type), ['ready', 'signal', 'ice', 'ice'], 'candidates found before the answer are in its SDP, not trickled')
  t.same(ws.messages.slice(2), [
    { type: 'ice', candidate: { candidate: 'candidate:late', sdpMid: '0', sdpMLineIndex: 0 } },
    { type: 'ice', candidate: null }
  ])

  ws.send({ type: 'ice', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } })
  ws.send({ type: 'ice', candidate: null })
  ws.send({ type: 'ice', candidate: { candidate: 'garbage' } })
  t.match(await ws.next('error'), { code: 'INVALID_MESSAGE', message: /"ice"/ })
  t.same(peer.candidates.map(c => c?.candidate), ['candidate:1 1 udp 1 127.0.0.1 9 typ host', undefined])
  ws.ws.terminate()
})

t.test('inbound audio delivers 48 kHz 10 ms frames (stereo passes through), skips other formats, and survives a failing listener', async t => {
  let sink: { ondata: ((data: WrtcAudioData) => void) | null, stopped: boolean } | undefined
  const wrtc = {
    ...fakeWrtc,
    nonstandard: {
      ...fakeWrtc.nonstandard,
      RTCAudioSink: class { ondata = null; stopped = false; constructor () { sink = this } stop (): void { this.stopped = true } }
    }
  } as unknown as Wrtc
  const logged: string[] = []
  const log = { trace () {}, debug (_o: unknown, m?: string) { logged.push(`debug ${m ?? ''}`) }, info () {}, warn () {}, error (_o: unknown, m?: string) { logged.push(`error ${m ?? ''}`) }, child () { return log } }
  const inbound = new InboundAudio(wrtc, log)
  let trackStopped = false
  inbound.attach({ id: 'mic', kind: 'audio', stop () { trackStopped = true } })
  const frames: string[] = []
  inbound.onAudio(frame => { frames.push(`${frame.sampleRateHz}/${frame.channels}/${frame.samplesPerChannel}`) })
  inbound.onAudio(() => { throw new Error('consumer bug') })
  sink?.ondata?.({ samples: new Int16Array(160), sampleRate: 16_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 160 })
  sink?.ondata?.({ samples: new Int16Array(480), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 })
  sink?.ondata?.({ samples: new Int16Array(960), sampleRate: 48_000, bitsPerSample: 16, channelCount: 2, numberOfFrames: 480 })
  sink?.ondata?.({ samples: new Int16Array(479), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 })
  t.same(frames, ['48000/1/480', '48000/2/480'])
  t.same(inbound.stats, { delivered: 2, skipped: 2 })
  t.same(logged, ['debug skipping inbound audio of an unexpected format', 'error inbound audio listener failed'], 'one log line each, not one per frame')
  const first = sink
  inbound.close()
  t.equal(first?.stopped, true)
  t.equal(trackStopped, true, 'the remote track is stopped too (a running one keeps the process alive)')
})

t.test('inbound audio takes each frame at once from the sink\'s dispatchEvent, as the native sink hands it over, and none after close', async t => {
  type Event = WrtcAudioData & { type: string }
  let sink: { dispatchEvent: (event: Event) => void } | undefined
  // wrtc's EventTarget shim: defers the event to a nextTick, then calls ondata.
  class SinkWithShim {
    ondata: ((data: WrtcAudioData) => void) | null = null
    constructor () { sink = this }
    dispatchEvent (event: Event): void { process.nextTick(() => { this.ondata?.(event) }) }
    stop (): void {}
  }
  const wrtc = { ...fakeWrtc, nonstandard: { ...fakeWrtc.nonstandard, RTCAudioSink: SinkWithShim } } as unknown as Wrtc
  const log = { trace () {}, debug () {}, info () {}, warn () {}, error () {}, child () { return log } }
  const inbound = new InboundAudio(wrtc, log)
  inbound.attach({ id: 'mic', kind: 'audio', stop () {} })
  let frames = 0
  inbound.onAudio(() => { frames++ })
  const frame: Event = { type: 'data', samples: new Int16Array(480), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 }
  sink?.dispatchEvent(frame)
  t.equal(frames, 1, 'delivered within the native call, not a tick later')
  await new Promise(resolve => process.nextTick(resolve))
  t.equal(frames, 1, 'and only once')
  const closed = sink
  inbound.close()
  closed?.dispatchEvent(frame)
  t.equal(frames, 1, 'a frame the native side queued before close is dropped')
})

t.test('a peer that cannot be created answers CONNECTION_FAILED and leaves nothing open', async t => {
  FakePeer.instances = []
  const broken = { ...fakeWrtc, nonstandard: { ...fakeWrtc.nonstandard, RTCAudioSource: class { constructor () { throw new Error('no audio device module') } } } } as unknown as Wrtc
  const app = await transportApp(t, {}, { loadWrtc: () => broken })
  const ws = await connect(app)
  await ws.next('ready')
  ws.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0' } })
  t.match(await ws.next('error'), { code: 'CONNECTION_FAILED', message: /could not create the server track/ })
  t.equal(app.llmrtcTransport.peerCount, 0)
  t.equal(FakePeer.instances[0]?.connectionState, 'closed', 'the half-made peer connection was closed')
  ws.ws.terminate()
})
