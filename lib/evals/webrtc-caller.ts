import WebSocket from 'ws'
import type { Clock } from '../clock.js'
import { LLMRTC_ERR_TESTING_TIMEOUT } from '../errors.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import { PacedAudioOutput } from '../transport/paced-audio-output.js'
import { isLoopbackCandidate, keepLoopbackCandidates } from './loopback-candidates.js'
import type { Wrtc, WrtcAudioData, WrtcAudioSink, WrtcDataChannel, WrtcMediaStreamTrack, WrtcPeerConnection } from '../../plugins/webrtc/wrtc.js'

export interface WebRTCCallerOptions {
  wrtc: Wrtc
  clock: Clock
  /** Longest wait for each step of the connection, in ms (default 10 000). */
  timeoutMs?: number
}

/** What the caller received from the server's track while recording: 48 kHz frames and when each came. */
export interface Recording {
  frames: Int16Array[]
  /** `clock.now()` at each frame's arrival. */
  at: number[]
}

/**
 * A caller over the full WebRTC path, as the published browser client connects (docs/protocol.md):
 * WebSocket, `ready`, a peer with the "data" channel receiving the server's track, then a microphone
 * track by renegotiation, streaming silence between the lines it speaks. Only 127.0.0.1 candidates are
 * kept, both ways: an eval calls a server on this machine. The @roamhq/wrtc process must end with an
 * explicit `process.exit()` (see plugins/webrtc/wrtc.ts).
 */
export class WebRTCCaller {
  /** Every message of the WebSocket, in order. */
  readonly messages: ServerMessage[] = []
  readonly #ws: WebSocket
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #wrtc: Wrtc
  readonly #waiters = new Set<() => void>()
  readonly #closed: Promise<void>
  #pc: WrtcPeerConnection | undefined
  #channel: WrtcDataChannel | undefined
  #sink: WrtcAudioSink | undefined
  #mic: PacedAudioOutput | undefined
  #micTrack: WrtcMediaStreamTrack | undefined
  #recording: Recording | undefined
  #quietFrames = 0

