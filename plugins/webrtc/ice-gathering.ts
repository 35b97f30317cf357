import type { Clock } from '../../lib/clock.js'
import type { WrtcPeerConnection } from './wrtc.js'

/**
 * Waits until the peer has gathered all its local candidates, so the answer carries them (the
 * published client does not trickle ICE). Resolves true when complete, false after `timeoutMs` (the
 * caller then sends what it has and trickles the rest), or when the peer closes.
 */
export async function waitForIceGathering (pc: WrtcPeerConnection, timeoutMs: number, clock: Clock): Promise<boolean> {
  if (pc.iceGatheringState === 'complete') return true
  return await new Promise<boolean>(resolve => {
    const finish = (complete: boolean): void => {
      clock.clearTimeout(timer)
      pc.removeEventListener('icegatheringstatechange', onChange)
      pc.removeEventListener('connectionstatechange', onChange)
      resolve(complete)
    }
    const onChange = (): void => {
      if (pc.iceGatheringState === 'complete') finish(true)
      else if (pc.connectionState === 'closed') finish(false)
    }
    const timer = clock.setTimeout(() => { finish(false) }, timeoutMs)
    pc.addEventListener('icegatheringstatechange', onChange)
    pc.addEventListener('connectionstatechange', onChange)
  })
}
