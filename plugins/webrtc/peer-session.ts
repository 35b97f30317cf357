import type { Clock, TimerHandle } from '../../lib/clock.js'
import { LLMRTC_ERR_CONNECTION_FAILED, LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import type { IceServer } from '../../lib/protocol/server-messages.js'
import type { SessionMedia } from '../../lib/transport/media-transport.js'
import { FRAME_SAMPLES, OUTPUT_SAMPLE_RATE_HZ, PacedAudioOutput } from '../../lib/transport/paced-audio-output.js'
import { candidateKey, candidateTypesNeeded, sdpCandidates, waitForAnswerCandidates, type CandidateType } from './ice-gathering.js'
import { InboundAudio } from './inbound-audio.js'
import { withOpusDtx } from './opus-dtx.js'
import type { Wrtc, WrtcAudioData, WrtcDataChannel, WrtcIceCandidateInit, WrtcMediaStreamTrack, WrtcPeerConnection } from './wrtc.js'

/** The label of the protocol's data channel. */
export const DATA_CHANNEL_LABEL = 'data'

export interface PeerSessionOptions {
  wrtc: Wrtc
  /** ICE servers of the server's own peer (the same as the client's). */
  iceServers: IceServer[]
  /** Longest wait for the answer's candidates before answering with those found so far, in ms. */
  gatherTimeoutMs: number
  /** How long `disconnected` may last before the peer counts as failed, in ms. */
  disconnectedGraceMs: number
  /** Ask for Opus DTX on the server's outbound audio (see opus-dtx.ts). */
  opusDtx: boolean
  clock: Clock
  log: Logger
  /** The `data` channel opened (attach it) or closed (undefined). */
  onChannel: (channel: WrtcDataChannel | undefined) => void
  /** A message arrived on the `data` channel. */
  onChannelMessage: (data: string | ArrayBuffer) => void
  /** A local candidate found after the answer was sent and not in it, or null after the last of them. */
  onCandidate: (candidate: WrtcIceCandidateInit | null) => void
  /** The client's microphone track arrived (once per peer). */
  onMedia: () => void
  /** The connection failed (or stayed disconnected past the grace). The owner closes the peer. */
  onFailed: (reason: string) => void
}

/**
 * One client's RTCPeerConnection (the client offers, the server answers, renegotiations on the same
 * peer): the server's outbound track fed by a paced 48 kHz output, the client's microphone through an
 * RTCAudioSink, the `data` channel, and connection-state monitoring.
 */
export class PeerSession implements SessionMedia {
  readonly output: PacedAudioOutput
  readonly #options: PeerSessionOptions
  readonly #pc: WrtcPeerConnection
  readonly #track: WrtcMediaStreamTrack
  readonly #inbound: InboundAudio
  #channel: WrtcDataChannel | undefined
  #graceTimer: TimerHandle | undefined
  /** The `data` channel closed under us (the client's peer is most likely gone). */
  #channelLost = false
  #hasMedia = false
  /** Candidates found after the answer went out are trickled with `ice`. */
  #trickle = false
  /** What the answer must carry before it goes out (see waitForAnswerCandidates). */
  readonly #needed: Set<CandidateType>
  /** Candidates already in the last answer, by key: not trickled again. */
  #answered = new Set<string>()
  #trickled = 0
  #closed = false

  constructor (options: PeerSessionOptions) {
    this.#options = options
    this.#needed = candidateTypesNeeded(options.iceServers)
    const { wrtc } = options
    const pc = new wrtc.RTCPeerConnection({ iceServers: options.iceServers })
    this.#pc = pc
    try {
      const source = new wrtc.nonstandard.RTCAudioSource()
      this.#track = source.createTrack()
      pc.addTrack(this.#track)
      // One data object for every frame: the paced output refills the same samples buffer.
      const data: WrtcAudioData = { samples: new Int16Array(FRAME_SAMPLES), sampleRate: OUTPUT_SAMPLE_RATE_HZ, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME_SAMPLES }
      this.output = new PacedAudioOutput({
        onFrame: (samples) => { data.samples = samples; source.onData(data) },
        onError: (err) => { options.log.error({ err }, 'the server track failed: the session sends no more audio') }
      })
    } catch (cause) {
      pc.close()
      throw new LLMRTC_ERR_CONNECTION_FAILED('could not create the server track', { cause })
    }
    this.#inbound = new InboundAudio(wrtc, options.log)

    pc.onconnectionstatechange = () => { this.#onConnectionState() }
    pc.ondatachannel = ({ channel }) => { this.#onDataChannel(channel) }
    pc.ontrack = ({ track }) => { if (track.kind === 'audio') this.#onTrack(track) }
    pc.onicecandidate = ({ candidate }) => { this.#onLocalCandidate(candidate) }
  }

  get closed (): boolean { return this.#closed }
  /** Whether the client's microphone track arrived. */
  get hasMedia (): boolean { return this.#hasMedia }
  /** Inbound frame counts (delivered, skipped for format). */
  get inboundStats (): { delivered: number, skipped: number } { return this.#inbound.stats }

  onAudio (listener: Parameters<SessionMedia['onAudio']>[0]): () => void {
    return this.#inbound.onAudio(listener)
  }

  /**
   * Answers an offer (first or renegotiation) as soon as the SDP carries the candidates a client can
   * use at once (waitForAnswerCandidates), or gathering completed, or after `gatherTimeoutMs`; later
   * candidates are trickled. Resolves undefined when the peer closed meanwhile.
   */
  async answer (offerSdp: string): Promise<string | undefined> {
    try {
      await this.#pc.setRemoteDescription({ type: 'offer', sdp: this.#options.opusDtx ? withOpusDtx(offerSdp) : offerSdp })
    } catch (cause) {
      if (this.#closed) return undefined
      throw new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE('offer', 'the SDP offer could not be applied', { cause })
    }
    if (this.#closed) return undefined
    try {
      await this.#pc.setLocalDescription(await this.#pc.createAnswer())
    } catch (cause) {
      if (this.#closed) return undefined
      throw new LLMRTC_ERR_CONNECTION_FAILED('could not create an answer', { cause })
    }
    const outcome = await waitForAnswerCandidates(this.#pc, this.#needed, this.#options.gatherTimeoutMs, this.#options.clock)
    if (this.#closed) return undefined
    const sdp = this.#pc.localDescription?.sdp
    if (outcome !== 'complete' && sdp !== undefined) {
      this.#answered = new Set(sdpCandidates(sdp).keys())
      this.#trickle = true
      this.#options.log.debug({ outcome, timeoutMs: this.#options.gatherTimeoutMs }, 'answering before ICE gathering completed: later candidates are trickled')
    }
    return sdp
  }

  /** Adds a trickled remote candidate (null: end of candidates). */
  async addCandidate (candidate: WrtcIceCandidateInit | null): Promise<void> {
    if (this.#closed) return
    try {
      await this.#pc.addIceCandidate(candidate ?? undefined)
    } catch (cause) {
      if (this.#closed) return
      throw new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE('ice', 'the candidate could not be added', { cause })
    }
  }

  /** Closes everything the peer holds: output clock, sink, track, channel, peer. Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#clearGrace()
    this.output.close()
    this.#inbound.close()
    if (this.#channel !== undefined) {
      this.#channel.onopen = this.#channel.onclose = this.#channel.onmessage = null
      this.#options.onChannel(undefined)
      this.#channel = undefined
    }
    this.#track.stop()
    this.#pc.close()
  }

  /** Trickles a candidate found after the answer went out; `null` closes them when any was trickled. */
  #onLocalCandidate (candidate: WrtcIceCandidateInit | null): void {
    if (!this.#trickle || this.#closed) return
    if (candidate === null) {
      this.#trickle = false
      if (this.#trickled > 0) this.#options.onCandidate(null)
      return
    }
    const key = candidateKey(candidate.candidate ?? '')
    if (key !== undefined && this.#answered.has(key)) return
    this.#trickled++
    this.#options.onCandidate(toCandidateInit(candidate))
  }

  #onConnectionState (): void {
    if (this.#closed) return
    const state = this.#pc.connectionState
    this.#options.log.debug({ state }, 'peer connection state')
    if (state === 'connected') {
      if (!this.#channelLost) this.#clearGrace()
      this.output.start()
    } else if (state === 'disconnected') {
      this.#startGrace()
    } else if (state === 'failed' || state === 'closed') {
      this.#options.onFailed(`peer connection ${state}`)
    }
  }

  /**
   * Gives a peer that looks gone `disconnectedGraceMs` to recover. Two signs: ICE `disconnected`, and
   * the client's `data` channel closing under us. The latter is how a closed remote peer shows at once
   * (measured: the channel closes within ~1 ms, while libwebrtc takes ~18 s to report `failed`).
   */
  #startGrace (): void {
    if (this.#graceTimer !== undefined) return
    const graceMs = this.#options.disconnectedGraceMs
    this.#graceTimer = this.#options.clock.setTimeout(() => {
      this.#graceTimer = undefined
      if (this.#closed) return
      if (this.#pc.connectionState === 'disconnected') this.#options.onFailed(`disconnected for ${graceMs} ms`)
      else if (this.#channelLost) this.#options.onFailed(`the data channel closed and no new one opened within ${graceMs} ms`)
    }, graceMs)
  }

  #onDataChannel (channel: WrtcDataChannel): void {
    if (channel.label !== DATA_CHANNEL_LABEL) {
      this.#options.log.debug({ label: channel.label.slice(0, 64) }, 'ignoring a data channel with another label')
      return
    }
    const attach = (): void => {
      if (this.#closed) return
      this.#channelLost = false
      this.#channel = channel
      this.#options.onChannel(channel)
    }
    channel.onmessage = ({ data }) => { if (!this.#closed) this.#options.onChannelMessage(data) }
    channel.onclose = () => {
      if (this.#channel !== channel || this.#closed) return
      this.#channel = undefined
      this.#options.onChannel(undefined)
      this.#channelLost = true
      this.#startGrace()
    }
    if (channel.readyState === 'open') attach()
    else channel.onopen = attach
  }

  #onTrack (track: WrtcMediaStreamTrack): void {
    if (this.#closed) return
    this.#inbound.attach(track)
    if (this.#hasMedia) return
    this.#hasMedia = true
    this.#options.onMedia()
  }

  #clearGrace (): void {
    if (this.#graceTimer !== undefined) this.#options.clock.clearTimeout(this.#graceTimer)
    this.#graceTimer = undefined
  }
}

function toCandidateInit (candidate: WrtcIceCandidateInit): WrtcIceCandidateInit {
  const init: WrtcIceCandidateInit = { candidate: candidate.candidate ?? '', sdpMid: candidate.sdpMid ?? null, sdpMLineIndex: candidate.sdpMLineIndex ?? null }
  if (candidate.usernameFragment != null) init.usernameFragment = candidate.usernameFragment
  return init
}