  private constructor (ws: WebSocket, options: WebRTCCallerOptions) {
    this.#ws = ws
    this.#clock = options.clock
    this.#wrtc = options.wrtc
    this.#timeoutMs = options.timeoutMs ?? 10_000
    this.#closed = new Promise(resolve => { ws.once('close', () => { resolve() }) })
    ws.on('message', (data) => { this.#onMessage(String(data)) })
  }

  /** Connects: `ready`, the peer and its data channel open, then the microphone, streaming silence. */
  static async connect (url: string, options: WebRTCCallerOptions): Promise<WebRTCCaller> {
    const ws = new WebSocket(url)
    // Listening from the start: `ready` may come in the same read as the upgrade's answer.
    const caller = new WebRTCCaller(ws, options)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    try {
      await caller.waitFor(m => m.type === 'ready', 0, caller.#timeoutMs, 'ready')
      await caller.#startPeer()
      await caller.#addMicrophone()
    } catch (err) {
      await caller.close()
      throw err
    }
    return caller
  }

  /** Sends `pcm` (mono s16 at `sampleRateHz`) on the microphone in real time; resolves once it was sent. */
  async speak (pcm: Int16Array, sampleRateHz: number): Promise<void> {
    const mic = this.#mic as PacedAudioOutput
    mic.write(pcm, sampleRateHz)
    await mic.drain()
  }

  /** Starts keeping the server's audio; `stop()` returns what came. */
  record (): { stop: () => Recording } {
    const recording: Recording = { frames: [], at: [] }
    this.#recording = recording
    return { stop: () => { if (this.#recording === recording) this.#recording = undefined; return recording } }
  }

  /** The first message at index `from` or later matching `match`, received or to come. */
  async waitFor (match: (m: ServerMessage) => boolean, from: number, timeoutMs: number, what: string): Promise<ServerMessage> {
    return await this.#until(() => this.messages.slice(from).find(match), timeoutMs, () => `${what}; received ${this.messages.slice(from).map(m => m.type).join(', ') || 'nothing'}`)
  }

  /** Resolves once `quietMs` of frames quieter than `loudPeak` came in a row, counted from now. */
  async waitForQuiet (quietMs: number, loudPeak: number, timeoutMs: number): Promise<void> {
    this.#quietFrames = 0
    this.#loudPeak = loudPeak
    await this.#until(() => this.#quietFrames * 10 >= quietMs ? true : undefined, timeoutMs, () => `${quietMs} ms of silence on the server's track`)
  }

  /** Closes the microphone, the peer and the WebSocket. Idempotent. */
  async close (): Promise<void> {
    this.#mic?.close()
    this.#micTrack?.stop()
    if (this.#sink !== undefined) {
      this.#sink.ondata = null
      this.#sink.stop()
    }
    this.#pc?.close()
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close()
    if (this.#ws.readyState !== WebSocket.CLOSED) await this.#closed
  }

  #loudPeak = 1000

  async #startPeer (): Promise<void> {
    const pc = new this.#wrtc.RTCPeerConnection({ iceServers: [] })
    this.#pc = pc
    const channel = pc.createDataChannel('data', { ordered: true })
    this.#channel = channel
    pc.addTransceiver('audio', { direction: 'recvonly' })
    pc.ontrack = ({ track }) => {
      if (track.kind !== 'audio') return
      this.#sink?.stop()
      this.#sink = new this.#wrtc.nonstandard.RTCAudioSink(track)
      this.#sink.ondata = (data) => { this.#onAudio(data) }
    }
    let open = false
    channel.onopen = () => { open = true; this.#wake() }
    await this.#negotiate()
    await this.#until(() => open ? true : undefined, this.#timeoutMs, () => 'the data channel to open')
    // The server attaches its end when it sees the channel open, which may come after ours: a ping on the
    // channel answered on the WebSocket proves it did.
    const from = this.messages.length
    const timestamp = this.#clock.now()
    channel.send(JSON.stringify({ type: 'ping', timestamp }))
    await this.waitFor(m => m.type === 'pong' && m.timestamp === timestamp, from, this.#timeoutMs, 'pong')
  }

  async #addMicrophone (): Promise<void> {
    const source = new this.#wrtc.nonstandard.RTCAudioSource()
    this.#micTrack = source.createTrack()
    this.#pc?.addTrack(this.#micTrack)
    const data: WrtcAudioData = { samples: new Int16Array(480), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 }
    // A microphone streams all the time, as a browser's does.
    this.#mic = new PacedAudioOutput({ idleAfterMs: Infinity, onFrame: (samples) => { data.samples = samples; source.onData(data) } })
    await this.#negotiate()
    this.#mic.start()
  }

  async #negotiate (): Promise<void> {
    const pc = this.#pc as WrtcPeerConnection
    await pc.setLocalDescription(await pc.createOffer())
    // The published client sends what it has after 3 s of gathering.
    for (let waited = 0; pc.iceGatheringState !== 'complete' && waited < 3000; waited += 5) {
      await new Promise<void>(resolve => { this.#clock.setTimeout(resolve, 5) })
    }
    const offer = pc.localDescription
    if (offer === null) throw new LLMRTC_ERR_TESTING_TIMEOUT(3000, 'a local description')
    const from = this.messages.length
    this.#ws.send(JSON.stringify({ type: 'offer', signal: { type: 'offer', sdp: keepLoopbackCandidates(offer.sdp) } }))
    const answer = await this.waitFor(m => m.type === 'signal' || m.type === 'error', from, this.#timeoutMs, 'the answer to the offer')
    if (answer.type !== 'signal') throw new LLMRTC_ERR_TESTING_TIMEOUT(this.#timeoutMs, `an answer to the offer, instead got ${JSON.stringify(answer)}`)
    await pc.setRemoteDescription({ type: 'answer', sdp: keepLoopbackCandidates(answer.signal.sdp) })
  }

  #onMessage (text: string): void {
    let message: ServerMessage
    try {
      message = JSON.parse(text) as ServerMessage
    } catch {
      return
    }
    this.messages.push(message)
    if (message.type === 'ice' && this.#pc !== undefined) {
      const candidate = message.candidate
      if (candidate === null || isLoopbackCandidate(candidate.candidate ?? '')) this.#pc.addIceCandidate(candidate ?? undefined).catch(() => {})
    }
    this.#wake()
  }

  #onAudio (data: WrtcAudioData): void {
    // The first frames may come at another rate (a placeholder): only 48 kHz is the answer's audio.
    if (data.sampleRate !== 48_000) return
    let peak = 0
    for (const sample of data.samples) peak = Math.max(peak, Math.abs(sample))
    this.#quietFrames = peak < this.#loudPeak ? this.#quietFrames + 1 : 0
    if (this.#recording !== undefined) {
      this.#recording.frames.push(data.samples.slice())
      this.#recording.at.push(this.#clock.now())
    }
    this.#wake()
  }

  #wake (): void {
    for (const waiter of [...this.#waiters]) waiter()
  }

  /** Resolves with `check()`'s first defined value, checked now and at every message or frame. */
  async #until<T> (check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      const waiter = (): void => {
        const value = check()
        if (value === undefined) return
        this.#waiters.delete(waiter)
        this.#clock.clearTimeout(timer)
        resolve(value)
      }
      const timer = this.#clock.setTimeout(() => {
        this.#waiters.delete(waiter)
        reject(new LLMRTC_ERR_TESTING_TIMEOUT(timeoutMs, what()))
      }, timeoutMs)
      this.#waiters.add(waiter)
      waiter()
    })
  }
}
