/*
 * ICE candidates kept to 127.0.0.1, for a caller and a server on one machine (evals' WebRTC caller, the
 * tests' client): libwebrtc gathers on every interface, and a candidate on another address would send
 * packets off the loopback.
 */

/** Whether an `a=candidate:` line or candidate string is a 127.0.0.1 candidate (its 5th field). */
export function isLoopbackCandidate (candidate: string): boolean {
  return candidate.replace(/^a=/, '').split(' ')[4] === '127.0.0.1'
}

/** Drops every `a=candidate` line whose address is not 127.0.0.1. */
export function keepLoopbackCandidates (sdp: string): string {
  return sdp.split('\r\n').filter(line => !line.startsWith('a=candidate:') || isLoopbackCandidate(line)).join('\r\n')
}
