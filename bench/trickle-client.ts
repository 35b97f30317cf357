/**
 * A minimal client of protocol v1 that trickles ICE, for bench/connect.ts `--trickle`: what connecting
 * costs when the client does not wait for its own gathering. Not the published client (which does): it
 * sends its offer right after `setLocalDescription`, its candidates as `ice` messages, applies the
 * server's `ice` messages, and treats a renegotiation as done when the signaling state is stable again.
 */
import type { WrtcDataChannel, WrtcIceCandidateInit, WrtcMediaStreamTrack, WrtcPeerConnection } from '../plugins/webrtc/wrtc.js'

type Peer = WrtcPeerConnection & { addEventListener: (type: 'signalingstatechange', listener: () => void) => void }

export class TricklingClient {
  readonly #Peer: new (config: unknown) => Peer
  #ws: WebSocket | undefined
  #pc: Peer | undefined
  #offered = false
  #pending: Array<WrtcIceCandidateInit | null> = []
  #stable: (() => void) | undefined

  constructor (Peer: new (config: unknown) => Peer) {
    this.#Peer = Peer
  }

  /** WebSocket, `ready`, then the peer with its `data` channel: resolves when the channel is open. */
  async start (url: string): Promise<void> {
    const ws = new WebSocket(url)
    this.#ws = ws
    const ready = new Promise<void>((resolve, reject) => {
      ws.addEventListener('error', () => { reject(new Error('WebSocket error')) })
      ws.addEventListener('message', (event: MessageEvent) => {
        const message = JSON.parse(String(event.data)) as { type: string, signal?: { type: 'answer', sdp: string }, candidate?: WrtcIceCandidateInit | null }
        if (message.type === 'ready') resolve()
        else if (message.type === 'signal' && message.signal !== undefined) void this.#pc?.setRemoteDescription(message.signal)
        else if (message.type === 'ice') void this.#pc?.addIceCandidate(message.candidate ?? undefined)
      })
    })
    await ready
    const pc = new this.#Peer({ iceServers: [] })
    this.#pc = pc
    pc.onicecandidate = ({ candidate }) => { this.#trickle(candidate) }
    pc.addEventListener('signalingstatechange', () => { if (pc.signalingState === 'stable') this.#stable?.() })
    const channel: WrtcDataChannel = pc.createDataChannel('data', { ordered: true })
    const open = new Promise<void>(resolve => { channel.onopen = () => { resolve() } })
    await this.#offer()
    await open
  }

  /** Adds the microphone and renegotiates: resolves when the answer is applied. */
  async shareAudio (track: WrtcMediaStreamTrack, stream: unknown): Promise<void> {
    const pc = this.#pc
    if (pc === undefined) throw new Error('start() first')
    pc.addTrack(track, stream)
    const stable = new Promise<void>(resolve => { this.#stable = resolve })
    await this.#offer()
    await stable
  }

  close (): void {
    this.#pc?.close()
    this.#ws?.close()
  }

  async #offer (): Promise<void> {
    const pc = this.#pc as Peer
    await pc.setLocalDescription(await pc.createOffer())
    this.#send({ type: 'offer', signal: { type: 'offer', sdp: pc.localDescription?.sdp ?? '' } })
    // Candidates found before the first offer went out follow it (the server ignores them before).
    if (!this.#offered) {
      this.#offered = true
      for (const candidate of this.#pending.splice(0)) this.#trickle(candidate)
    }
  }

  #trickle (candidate: WrtcIceCandidateInit | null): void {
    if (!this.#offered) {
      this.#pending.push(candidate)
      return
    }
    this.#send({ type: 'ice', candidate: candidate === null ? null : { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex } })
  }

  #send (message: unknown): void {
    this.#ws?.send(JSON.stringify(message))
  }
}
