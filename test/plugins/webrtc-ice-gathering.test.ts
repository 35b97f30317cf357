import t from 'tap'
import { candidateKey, candidateTypesNeeded, sdpCandidates, waitForAnswerCandidates, type GatheringOutcome } from '../../plugins/webrtc/ice-gathering.js'
import type { WrtcPeerConnection, WrtcSessionDescription } from '../../plugins/webrtc/wrtc.js'
import { FakeClock } from '../helpers/fake-clock.js'

const HOST_UDP = 'a=candidate:1 1 udp 2122194687 10.0.0.5 40000 typ host generation 0'
const HOST_TCP = 'a=candidate:2 1 tcp 1518214911 10.0.0.5 9 typ host tcptype active generation 0'
const SRFLX = 'a=candidate:3 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.5 rport 40000 generation 0'
const RELAY = 'a=candidate:4 1 udp 41885439 198.51.100.9 50000 typ relay raddr 203.0.113.7 rport 40000 generation 0'
const answer = (...candidates: string[]): string => ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:0', ...candidates, ''].join('\r\n')

/** The slice of a peer the wait reads: gathering and connection state, the local description, and its events. */
class GatheringPeer {
  iceGatheringState: 'new' | 'gathering' | 'complete' = 'gathering'
  connectionState = 'new'
  localDescription: WrtcSessionDescription | null = { type: 'answer', sdp: answer() }
  readonly listeners = new Map<string, Set<() => void>>()
  addEventListener (type: string, listener: () => void): void {
    const set = this.listeners.get(type) ?? new Set()
    set.add(listener)
    this.listeners.set(type, set)
  }

  removeEventListener (type: string, listener: () => void): void { this.listeners.get(type)?.delete(listener) }
  get listening (): number { return [...this.listeners.values()].reduce((n, set) => n + set.size, 0) }
  emit (type: string): void { for (const listener of this.listeners.get(type) ?? []) listener() }
  /** libwebrtc adds each candidate to the local description, then fires `icecandidate`. */
  found (...candidates: string[]): void {
    this.localDescription = { type: 'answer', sdp: answer(...candidates) }
    this.emit('icecandidate')
  }
}

function wait (peer: GatheringPeer, needed: ReturnType<typeof candidateTypesNeeded>, clock = new FakeClock(), timeoutMs = 2000): { outcome: () => GatheringOutcome | undefined, done: Promise<GatheringOutcome> } {
  let outcome: GatheringOutcome | undefined
  const done = waitForAnswerCandidates(peer as unknown as WrtcPeerConnection, needed, timeoutMs, clock).then(o => { outcome = o; return o })
  return { outcome: () => outcome, done }
}

t.test('the candidate types an answer needs follow the ICE servers: host always, srflx with STUN, relay with TURN', async t => {
  t.same([...candidateTypesNeeded([])], ['host'])
  t.same([...candidateTypesNeeded([{ urls: 'stun:stun.example.org:3478' }])].sort(), ['host', 'srflx'])
  t.same([...candidateTypesNeeded([{ urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'], username: 'u', credential: 'c' }])].sort(), ['host', 'relay'])
  t.same([...candidateTypesNeeded([{ urls: 'STUN:a' }, { urls: ['turn:b'] }])].sort(), ['host', 'relay', 'srflx'])
})

t.test('candidates are keyed by component, transport, address and port, in SDP lines and in trickled strings alike', async t => {
  t.equal(candidateKey(HOST_UDP), '1 udp 10.0.0.5 40000')
  t.equal(candidateKey('candidate:1 1 UDP 2122194687 10.0.0.5 40000 typ host generation 0 ufrag abcd network-id 1'), '1 udp 10.0.0.5 40000')
  t.equal(candidateKey('garbage'), undefined)
  t.equal(candidateKey(''), undefined)
  t.same([...sdpCandidates(answer(HOST_UDP, HOST_TCP, SRFLX)).values()], [
    { transport: 'udp', type: 'host' },
    { transport: 'tcp', type: 'host' },
    { transport: 'udp', type: 'srflx' }
  ])
})

t.test('without STUN or TURN the answer may go out with its first UDP host candidate, before gathering completes', async t => {
  const peer = new GatheringPeer()
  const { outcome, done } = wait(peer, candidateTypesNeeded([]))
  await Promise.resolve()
  t.equal(outcome(), undefined, 'no candidate yet: waits')
  peer.found(HOST_TCP)
  await Promise.resolve()
  t.equal(outcome(), undefined, 'a TCP candidate alone is not enough')
  peer.found(HOST_TCP, HOST_UDP)
  t.equal(await done, 'usable')
  t.equal(peer.iceGatheringState, 'gathering')
  t.equal(peer.listening, 0, 'no listener left on the peer')
})

t.test('with a STUN server the answer waits for a server-reflexive candidate; with TURN, for a relayed one', async t => {
  const stun = new GatheringPeer()
  const withStun = wait(stun, candidateTypesNeeded([{ urls: 'stun:stun.example.org' }]))
  stun.found(HOST_UDP)
  await Promise.resolve()
  t.equal(withStun.outcome(), undefined, 'host alone: a server behind NAT would be unreachable')
  stun.found(HOST_UDP, SRFLX)
  t.equal(await withStun.done, 'usable')

  const turn = new GatheringPeer()
  const withTurn = wait(turn, candidateTypesNeeded([{ urls: 'turn:turn.example.org', username: 'u', credential: 'c' }]))
  turn.found(HOST_UDP, SRFLX)
  await Promise.resolve()
  t.equal(withTurn.outcome(), undefined)
  turn.found(HOST_UDP, SRFLX, RELAY)
  t.equal(await withTurn.done, 'usable')
})

t.test('gathering that completes ends the wait, whatever the answer carries; so does a closed peer', async t => {
  const complete = new GatheringPeer()
  const waiting = wait(complete, candidateTypesNeeded([{ urls: 'stun:stun.example.org' }]))
  complete.found(HOST_UDP)
  complete.iceGatheringState = 'complete'
  complete.emit('icegatheringstatechange')
  t.equal(await waiting.done, 'complete', 'a STUN server that gives nothing (a public host) does not hold the answer past completion')

  const closed = new GatheringPeer()
  const closing = wait(closed, candidateTypesNeeded([]))
  closed.connectionState = 'closed'
  closed.emit('connectionstatechange')
  t.equal(await closing.done, 'closed')

  const already = new GatheringPeer()
  already.iceGatheringState = 'complete'
  t.equal(await wait(already, candidateTypesNeeded([])).done, 'complete', 'a renegotiation on a gathered peer answers at once')
  t.equal(already.listening, 0)
})

t.test('without the needed candidates the answer goes out after the timeout, and the timer is cleared otherwise', async t => {
  const clock = new FakeClock()
  const peer = new GatheringPeer()
  const waiting = wait(peer, candidateTypesNeeded([{ urls: 'stun:stun.example.org' }]), clock, 500)
  peer.found(HOST_UDP)
  clock.advance(499)
  await Promise.resolve()
  t.equal(waiting.outcome(), undefined)
  clock.advance(1)
  t.equal(await waiting.done, 'timeout')
  t.equal(peer.listening, 0)

  const quick = new GatheringPeer()
  const fast = wait(quick, candidateTypesNeeded([]), clock, 500)
  quick.found(HOST_UDP)
  await fast.done
  t.equal(clock.pending, 0, 'no timer left behind')
})
