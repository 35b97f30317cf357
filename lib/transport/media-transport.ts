import type { EventEmitter } from 'node:events'
import type { AudioFrame } from '../audio/audio-frame.js'
import type { BackgroundMixer } from '../audio/background-mixer.js'

/**
 * Where a turn's speech goes: a paced, real-time playout queue (the WebRTC track). Writing never blocks
 * the producer; `clear()` (barge-in) drops everything queued at once. `pause()` (the user may be
 * interrupting) silences the output but keeps the queue, so `resume()` (it was a cough) plays on from
 * exactly where it stopped.
 */
export interface AudioOutput {
  /** Queues PCM s16le mono at `sampleRateHz` (resampled to the track's rate). `mark` is reported by `played` once this chunk has fully played out. */
  write: (pcm: Int16Array, sampleRateHz: number, mark?: string) => void
  /** Resolves when all audio queued so far has played out (or was cleared). */
  drain: () => Promise<void>
  /**
   * Drops queued audio now; returns the milliseconds of audio that were dropped unplayed. Also ends a
   * pause: the next turn's audio plays as soon as it is written.
   */
  clear: () => number
  /**
   * Stops taking audio from the queue: the next frame fades the current audio out over ≤ 10-20 ms, then
   * silence; queued audio and later writes are kept. While paused, `playedMs` does not advance, `playing`
   * stays true while audio is queued and `drain()` does not resolve until that audio has played (after
   * `resume()`) or was dropped (`clear()`). Idempotent.
   */
  pause: () => void
  /** Plays on from exactly where `pause()` stopped, fading in over the first frame. Idempotent. */
  resume: () => void
  /** True between `pause()` and `resume()`/`clear()`. */
  readonly paused: boolean
  /** True while queued audio remains to be played (paused or not). */
  readonly playing: boolean
  /** Milliseconds of audio played out since creation (silence while paused is not counted). */
  readonly playedMs: number
  /** Called with each `mark` when its chunk finished playing out. */
  onPlayed: (listener: (mark: string) => void) => () => void
  /**
   * Audio may come soon (the user is speaking): an output that stopped its frames while idle starts
   * them again, so it is running when the answer comes. Optional; cheap enough for every speech event.
   */
  wake?: () => void
  /**
   * Taps the outgoing audio: `listener` is called with each frame exactly as it is sent to the caller
   * (after any mixing, at `sampleRateHz`), in order; frames that are not sent (an idle or silent output
   * that sends nothing) are not reported. The listener gets the output's own buffer, overwritten for the
   * next frame: copy it to keep it, and never write to it. Returns an unsubscribe function. Optional; an
   * output with no listener pays nothing for it.
   */
  onFrame?: (listener: FrameListener) => () => void
  /**
   * Mixes a session's background sounds (thinking, ambient) into the outgoing frames, under the speech
   * (undefined: none). They never count as the answer's audio (`playedMs`, marks, `drain()`, `playing`),
   * `clear()` stops the thinking sound at once, and a paused output silences it. Optional: an output
   * that cannot mix (the WebSocket fallback, whose client plays each chunk) has none.
   */
  setBackground?: (mixer: BackgroundMixer | undefined) => void
}

/** Receives one outgoing frame (see `AudioOutput.onFrame`): PCM s16le mono at `sampleRateHz`, a reused buffer. */
export type FrameListener = (pcm: Int16Array, sampleRateHz: number) => void

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
