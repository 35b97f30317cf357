import { spawnSync } from 'node:child_process'
import t from 'tap'
import WebSocket from 'ws'
import type { ClientMessage } from '../../lib/protocol/client-messages.js'
import type { ReadyMessage, ServerMessage } from '../../lib/protocol/server-messages.js'
import { isLoopbackCandidate, keepLoopbackCandidates } from '../../lib/evals/loopback-candidates.js'
import { PacedAudioOutput } from '../../lib/transport/paced-audio-output.js'
import { loadWrtc, type Wrtc, type WrtcAudioData, type WrtcAudioSink, type WrtcDataChannel, type WrtcMediaStreamTrack, type WrtcPeerConnection } from '../../plugins/webrtc/wrtc.js'

/*
 * A real WebRTC client for end-to-end tests, speaking the protocol as the published browser client
 * does (docs/protocol.md): WebSocket → `ready` → peer with a "data" channel → `offer` with complete SDP →
 * `signal` → channel opens → later the microphone, by renegotiation.
 *
 * @roamhq/wrtc segfaults at natural process exit once an audio source existed: importing this module
 * installs a `beforeExit` handler that exits explicitly with the current exit code.
 */
process.once('beforeExit', () => { process.exit(process.exitCode ?? 0) })

// A client a test forgot to close (or that failed mid-connect) would keep wrtc's threads, and the
// process, alive until tap's timeout: whatever is still open is closed when the file's tests end.
const openClients = new Set<WebRTCTestClient>()
t.teardown(async () => { await Promise.all([...openClients].map(async client => { await client.close() })) })

const NAMESPACE_ENV = 'LLMRTC_TEST_LOOPBACK_NETNS'

/**
 * Call first thing in a test file that makes peers. Where possible (Linux, root, util-linux `unshare`
 * and iproute2 `ip`), re-runs the file inside a private network namespace whose only interface is lo,
 * and exits with its status: then libwebrtc sees no other interface, so no packet can go anywhere but
 * 127.0.0.1. Candidate filtering alone is not enough: the server gathers on every interface, and its
 * checks from those sockets make the client learn (and use) peer-reflexive candidates on this host's
 * other addresses. Elsewhere the file runs as is, with the filtering as the fallback.
 * Returns whether the file runs isolated.
 */
export function isolateNetwork (): boolean {
  if (process.env[NAMESPACE_ENV] === '1') return true
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  if (spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up']).status !== 0) return false
  const result = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    // The copy is this test: it is measured like it (test/setup/child-coverage.mjs).
    env: { ...process.env, [NAMESPACE_ENV]: '1', ...(process.env.TEST_COVERAGE_OF_SELF === String(process.pid) && { _TAPJS_PROCESSINFO_COVERAGE_: '1' }) }
  })
  process.exit(result.status ?? 1)
}

export interface WebRTCTestClientOptions {
  /** Keep only 127.0.0.1 candidates in every SDP and trickled candidate, both ways (default true). */
  loopbackOnly?: boolean
  /** Offer to receive audio in the first offer, so the server's track flows at once (default true). */
  receiveAudio?: boolean
  /** Longest wait for each awaited step, in ms (default 5000). */
  timeoutMs?: number
  /**
   * After the data channel opens, prove the server attached its end with a `ping` on it (default true).
   * Off for a server that reads nothing on the channel (bench/concurrency.ts --original).
   */
  pingOnChannel?: boolean
  wrtc?: Wrtc
}

type Source = 'ws' | 'channel'

export class WebRTCTestClient {
  readonly ws: WebSocket
  readonly ready: ReadyMessage
  /** Every message received on the WebSocket, in order. */
  readonly wsMessages: ServerMessage[] = []
  /** Every message received on the data channel, in order. */
  readonly channelMessages: ServerMessage[] = []
  /** The server's audio track, as the client's RTCAudioSink delivers it. */
  readonly audio = new AudioCapture()
  readonly #options: Required<Omit<WebRTCTestClientOptions, 'wrtc'>>
  readonly #wrtc: Wrtc
  readonly #waiters = new Set<() => boolean>()
  #micGaps = 0
  #speeches = 0
  #pc: WrtcPeerConnection | undefined
  #channel: WrtcDataChannel | undefined
  #mic: PacedAudioOutput | undefined
  #micTrack: WrtcMediaStreamTrack | undefined
  #sink: WrtcAudioSink | undefined
  readonly #closed: Promise<{ code: number, reason: string }>

