import type { EventEmitter } from 'node:events'
import type { AudioFrame } from '../audio/audio-frame.js'

/**
 * Where a turn's speech goes: a paced, real-time playout queue (the WebRTC track). Writing never blocks
 * the producer; `clear()` (barge-in) drops everything queued at once.
 */
export interface AudioOutput {
  /** Queues PCM s16le mono at `sampleRateHz` (resampled to the track's rate). `mark` is reported by `played` once this chunk has fully played out. */
  write: (pcm: Int16Array, sampleRateHz: number, mark?: string) => void
  /** Resolves when all audio queued so far has played out (or was cleared). */
  drain: () => Promise<void>
  /** Drops queued audio now; returns the milliseconds of audio that were dropped unplayed. */
  clear: () => number
  /** True while queued audio remains to be played. */
  readonly playing: boolean
  /** Milliseconds of audio played out since creation. */
  readonly playedMs: number
  /** Called with each `mark` when its chunk finished playing out. */
  onPlayed: (listener: (mark: string) => void) => () => void
}

/** One session's media on the transport. */
export interface SessionMedia {
  /** Subscribes to inbound microphone frames (10 ms). Returns an unsubscribe function. */
  onAudio: (listener: (frame: AudioFrame) => void) => () => void
  readonly output: AudioOutput
}

export interface MediaTransportEvents {
  /** The client's microphone track arrived for this session. */
  media: [sessionId: string, media: SessionMedia]
  /** The session's peer closed (disconnect, failure, server close). */
  closed: [sessionId: string]
}

/** What the WebRTC plugin decorates as `fastify.llmrtcTransport`. */
export interface MediaTransport extends EventEmitter<MediaTransportEvents> {
  /** The session's media, once its peer has a microphone track. */
  media: (sessionId: string) => SessionMedia | undefined
  /** Whether WebRTC loaded (false: offers get WEBRTC_UNAVAILABLE). */
  readonly available: boolean
}
