import { createRequire } from 'node:module'
import type { IceServer } from '../../lib/protocol/server-messages.js'

/*
 * The slice of @roamhq/wrtc llmrtc uses, typed structurally: the package's own types re-export the DOM
 * lib's WebRTC types, which a Node project (lib ES2023, no DOM) does not have.
 */

export interface WrtcSessionDescription { type: 'offer' | 'answer' | 'pranswer' | 'rollback', sdp: string }

export interface WrtcIceCandidateInit {
  candidate?: string
  sdpMid?: string | null
  sdpMLineIndex?: number | null
  usernameFragment?: string | null
}

export interface WrtcMediaStreamTrack {
  readonly id: string
  readonly kind: string
  stop: () => void
}

export interface WrtcDataChannel {
  readonly label: string
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed'
  onopen: (() => void) | null
  onclose: (() => void) | null
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null
  send: (data: string) => void
  close: () => void
}

export type WrtcConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed'

export interface WrtcPeerConnection {
  readonly connectionState: WrtcConnectionState
  readonly iceGatheringState: 'new' | 'gathering' | 'complete'
  readonly signalingState: string
  readonly localDescription: WrtcSessionDescription | null
  onconnectionstatechange: (() => void) | null
  onicegatheringstatechange: (() => void) | null
  onicecandidate: ((event: { candidate: WrtcIceCandidateInit | null }) => void) | null
  ondatachannel: ((event: { channel: WrtcDataChannel }) => void) | null
  ontrack: ((event: { track: WrtcMediaStreamTrack }) => void) | null
  addEventListener: (type: 'icecandidate' | 'icegatheringstatechange' | 'connectionstatechange', listener: () => void) => void
  removeEventListener: (type: 'icecandidate' | 'icegatheringstatechange' | 'connectionstatechange', listener: () => void) => void
  createOffer: () => Promise<WrtcSessionDescription>
  createAnswer: () => Promise<WrtcSessionDescription>
  setLocalDescription: (description: WrtcSessionDescription) => Promise<void>
  setRemoteDescription: (description: WrtcSessionDescription) => Promise<void>
  addIceCandidate: (candidate?: WrtcIceCandidateInit) => Promise<void>
  addTrack: (track: WrtcMediaStreamTrack, ...streams: unknown[]) => unknown
  addTransceiver: (kind: 'audio' | 'video', init?: { direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive' }) => unknown
  createDataChannel: (label: string, init?: { ordered?: boolean }) => WrtcDataChannel
  close: () => void
}

/** What `RTCAudioSource.onData` takes and `RTCAudioSink.ondata` delivers. */
export interface WrtcAudioData {
  samples: Int16Array
  sampleRate: number
  bitsPerSample?: number
  channelCount?: number
  numberOfFrames?: number
}

export interface WrtcAudioSource {
  createTrack: () => WrtcMediaStreamTrack
  onData: (data: WrtcAudioData) => void
}

export interface WrtcAudioSink {
  ondata: ((data: WrtcAudioData) => void) | null
  stop: () => void
}

/** The @roamhq/wrtc module (or a stand-in with the same shape). */
export interface Wrtc {
  RTCPeerConnection: new (configuration?: { iceServers?: IceServer[] }) => WrtcPeerConnection
  nonstandard: {
    RTCAudioSource: new () => WrtcAudioSource
    RTCAudioSink: new (track: WrtcMediaStreamTrack) => WrtcAudioSink
  }
}

/**
 * Loads @roamhq/wrtc (a CommonJS native addon). Throws when the package or its prebuilt binary for
 * this platform is missing.
 *
 * Known bug of @roamhq/wrtc 0.10: once an RTCAudioSource existed, the process segfaults at its
 * natural exit. Processes that use it must end with an explicit `process.exit()`.
 */
export function loadWrtc (): Wrtc {
  const require = createRequire(import.meta.url)
  return require('@roamhq/wrtc') as Wrtc
}
