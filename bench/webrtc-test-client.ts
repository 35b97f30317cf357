/**
 * The real WebRTC test client (test/helpers/webrtc-client.ts) for benchmarks. The helper imports `tap`
 * to close forgotten clients when a test file ends; loaded outside tap, that import starts tap's root
 * test (TAP output on stdout, and a 30 s timeout that ends a longer benchmark). Benchmarks are not
 * tests: `tap` is resolved to a no-op stub here, before the helper loads.
 *
 * Also the lean load clients of bench/concurrency.ts: `LoadClient` (the test client's handshake, then a
 * microphone driven by one `MicrophoneClock` shared by all clients, looping a `SpeechProgram`, and a
 * sink handler that only times and checks each answer).
 */
import { register } from 'node:module'
import type * as Helper from '../test/helpers/webrtc-client.js'
import { loadWrtc, type WrtcAudioData, type WrtcAudioSource, type WrtcMediaStreamTrack } from '../plugins/webrtc/wrtc.js'

const STUB = 'data:text/javascript,export default { teardown () {} }'
register('data:text/javascript,' + encodeURIComponent(
  `export async function resolve (specifier, context, next) {
    return specifier === 'tap' ? { url: ${JSON.stringify(STUB)}, shortCircuit: true } : next(specifier, context)
  }`
))

const helper: typeof Helper = await import('../test/helpers/webrtc-client.js')

export const { WebRTCTestClient, isolateNetwork } = helper
// eslint-disable-next-line @typescript-eslint/no-redeclare -- the class's value and its type, as one name
export type WebRTCTestClient = Helper.WebRTCTestClient
export type WebRTCTestClientOptions = Helper.WebRTCTestClientOptions

/** One 10 ms frame at 48 kHz, the only format the load clients send. */
const FRAME_SAMPLES = 480
const LOUD_PEAK = 1000
/** An answer has ended after this many quiet frames in a row (300 ms). */
const ANSWER_END_FRAMES = 30

/**
 * A looped program of speech for the load clients: `phrases` (48 kHz mono), each followed by
 * `silenceMs`, cut once into 10 ms frame views. `speechEnds[i]` is the frame after phrase i's last
 * sound, `speechStarts[i]` the frame with its first sound.
 */
export class SpeechProgram {
  readonly frames: Int16Array[] = []
  readonly speechStarts = new Set<number>()
  readonly speechEnds = new Set<number>()

  constructor (phrases: Int16Array[], silenceMs: number) {
    for (const phrase of phrases) {
      const first = firstSoundAt(phrase)
      const last = lastSoundAt(phrase)
      const start = this.frames.length
      this.speechStarts.add(start + Math.floor(first / FRAME_SAMPLES))
      this.speechEnds.add(start + Math.floor(last / FRAME_SAMPLES) + 1)
      const total = Math.ceil((phrase.length + silenceMs * 48) / FRAME_SAMPLES) * FRAME_SAMPLES
      const padded = new Int16Array(total)
      padded.set(phrase)
      for (let i = 0; i < total; i += FRAME_SAMPLES) this.frames.push(padded.subarray(i, i + FRAME_SAMPLES))
    }
  }
}

/** A reply as one load client heard it. */
export interface HeardAnswer {
  /** performance.now() of the first loud frame. */
  at: number
  /** Client-measured end of its speech (last speech frame handed to its microphone) → first loud frame, ms. */
  firstSoundMs: number
  /** The server's `speech-end` message → first loud frame, ms (NaN when none came first). */
  afterSpeechEndMessageMs: number
  /** Longest run of quiet frames between two loud frames of the answer, ms (10 ms frames). */
  longestGapMs: number
  /** Loud frames in the answer, ms. */
  loudMs: number
}

/**
 * A lean voice client for load generation: the WebSocket/peer handshake of WebRTCTestClient, then a
 * microphone driven by one shared `MicrophoneClock` (no timer of its own) that loops a `SpeechProgram`,
 * and a sink handler that keeps no samples: it only times each answer's first sound after the client's
 * own end of speech and measures the gaps inside the answer, by frame count (what a listener would hear,
 * whatever the client's event loop did).
 */
export class LoadClient {
  readonly client: WebRTCTestClient
  readonly answers: HeardAnswer[] = []
  /** Turns whose answer did not start before the client spoke again. */
  missed: Array<{ at: number }> = []
  /** Loud audio outside an expected answer (a second answer to one utterance, or sound while speaking). */
  unexpectedSound = 0
  /** The server's own `metrics.timings.firstAudioOutMs` per turn (its decision → first audio out of its track). */
  serverFirstAudio: Array<{ at: number, ms: number }> = []
  errors = 0
  lost = false
  readonly #source: WrtcAudioSource
  readonly #track: WrtcMediaStreamTrack
  readonly #data: WrtcAudioData = { samples: new Int16Array(FRAME_SAMPLES), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME_SAMPLES }
  readonly #program: SpeechProgram
  #position: number
  #speechEndAt: number | undefined
  #speechEndMessageAt = NaN
  #answer: { at: number, firstSoundMs: number, afterMessageMs: number, loud: number, quietRun: number, longestGap: number } | undefined

