import type { Clock } from '../../lib/clock.js'
import type { IceServer } from '../../lib/protocol/server-messages.js'
import type { WrtcPeerConnection } from './wrtc.js'

/** The ICE candidate types an answer may need: `srflx` from a STUN server, `relay` from a TURN server. */
export type CandidateType = 'host' | 'srflx' | 'relay'

/** How the wait for the answer's candidates ended. */
export type GatheringOutcome = 'complete' | 'usable' | 'timeout' | 'closed'

/**
 * The UDP candidate types the server's answer must carry for a client that takes no trickled
 * candidates (the published client does not): a host candidate always, a server-reflexive one when a
 * STUN server is configured (a server behind 1:1 NAT is reachable only there), a relayed one when a
 * TURN server is.
 */
export function candidateTypesNeeded (iceServers: IceServer[]): Set<CandidateType> {
  const needed = new Set<CandidateType>(['host'])
  for (const server of iceServers) {
    for (const url of typeof server.urls === 'string' ? [server.urls] : server.urls) {
      if (/^stuns?:/i.test(url)) needed.add('srflx')
      else if (/^turns?:/i.test(url)) needed.add('relay')
    }
  }
  return needed
}

/** The key of a candidate (component, transport, address, port), from an SDP `a=candidate:` line or a candidate string. */
export function candidateKey (candidate: string): string | undefined {
  const fields = candidate.replace(/^a=/, '').trim().split(/\s+/)
  if (fields.length < 8 || !/^candidate:/i.test(fields[0] ?? '')) return undefined
  return `${fields[1]} ${fields[2]?.toLowerCase()} ${fields[4]} ${fields[5]}`
}

/** The candidates of an SDP, by key, with their transport and type. */
export function sdpCandidates (sdp: string): Map<string, { transport: string, type: string }> {
  const candidates = new Map<string, { transport: string, type: string }>()
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith('a=candidate:')) continue
    const key = candidateKey(line)
    const fields = line.trim().split(/\s+/)
    const typ = fields.indexOf('typ')
    if (key === undefined || typ < 0) continue
    candidates.set(key, { transport: (fields[2] ?? '').toLowerCase(), type: fields[typ + 1] ?? '' })
  }
  return candidates
}

function carries (sdp: string | undefined, needed: Set<CandidateType>): boolean {
  if (sdp === undefined) return false
  const types = new Set<string>()
  for (const { transport, type } of sdpCandidates(sdp).values()) if (transport === 'udp') types.add(type)
  for (const type of needed) if (!types.has(type)) return false
  return true
}

/**
 * Waits until the server's answer can go out: its local description carries a UDP candidate of every
 * `needed` type ('usable'), or gathering completed, or `timeoutMs` passed, or the peer closed.
 *
 * Why not wait for 'complete': libwebrtc finds its UDP candidates at once, then steps through its relay
 * and TCP phases 50 ms apart, so unless one of the peer's own checks succeeded first (it cannot reach a
 * client behind NAT before that client's checks arrive), gathering completed ~100 ms later, only to add
 * ICE-TCP candidates. Those now follow as trickled `ice` messages (docs/benchmarks.md, Connecting).
 */
export async function waitForAnswerCandidates (pc: WrtcPeerConnection, needed: Set<CandidateType>, timeoutMs: number, clock: Clock): Promise<GatheringOutcome> {
  const outcome = (): GatheringOutcome | undefined => {
    if (pc.iceGatheringState === 'complete') return 'complete'
    if (pc.connectionState === 'closed') return 'closed'
    if (carries(pc.localDescription?.sdp, needed)) return 'usable'
    return undefined
  }
  const now = outcome()
  if (now !== undefined) return now
  return await new Promise<GatheringOutcome>(resolve => {
    const finish = (result: GatheringOutcome): void => {
      clock.clearTimeout(timer)
      for (const type of EVENTS) pc.removeEventListener(type, onChange)
      resolve(result)
    }
    const onChange = (): void => {
      const result = outcome()
      if (result !== undefined) finish(result)
    }
    const timer = clock.setTimeout(() => { finish('timeout') }, timeoutMs)
    for (const type of EVENTS) pc.addEventListener(type, onChange)
  })
}

const EVENTS = ['icecandidate', 'icegatheringstatechange', 'connectionstatechange'] as const
