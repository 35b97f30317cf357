/**
 * One caller of the chaos bench: a real WebRTC client (bench/webrtc-test-client.ts) whose microphone
 * speaks espeak-ng phrases in a loop of turns, waiting for each answer, and feeds everything it receives
 * to its TurnLedger. It performs the injections aimed at it when its state allows: a socket drop without
 * a close frame (then a reconnect to any live server within the grace), an ICE restart, a barge-in or a
 * cough over an answer, a message flood. A connection the server closes (1001: a drain) is resumed the
 * same way. `finish()` lets the last turn end and closes cleanly, so its history can be compared.
 */
import type { WrtcAudioData, WrtcAudioSource, WrtcMediaStreamTrack, WrtcPeerConnection, WrtcSessionDescription } from '../../plugins/webrtc/wrtc.js'
import { loadWrtc } from '../../plugins/webrtc/wrtc.js'
import { WebRTCTestClient } from '../webrtc-test-client.js'
import { TurnLedger } from './invariants.js'
import type { Random } from './schedule.js'
import type { Trail } from './trail.js'

// After bench/webrtc-test-client.js (evaluated first) stubbed `tap` for the test helper: a static import
// would load the real tap, whose timeout then ends the run.
const { keepLoopbackCandidates } = await import('../../test/helpers/webrtc-client.js')

export type ClientInjection = 'drop' | 'ice-restart' | 'barge-in' | 'cough' | 'flood'

const FRAME = 480
const LOUD_PEAK = 1000
const SIGNAL_TIMEOUT_MS = 20_000
/** After the last speech frame, how long a turn may take to open: the longest end-of-speech wait (1.6 s) and the VAD's lag. */
const FINISH_SETTLE_MS = 2500

export interface ChaosClientOptions {
  index: number
  phrases: Int16Array[]
  cough: Int16Array
  random: Random
  trail: Trail
  /** Live servers' WebSocket URLs (a drained one leaves the list). */
  servers: () => string[]
  /** Whether the bench killed the server at `url` (its connections end with 1006, expectedly). */
  killed: (url: string) => boolean
  turnDeadlineMs: number
  onViolation: (what: string) => void
  /** Counts a performed injection. */
  injected: (kind: ClientInjection) => void
}

export class ChaosClient {
  readonly index: number
  readonly ledger: TurnLedger
  sessionId = ''
  /** Utterances the server never turned into a turn (no speech-end within 12 s). */
  unheard = 0
  utterances = 0
  reconnects = 0
  /** Sessions that had said nothing yet when their server was killed, so had no record to resume. */
  unsavedAfterKill = 0
  readonly #o: ChaosClientOptions
  readonly #pending: ClientInjection[] = []
  readonly #frames: Int16Array[] = []
  readonly #data: WrtcAudioData = { samples: new Int16Array(FRAME), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME }
  #conn: WebRTCTestClient | undefined
  #url = ''
  #source: WrtcAudioSource | undefined
  #track: WrtcMediaStreamTrack | undefined
  #leaving = false
  #stopping = false
  #closingOwn = false
  #soundAt = 0
  #answerStartedAt = 0
  #quietUntil = 0
  #heartbeat: NodeJS.Timeout | undefined
  #ledgerTimer: NodeJS.Timeout | undefined
  #loop: Promise<void> = Promise.resolve()

  constructor (options: ChaosClientOptions) {
    this.#o = options
    this.index = options.index
    this.ledger = new TurnLedger({
      turnDeadlineMs: options.turnDeadlineMs,
      // What the server sends after tts-cancelled is checked exactly by the server (chaos-server.ts). Here,
      // at the listener, the audio already in the receiver's jitter buffer still plays: up to 1.5 s was seen
      // on a loaded machine (the buffer grows when packets come in bursts), so this only catches a
      // transport that keeps playing.
      loudFramesAfterCancel: 300,
      onViolation: (what) => { options.onViolation(`session ${this.index} (${this.sessionId}): ${what}`) }
    })
  }