  private constructor (ws: WebSocket, ready: ReadyMessage, options: WebRTCTestClientOptions, closed: Promise<{ code: number, reason: string }>) {
    this.ws = ws
    this.ready = ready
    this.#closed = closed
    this.#wrtc = options.wrtc ?? loadWrtc()
    this.#options = { loopbackOnly: options.loopbackOnly ?? true, receiveAudio: options.receiveAudio ?? true, timeoutMs: options.timeoutMs ?? 5000, pingOnChannel: options.pingOnChannel ?? true }
    ws.on('message', (data) => { this.#onMessage('ws', data.toString()) })
    openClients.add(this)
  }

  /** Opens the WebSocket and waits for `ready` (no WebRTC yet: see `startWebRTC`). */
  static async open (url: string, options: WebRTCTestClientOptions = {}): Promise<WebRTCTestClient> {
    const ws = new WebSocket(url)
    const closed = new Promise<{ code: number, reason: string }>(resolve => {
      ws.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }) })
    })
    const ready = await withTimeout(new Promise<ReadyMessage>((resolve, reject) => {
      ws.once('error', reject)
      ws.once('close', (code) => { reject(new Error(`the socket closed (${code}) before ready`)) })
      ws.once('message', (data) => { resolve(JSON.parse(data.toString()) as ReadyMessage) })
    }), options.timeoutMs ?? 5000, 'ready')
    const client = new WebRTCTestClient(ws, ready, options, closed)
    client.wsMessages.push(ready)
    return client
  }

  /** `open`, then `startWebRTC`: connected, with the data channel open. */
  static async connect (url: string, options: WebRTCTestClientOptions = {}): Promise<WebRTCTestClient> {
    const client = await WebRTCTestClient.open(url, options)
    try {
      await client.startWebRTC()
    } catch (err) {
      await client.close()
      throw err
    }
    return client
  }

  get sessionId (): string { return this.ready.id }
  get peer (): WrtcPeerConnection | undefined { return this.#pc }
  get channel (): WrtcDataChannel | undefined { return this.#channel }
  /** Resolves with the WebSocket's close code and reason. */
  get closed (): Promise<{ code: number, reason: string }> { return this.#closed }

  /**
   * Creates the peer and the "data" channel, negotiates, and waits until the channel is open at both
   * ends (a `ping` on the channel answered by `pong` on the WebSocket, which `wsMessages` then holds).
   */
  async startWebRTC (): Promise<void> {
    const pc = new this.#wrtc.RTCPeerConnection({ iceServers: [] })
    this.#pc = pc
    const channel = pc.createDataChannel('data', { ordered: true })
    this.#channel = channel
    channel.onmessage = ({ data }) => { this.#onMessage('channel', String(data)) }
    if (this.#options.receiveAudio) pc.addTransceiver('audio', { direction: 'recvonly' })
    pc.ontrack = ({ track }) => {
      if (track.kind !== 'audio') return
      this.#sink?.stop()
      this.#sink = new this.#wrtc.nonstandard.RTCAudioSink(track)
      this.#sink.ondata = (data) => { this.audio.push(data) }
    }
    const open = new Promise<void>(resolve => { channel.onopen = resolve })
    await this.renegotiate()
    await withTimeout(open, this.#options.timeoutMs, 'data channel open')
    if (!this.#options.pingOnChannel) return
    // The server attaches its end when it sees the channel open, which may come after ours: a `ping`
    // sent on the channel and answered (`pong`, on the WebSocket) proves it did.
    const from = this.wsMessages.length
    const timestamp = Date.now()
    this.sendOnChannel({ type: 'ping', timestamp })
    await this.waitFor(m => m.type === 'pong' && m.timestamp === timestamp, { from })
  }

  /** Adds a microphone track (an RTCAudioSource sending silence until `speak`) and renegotiates. */
  async addMicrophone (): Promise<void> {
    const pc = this.#requirePeer()
    const source = new this.#wrtc.nonstandard.RTCAudioSource()
    this.#micTrack = source.createTrack()
    pc.addTrack(this.#micTrack)
    const data: WrtcAudioData = { samples: new Int16Array(480), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 }
    // A microphone streams all the time, as a browser's does (never asleep).
    this.#mic = new PacedAudioOutput({ idleAfterMs: Infinity, onFrame: (samples) => { data.samples = samples; source.onData(data) } })
    await this.renegotiate()
    this.#mic.start()
  }

  /**
   * Times the microphone fell more than 50 ms behind its real-time schedule while sending speech (this
   * process's event loop was blocked, e.g. on a loaded machine): each time, the server heard a gap in the
   * speech that the test did not put there. Trailing silence falling behind is no gap.
   */
  get micGaps (): number { return this.#micGaps }

  /** Sends PCM (mono s16) on the microphone in real time, 10 ms frames; resolves once all was sent. */
  async speak (pcm: Int16Array, sampleRateHz = 48_000): Promise<void> {
    const mic = this.#mic
    if (mic === undefined) throw new Error('addMicrophone() first')
    // A tick overdue from work just done (synthesizing the speech) restarts the schedule in silence first.
    await new Promise(resolve => setTimeout(resolve, 15))
    const restarts = mic.stats.restarts
    const speechEnd = lastSoundAt(pcm) + 1
    const mark = `speech-${++this.#speeches}`
    const stopWatching = mic.onPlayed((played) => {
      if (played === mark) this.#micGaps += mic.stats.restarts - restarts
    })
    if (speechEnd > 0) mic.write(pcm.subarray(0, speechEnd), sampleRateHz, mark)
    if (speechEnd < pcm.length) mic.write(pcm.subarray(speechEnd), sampleRateHz)
    await mic.drain()
    stopWatching()
  }

  /** Sends an offer with complete SDP on the WebSocket and applies the answer (`signal`). */
  async renegotiate (): Promise<void> {
    const pc = this.#requirePeer()
    await pc.setLocalDescription(await pc.createOffer())
    await withTimeout(gathered(pc), 3000, 'ICE gathering').catch(() => {}) // the published client sends what it has after 3 s
    const offer = pc.localDescription
    if (offer === null) throw new Error('no local description')
    const from = this.wsMessages.length
    this.send({ type: 'offer', signal: { type: 'offer', sdp: this.#filter(offer.sdp) } })
    const answer = await this.waitFor(m => m.type === 'signal' || m.type === 'error', { from })
    if (answer.type !== 'signal') throw new Error(`offer refused: ${JSON.stringify(answer)}`)
    await pc.setRemoteDescription({ type: 'answer', sdp: this.#filter(answer.signal.sdp) })
  }

  /** Sends a message on the WebSocket. */
  send (message: ClientMessage | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message))
  }

  /** Sends a message on the data channel. */
  sendOnChannel (message: ClientMessage | Record<string, unknown>): void {
    const channel = this.#channel
    if (channel?.readyState !== 'open') throw new Error('the data channel is not open')
    channel.send(JSON.stringify(message))
  }

  /**
   * Resolves with the first message matching `match` (a type or a predicate) received on `source`
   * (default 'ws') at index `from` or later (default 0: already received messages count). On 'ws', rejects
   * as soon as the socket closes without one: nothing more can come (the chaos bench's ICE restart sent to
   * a server killed at that moment waited out its whole timeout while the client had resumed elsewhere).
   */
  async waitFor<T extends ServerMessage['type']> (match: T | ((m: ServerMessage) => boolean), options: { source?: Source, from?: number, timeoutMs?: number } = {}): Promise<Extract<ServerMessage, { type: T }>> {
    const list = options.source === 'channel' ? this.channelMessages : this.wsMessages
    const test = typeof match === 'string' ? (m: ServerMessage) => m.type === match : match
    const what = `${typeof match === 'string' ? match : 'a matching message'} on ${options.source ?? 'ws'}`
    let check = (): boolean => false
    const result = await withTimeout(new Promise<ServerMessage>((resolve, reject) => {
      check = () => {
        const message = list.slice(options.from ?? 0).find(test)
        if (message !== undefined) resolve(message)
        return message !== undefined
      }
      if (check()) return
      this.#waiters.add(check)
      // 'close' comes after every message the socket delivered, so a last check sees them all.
      if (options.source !== 'channel') void this.#closed.then(({ code }) => { if (!check()) reject(new Error(`the socket closed (${code}) before ${what}`)) })
    }), options.timeoutMs ?? this.#options.timeoutMs, what)
      .finally(() => { this.#waiters.delete(check) })
    return result as Extract<ServerMessage, { type: T }>
  }

  /**
   * Forgets the messages received so far (a long-running client keeps its memory flat), unless a
   * `waitFor` is pending: its `from` is an index into these lists, and emptying them under it would hide
   * the message it waits for (the chaos bench saw an ICE-restart answer "never come" that way).
   */
  forgetMessages (): void {
    if (this.#waiters.size > 0) return
    this.wsMessages.length = 0
    this.channelMessages.length = 0
  }

  /** Closes the microphone, the sink, the peer and the WebSocket; resolves when the socket closed. */
  async close (): Promise<void> {
    openClients.delete(this)
    // Sinks and source tracks left running keep wrtc's threads, and the event loop, alive.
    this.#mic?.close()
    this.#micTrack?.stop()
    if (this.#sink !== undefined) {
      this.#sink.ondata = null
      this.#sink.stop()
    }
    this.#pc?.close()
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close()
    await this.#closed
  }

  #onMessage (source: Source, text: string): void {
    let message: ServerMessage
    try {
      message = JSON.parse(text) as ServerMessage
    } catch {
      return
    }
    ;(source === 'ws' ? this.wsMessages : this.channelMessages).push(message)
    if (source === 'ws' && message.type === 'ice' && this.#pc !== undefined) {
      const candidate = message.candidate
      if (candidate === null || !this.#options.loopbackOnly || isLoopbackCandidate(candidate.candidate ?? '')) {
        this.#pc.addIceCandidate(candidate ?? undefined).catch(() => {})
      }
    }
    for (const check of [...this.#waiters]) {
      if (check()) this.#waiters.delete(check)
    }
  }

  #filter (sdp: string): string {
    return this.#options.loopbackOnly ? keepLoopbackCandidates(sdp) : sdp
  }

  #requirePeer (): WrtcPeerConnection {
    if (this.#pc === undefined) throw new Error('startWebRTC() first')
    return this.#pc
  }
}

async function gathered (pc: WrtcPeerConnection): Promise<void> {
  while (pc.iceGatheringState !== 'complete') await new Promise(resolve => setTimeout(resolve, 5))
}

async function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms waiting for ${what}`)) }, ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export { isLoopbackCandidate, keepLoopbackCandidates }

/** The server's audio as the client's sink receives it: per-frame levels, and samples while recording. */
export class AudioCapture {
  /** 48 kHz frames received (other formats, like the first 16 kHz placeholder, are only counted in `skipped`). */
  frames = 0
  skipped = 0
  /** Peak |sample| of each 48 kHz frame, in order. */
  readonly peaks: number[] = []
  #recording: Int16Array[] | undefined
  readonly #waiters = new Set<(peak: number) => boolean>()

  push (data: WrtcAudioData): void {
    if (data.sampleRate !== 48_000) {
      this.skipped++
      return
    }
    let peak = 0
    for (const sample of data.samples) peak = Math.max(peak, Math.abs(sample))
    this.frames++
    this.peaks.push(peak)
    this.#recording?.push(data.samples.slice())
    for (const waiter of [...this.#waiters]) {
      if (waiter(peak)) this.#waiters.delete(waiter)
    }
  }

  /** Starts keeping the received samples; `stop()` returns them as one array. */
  record (): { stop: () => Int16Array } {
    const chunks: Int16Array[] = []
    this.#recording = chunks
    return {
      stop: () => {
        if (this.#recording === chunks) this.#recording = undefined
        const all = new Int16Array(chunks.reduce((n, c) => n + c.length, 0))
        let offset = 0
        for (const chunk of chunks) { all.set(chunk, offset); offset += chunk.length }
        return all
      }
    }
  }

  /** Resolves when a frame with a peak of at least `minPeak` arrives. */
  async waitForSound (minPeak = 1000, timeoutMs = 5000, fromFrame?: number): Promise<void> {
    // Sound already received since `fromFrame` counts: the answer may have reached the track before the
    // caller saw its tts-complete.
    if (fromFrame !== undefined && this.peaks.slice(fromFrame).some(peak => peak >= minPeak)) return
    let waiter = (_peak: number): boolean => false
    await withTimeout(new Promise<void>(resolve => {
      waiter = (peak) => { if (peak >= minPeak) resolve(); return peak >= minPeak }
      this.#waiters.add(waiter)
    }), timeoutMs, `sound above ${minPeak}`).finally(() => { this.#waiters.delete(waiter) })
  }
}

/** Index of the last sample above the noise floor (-1 for silence). */
function lastSoundAt (pcm: Int16Array): number {
  for (let i = pcm.length - 1; i >= 0; i--) if (Math.abs(pcm[i] as number) > 64) return i
  return -1
}