  private constructor (client: WebRTCTestClient, source: WrtcAudioSource, track: WrtcMediaStreamTrack, program: SpeechProgram, startFrame: number) {
    this.client = client
    this.#source = source
    this.#track = track
    this.#program = program
    this.#position = startFrame % program.frames.length
    client.audio.push = (data) => { this.#heard(data) }
    client.ws.on('message', (data) => {
      const text = data.toString()
      if (text.includes('"speech-end"')) this.#speechEndMessageAt = performance.now()
      else if (text.includes('"type":"error"')) this.errors++
      else if (text.includes('"firstAudioOutMs"')) {
        const ms = (JSON.parse(text) as { timings?: { firstAudioOutMs?: number } }).timings?.firstAudioOutMs
        if (ms !== undefined) this.serverFirstAudio.push({ at: performance.now(), ms })
      }
    })
    // Messages are only needed during the handshake: keep memory flat.
    const trim = setInterval(() => { client.forgetMessages() }, 5000)
    trim.unref()
    void client.closed.then(() => { clearInterval(trim) })
  }

  /** Connects (data channel, receiving audio), adds the microphone track and renegotiates. */
  static async connect (url: string, program: SpeechProgram, startFrame: number, options: WebRTCTestClientOptions = {}): Promise<LoadClient> {
    const client = await WebRTCTestClient.connect(url, options)
    try {
      const wrtc = options.wrtc ?? loadWrtc()
      const source = new wrtc.nonstandard.RTCAudioSource()
      const track = source.createTrack()
      client.peer?.addTrack(track)
      await client.renegotiate()
      return new LoadClient(client, source, track, program, startFrame)
    } catch (err) {
      await client.close()
      throw err
    }
  }

  /** Sends the program's next 10 ms frame (called by the shared clock). */
  tick (now: number): void {
    const program = this.#program
    const position = this.#position
    if (program.speechStarts.has(position) && this.#speechEndAt !== undefined) {
      this.missed.push({ at: now })
      this.#speechEndAt = undefined
    }
    // wrtc reads the whole ArrayBuffer under the view: each frame is copied into the client's own.
    this.#data.samples.set(program.frames[position] as Int16Array)
    this.#source.onData(this.#data)
    if (program.speechEnds.has(position)) {
      this.#speechEndAt = now
      this.#speechEndMessageAt = NaN
    }
    this.#position = (position + 1) % program.frames.length
  }

  async close (): Promise<void> {
    this.#track.stop()
    await this.client.close()
  }

  #heard (data: WrtcAudioData): void {
    if (data.sampleRate !== 48_000) return
    const samples = data.samples
    let peak = 0
    // A 440 Hz tone spans ~109 samples a period: every 4th sample finds its peak within 1.5%.
    for (let i = 0; i < samples.length; i += 4) {
      const s = samples[i] as number
      if (s > peak) peak = s
      else if (-s > peak) peak = -s
    }
    const loud = peak >= LOUD_PEAK
    const answer = this.#answer
    if (answer !== undefined) {
      if (loud) {
        if (answer.quietRun > answer.longestGap) answer.longestGap = answer.quietRun
        answer.quietRun = 0
        answer.loud++
      } else if (++answer.quietRun >= ANSWER_END_FRAMES) {
        this.answers.push({ at: answer.at, firstSoundMs: answer.firstSoundMs, afterSpeechEndMessageMs: answer.afterMessageMs, longestGapMs: answer.longestGap * 10, loudMs: answer.loud * 10 })
        this.#answer = undefined
      }
      return
    }
    if (!loud) return
    const now = performance.now()
    if (this.#speechEndAt === undefined) {
      this.unexpectedSound++
      this.#answer = { at: now, firstSoundMs: NaN, afterMessageMs: NaN, loud: 1, quietRun: 0, longestGap: 0 }
      return
    }
    this.#answer = { at: now, firstSoundMs: now - this.#speechEndAt, afterMessageMs: now - this.#speechEndMessageAt, loud: 1, quietRun: 0, longestGap: 0 }
    this.#speechEndAt = undefined
  }
}

/**
 * One timer for every load client's microphone: each 10 ms slot, every client sends its next frame.
 * Slots a late timer missed are sent at once (up to 5, like a capture buffer delivering late); further
 * behind, the schedule restarts and the miss is counted in `stalls` (the clients' core was saturated).
 */
export class MicrophoneClock<C extends { tick: (now: number) => void } = LoadClient> {
  readonly clients = new Set<C>()
  stalls = 0
  #timer: NodeJS.Timeout | undefined
  #origin = 0
  #slot = 0

  start (): void {
    this.#origin = performance.now()
    this.#slot = 0
    this.#schedule()
  }

  stop (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (): void {
    const next = this.#origin + this.#slot * 10
    this.#timer = setTimeout(() => { this.#run() }, Math.max(1, Math.ceil(next - performance.now())))
  }

  #run (): void {
    const now = performance.now()
    let due = Math.floor((now - this.#origin) / 10) + 1 - this.#slot
    if (due > 5) {
      this.stalls++
      this.#origin = now
      this.#slot = 0
      due = 1
    }
    for (; due > 0; due--) {
      for (const client of this.clients) client.tick(now)
      this.#slot++
    }
    if (this.#timer !== undefined) this.#schedule()
  }
}

function firstSoundAt (pcm: Int16Array): number {
  for (let i = 0; i < pcm.length; i++) if (Math.abs(pcm[i] as number) > 64) return i
  return 0
}

function lastSoundAt (pcm: Int16Array): number {
  for (let i = pcm.length - 1; i >= 0; i--) if (Math.abs(pcm[i] as number) > 64) return i
  return pcm.length - 1
}