  /** Injections waiting for their moment. */
  get pending (): number { return this.#pending.length }

  request (kind: ClientInjection): void { this.#pending.push(kind) }

  /** Connects as a new session and starts the loop of turns. */
  async start (): Promise<void> {
    const url = this.#pick()
    const conn = await WebRTCTestClient.open(url, { timeoutMs: SIGNAL_TIMEOUT_MS })
    this.sessionId = conn.ready.id
    this.#url = url
    await this.#attach(conn)
    await this.#media(conn)
    this.#o.trail.add(this.index, `connected as ${this.sessionId} on ${url}`)
    this.#heartbeat = setInterval(() => { this.#ping() }, 10_000)
    this.#ledgerTimer = setInterval(() => { this.ledger.tick() }, 500)
    this.#loop = this.#run()
  }

  /** The next microphone frame: queued speech, else silence (nothing while disconnected). */
  tick (): void {
    const source = this.#source
    const frame = this.#frames.shift()
    if (source === undefined) return
    if (frame === undefined) this.#data.samples.fill(0)
    else this.#data.samples.set(frame)
    source.onData(this.#data)
  }

  /**
   * Stops speaking, lets the open turn end, and closes cleanly. Speech still queued (the rest of a phrase
   * whose first words already ended a turn, say) is said first and its turn waited for: leaving in the
   * middle of it would make the ending uncertain. Whatever is still under way at the close is a hang-up.
   */
  async finish (): Promise<void> {
    this.#stopping = true
    await this.#loop
    await this.#until(() => this.#frames.length === 0, 10_000)
    await this.#until(() => this.ledger.open !== undefined, FINISH_SETTLE_MS)
    await this.#until(() => this.ledger.open === undefined, this.#o.turnDeadlineMs)
    this.#leaving = true
    clearInterval(this.#heartbeat)
    clearInterval(this.#ledgerTimer)
    await this.#detach()
    this.ledger.dropped()
  }

  /** Closes at once (a failed run). */
  async abort (): Promise<void> {
    this.#stopping = true
    this.#leaving = true
    clearInterval(this.#heartbeat)
    clearInterval(this.#ledgerTimer)
    await this.#detach().catch(() => {})
  }

  async #run (): Promise<void> {
    let phrase = this.#o.random.int(this.#o.phrases.length)
    while (!this.#stopping) {
      try {
        // Not while a resume after the server's close is under way: the microphone is gone meanwhile.
        await this.#until(() => this.#source !== undefined || this.#stopping, 60_000)
        await this.#between()
        if (this.#stopping) break
        await this.#turn(phrase)
        phrase = (phrase + 1) % this.#o.phrases.length
        await this.#sleep(300 + this.#o.random.int(1200))
      } catch (err) {
        if (this.#stopping) break
        this.#o.onViolation(`session ${this.index} (${this.sessionId}): ${(err as Error).message}`)
        break
      }
    }
  }

  /** Injections done between turns: drop, ICE restart, flood. */
  async #between (): Promise<void> {
    for (;;) {
      const i = this.#pending.findIndex(k => k === 'drop' || k === 'ice-restart' || k === 'flood')
      if (i < 0 || this.#stopping) return
      const kind = this.#pending.splice(i, 1)[0] as ClientInjection
      // A flood's rate limit drops signaling for a few seconds: no offer or reconnect meanwhile.
      await this.#until(() => performance.now() > this.#quietUntil, 10_000)
      if (kind === 'drop') await this.#drop()
      else if (kind === 'ice-restart') await this.#iceRestart()
      else this.#flood()
      this.#o.injected(kind)
    }
  }

  /** Speaks a phrase and waits until the turn it opens (and any barge-in turn) has ended. */
  async #turn (phrase: number): Promise<void> {
    const before = this.ledger.turns.length
    this.#say(this.#o.phrases[phrase] as Int16Array)
    this.utterances++
    const spokenAt = performance.now()
    // The speech is ~1.5-2.5 s: a turn should open within 12 s, or the utterance went unheard.
    const opened = await this.#until(() => this.ledger.open !== undefined || this.ledger.turns.length > before, 12_000 + (performance.now() - spokenAt))
    if (!opened) {
      this.unheard++
      this.#o.trail.add(this.index, 'an utterance opened no turn')
      return
    }
    this.#answerStartedAt = 0
    let bargedIn = false
    const deadline = performance.now() + this.#o.turnDeadlineMs * 2
    while (this.ledger.open !== undefined && performance.now() < deadline && !this.#stopping) {
      const soundNow = performance.now() - this.#soundAt < 200
      if (soundNow && this.#answerStartedAt === 0) this.#answerStartedAt = performance.now()
      const playingFor = this.#answerStartedAt === 0 ? 0 : performance.now() - this.#answerStartedAt
      if (soundNow && playingFor > 300 && this.#frames.length === 0) {
        const i = this.#pending.findIndex(k => k === 'barge-in' || k === 'cough')
        if (i >= 0 && !bargedIn) {
          const kind = this.#pending.splice(i, 1)[0] as ClientInjection
          this.#o.trail.add(this.index, `${kind} over the answer`)
          if (kind === 'barge-in') {
            bargedIn = true
            this.#say(this.#o.phrases[(phrase + 2) % this.#o.phrases.length] as Int16Array)
            this.utterances++
          } else {
            this.#say(this.#o.cough)
          }
          this.#o.injected(kind)
        }
      }
      await this.#sleep(40)
    }
    // A barge-in opens a turn of its own: wait for it too.
    if (bargedIn) {
      await this.#until(() => this.#frames.length === 0, 10_000)
      await this.#until(() => this.ledger.open !== undefined, 8000)
      await this.#until(() => this.ledger.open === undefined, this.#o.turnDeadlineMs * 2)
    }
  }

  #say (pcm: Int16Array): void {
    for (let i = 0; i + FRAME <= pcm.length; i += FRAME) this.#frames.push(pcm.subarray(i, i + FRAME))
  }

  async #attach (conn: WebRTCTestClient): Promise<void> {
    this.#conn = conn
    conn.ws.on('message', (data) => {
      let message: { type: string, [key: string]: unknown }
      try { message = JSON.parse(data.toString()) } catch { return }
      if (message.type === 'ready' || message.type === 'pong' || message.type === 'signal' || message.type === 'ice' || message.type === 'metrics' || message.type === 'llm-chunk') return
      if (message.type === 'error' || message.type.startsWith('tts-') || message.type.startsWith('speech-')) this.#o.trail.add(this.index, message.type === 'error' ? `error ${String(message.code)}` : message.type)
      this.ledger.message(message)
    })
    // Messages are only needed during the handshake: keep memory flat.
    const trim = setInterval(() => { conn.forgetMessages() }, 5000)
    void conn.closed.then(({ code }) => {
      clearInterval(trim)
      if (this.#conn !== conn || this.#closingOwn || this.#leaving) return
      this.#o.trail.add(this.index, `the server closed the connection (${code})`)
      this.ledger.dropped()
      if (code !== 1001 && !this.#o.killed(this.#url)) this.#o.onViolation(`session ${this.index} (${this.sessionId}): the server closed its connection with ${code}`)
      // As the published client (public/client.js) does: the first retry after 1 s.
      void this.#detach().then(async () => { await this.#sleep(1000); await this.#resume() }).catch((err: unknown) => {
        this.#o.onViolation(`session ${this.index} (${this.sessionId}): resume after ${code} failed: ${(err as Error).message}`)
      })
    })
  }

  /** The peer (data channel, receiving audio) and a microphone track. */
  async #media (conn: WebRTCTestClient): Promise<void> {
    await conn.startWebRTC()
    conn.audio.push = (data) => { this.#heard(data) }
    const wrtc = loadWrtc()
    const source = new wrtc.nonstandard.RTCAudioSource()
    const track = source.createTrack()
    conn.peer?.addTrack(track)
    await conn.renegotiate()
    this.#source = source
    this.#track = track
  }

  #heard (data: WrtcAudioData): void {
    if (data.sampleRate !== 48_000) return
    const samples = data.samples
    let peak = 0
    for (let i = 0; i < samples.length; i += 4) {
      const s = samples[i] as number
      if (s > peak) peak = s
      else if (-s > peak) peak = -s
    }
    if (peak < LOUD_PEAK) return
    this.#soundAt = performance.now()
    this.ledger.loudFrame()
  }

  async #detach (): Promise<void> {
    const conn = this.#conn
    this.#source = undefined
    this.#track?.stop()
    this.#track = undefined
    this.#frames.length = 0
    if (conn === undefined) return
    this.#closingOwn = true
    try { await conn.close() } finally {
      this.#closingOwn = false
      if (this.#conn === conn) this.#conn = undefined
    }
  }

  /** No close frame: the TCP connection just ends (a network loss), then a reconnect within the grace. */
  async #drop (): Promise<void> {
    const conn = this.#conn
    if (conn === undefined) return
    this.#o.trail.add(this.index, 'drop (no close frame)')
    this.#closingOwn = true
    conn.ws.terminate()
    this.ledger.dropped()
    await this.#detach()
    await this.#sleep(200 + this.#o.random.int(2800))
    await this.#resume()
  }

  /** Reconnects to a live server with `reconnect{sessionId}`: the session must come back. */
  async #resume (): Promise<void> {
    let lastError: unknown
    for (let attempt = 0; attempt < 6 && !this.#leaving; attempt++) {
      const url = this.#pick()
      let conn: WebRTCTestClient | undefined
      try {
        conn = await WebRTCTestClient.open(url, { timeoutMs: SIGNAL_TIMEOUT_MS })
        const from = conn.wsMessages.length
        conn.send({ type: 'reconnect', sessionId: this.sessionId })
        // A server killed meanwhile closes the socket, and the wait fails then: the next one is tried at
        // once, as the published client does on close, not after the 20 s timeout (by then the grace may
        // be over: the hour run saw it).
        const ack = await conn.waitFor('reconnect-ack', { from })
        if (!ack.success || ack.sessionId !== this.sessionId) {
          const error = await conn.waitFor('error', { from, timeoutMs: 2000 }).then(m => m.code, () => 'no error message')
          // A killed server's session that never got as far as a question was never saved: nothing of the
          // conversation is lost, and the client goes on with the new session, as the published client does.
          const nothingSaid = this.ledger.turns.every(turn => turn.transcript === undefined) && this.ledger.open === undefined
          if (!(error === 'SESSION_NOT_FOUND' && this.#o.killed(this.#url) && nothingSaid)) {
            await conn.close()
            throw new LostSession(`session lost: reconnect on ${url} answered success=${String(ack.success)} (${error})`)
          }
          this.#o.trail.add(this.index, `not saved before its server was killed: goes on as ${ack.sessionId}`)
          this.sessionId = ack.sessionId
          this.ledger.turns.length = 0
          this.unsavedAfterKill++
        }
        this.#url = url
        await this.#attach(conn)
        this.ledger.reconnected()
        await this.#media(conn)
        this.reconnects++
        this.#o.trail.add(this.index, `resumed on ${url}`)
        return
      } catch (err) {
        if (err instanceof LostSession) throw err
        lastError = err
        if (conn !== undefined && this.#conn === conn) await this.#detach().catch(() => {})
        else await conn?.close().catch(() => {})
        this.#o.trail.add(this.index, `reconnect attempt on ${url} failed: ${(err as Error).message}`)
        await this.#sleep(500)
      }
    }
    if (!this.#leaving) throw new Error(`could not reconnect: ${(lastError as Error | undefined)?.message ?? ''}`)
  }

  /**
   * An offer with new ICE credentials on the same peer: media must flow again (the next turn says so).
   * A connection lost meanwhile (its server killed) ends the restart: the resume on another server, which
   * the socket's close starts, negotiates a new peer.
   */
  async #iceRestart (): Promise<void> {
    const conn = this.#conn
    if (conn?.peer === undefined) return
    this.#o.trail.add(this.index, 'ICE restart')
    try {
      await this.#restartIce(conn, conn.peer)
    } catch (err) {
      if (this.#conn === conn && conn.ws.readyState === conn.ws.OPEN) throw err
      this.#o.trail.add(this.index, `ICE restart ended by the connection's loss: ${(err as Error).message}`)
    }
  }

  async #restartIce (conn: WebRTCTestClient, pc: WrtcPeerConnection): Promise<void> {
    const before = /a=ice-ufrag:(\S+)/.exec(pc.localDescription?.sdp ?? '')?.[1]
    const offer = await (pc.createOffer as (options: { iceRestart: boolean }) => Promise<WrtcSessionDescription>)({ iceRestart: true })
    await pc.setLocalDescription(offer)
    await this.#until(() => pc.iceGatheringState === 'complete', 3000)
    const sdp = pc.localDescription?.sdp ?? ''
    if (/a=ice-ufrag:(\S+)/.exec(sdp)?.[1] === before) throw new Error('the ICE restart offer kept its ICE credentials')
    const from = conn.wsMessages.length
    conn.send({ type: 'offer', signal: { type: 'offer', sdp: keepLoopbackCandidates(sdp) } })
    const answer = await conn.waitFor(m => m.type === 'signal' || m.type === 'error', { from, timeoutMs: SIGNAL_TIMEOUT_MS })
    if (answer.type !== 'signal') throw new Error(`ICE restart refused: ${JSON.stringify(answer)}`)
    await pc.setRemoteDescription({ type: 'answer', sdp: keepLoopbackCandidates(answer.signal.sdp) })
  }

  /** 400 pings at once on the WebSocket: the excess is dropped with RATE_LIMITED, the connection stays. */
  #flood (): void {
    const conn = this.#conn
    if (conn === undefined) return
    this.#o.trail.add(this.index, 'flood of 400 pings')
    this.ledger.flooding(performance.now() + 8000)
    this.#quietUntil = performance.now() + 4000
    for (let i = 0; i < 400; i++) conn.send({ type: 'ping', timestamp: i })
  }

  #ping (): void {
    const conn = this.#conn
    if (conn !== undefined && conn.ws.readyState === conn.ws.OPEN) conn.send({ type: 'ping', timestamp: Date.now() })
  }

  #pick (): string {
    const servers = this.#o.servers()
    if (servers.length === 0) throw new Error('no live server')
    return servers[this.#o.random.int(servers.length)] as string
  }

  async #until (condition: () => boolean, maxMs: number): Promise<boolean> {
    const end = performance.now() + maxMs
    while (!condition()) {
      if (performance.now() > end) return false
      await this.#sleep(40)
    }
    return true
  }

  async #sleep (ms: number): Promise<void> {
    await new Promise(resolve => setTimeout(resolve, ms))
  }
}

class LostSession extends Error {}
