import { encodeWav } from '../audio/wav.js'
import type { Clock } from '../clock.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { Logger } from '../logger.js'
import { publishBargeIn, publishTurnEnd } from '../observability/channels.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import type { Providers, STTResult, VisionAttachment } from '../providers/types.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import type { AudioOutput } from '../transport/media-transport.js'
import { SPEECH_SAMPLE_RATE_HZ, type SpeechEvent } from '../vad/speech-events.js'
import { StreamingTranscription } from './streaming-transcription.js'
import { Turn } from './turn.js'
import type { TurnAgent, TurnOptions, TurnResult } from './turn-types.js'
import { WebSocketAudioOutput } from './websocket-audio-output.js'

export type PipelineState = 'listening' | 'user-speaking' | 'thinking' | 'speaking'

export interface VoicePipelineOptions {
  sessionId: string
  providers: Providers
  hooks: HookRegistry
  history: ConversationHistory
  send: (message: ServerMessage) => void
  /** Images queued for the next turn (taken when it starts). */
  takeAttachments: () => VisionAttachment[]
  clock: Clock
  log: Logger
  turnOptions: TurnOptions
  /** Use the STT's streaming mode when it has one. */
  streamingSTT: boolean
  /** Called after every turn (persist the session, metrics). */
  onTurnEnd?: (result: TurnResult) => void
  /** The session's tools and playbook: turns then run the two-phase tool loop. */
  agent?: TurnAgent
}

/**
 * One session's conversation loop as a state machine: listening → user speaking → thinking → speaking.
 * Speech events come from the VAD (or an `audio` message runs a turn directly). Turns run one at a time;
 * a barge-in cancels the running turn end to end, and the next turn starts only once it cleaned up.
 *
 * While the assistant is thinking or speaking, a `speech-start` is held back until the speech is
 * confirmed (the first `speech-audio`): a cough neither interrupts the assistant nor reaches the client.
 * Confirmed speech then sends `tts-cancelled` (if audio was playing) before `speech-start`.
 */
export class VoicePipeline {
  readonly #o: VoicePipelineOptions
  readonly #webSocketOutput: WebSocketAudioOutput
  readonly #lifetime = new AbortController()
  #trackOutput: AudioOutput | undefined
  #turn: Turn | undefined
  #turns: Promise<void> = Promise.resolve()
  /** Turns and scheduled tasks queued or running. */
  #pending = 0
  /** The user is speaking and the client was told (`speech-start` sent). */
  #announced = false
  #capturing = false
  /** Audio before the speech was confirmed: a streaming STT gets it once it is. */
  #preRoll: Int16Array | undefined
  #transcription: StreamingTranscription | undefined
  /** `audio` utterances received so far: the newest is the one whose turn may start. */
  #utterances = 0

  constructor (options: VoicePipelineOptions) {
    this.#o = options
    this.#webSocketOutput = new WebSocketAudioOutput(options.send)
  }

  get state (): PipelineState {
    if (this.#announced) return 'user-speaking'
    if (this.#turn === undefined) return 'listening'
    return this.#turn.speaking ? 'speaking' : 'thinking'
  }

  /** Speech goes to this track from now on (undefined: back to `tts-chunk` messages). */
  setTrackOutput (output: AudioOutput | undefined): void {
    this.#trackOutput = output
  }

  /** True while a turn (or a scheduled task) is running or queued. */
  get busy (): boolean { return this.#pending > 0 }

  /** Resolves when no turn is running or queued. */
  async idle (): Promise<void> {
    let current: Promise<void>
    do {
      current = this.#turns
      await current
    } while (current !== this.#turns)
  }

  onSpeechEvent (event: SpeechEvent): void {
    if (this.#lifetime.signal.aborted) return
    switch (event.type) {
      case 'speech-start': this.#speechStarted(event.preRoll); break
      case 'speech-audio': this.#speechConfirmed(event.samples); break
      case 'speech-cancelled': this.#speechCancelled(); break
      case 'speech-end': this.#speechEnded(event.utterance, event.durationMs); break
    }
  }

  /**
   * The WebSocket fallback: one whole utterance (already decoded WAV, any rate) runs a turn. A running
   * turn is interrupted as by speech.
   */
  runUtterance (wav: Buffer, attachments: VisionAttachment[]): void {
    this.#interrupt()
    const stt = this.#o.providers.stt
    // A newer utterance supersedes this one if it comes before this one's turn started: a flood of
    // `audio` messages leaves one turn running and one waiting, not a backlog of turns (and their audio).
    const utterance = ++this.#utterances
    this.#queueTurn(wav, async (signal) => await stt.transcribe(wav, { signal }), attachments, this.#o.clock.now(), () => utterance === this.#utterances)
  }

  /** Runs `task` between turns: after the running and queued ones, before any that come later. */
  schedule (task: () => Promise<void>): void {
    this.#enqueue(task)
  }

  /** Cancels the running turn (client gone, session closing); the session stays usable. */
  cancelTurn (): void {
    this.#preRoll = undefined
    this.#turn?.cancel()
    this.#transcription?.abort()
    this.#transcription = undefined
    this.#announced = false
    this.#capturing = false
  }

  async close (): Promise<void> {
    this.cancelTurn()
    this.#lifetime.abort()
    await this.idle()
  }

  #speechStarted (preRoll: Int16Array): void {
    this.#capturing = true
    this.#preRoll = preRoll
    if (this.#turn === undefined) this.#announce()
  }

  #speechConfirmed (samples: Int16Array): void {
    if (!this.#capturing) return
    if (!this.#announced) {
      this.#interrupt()
      this.#announce()
    }
    // A paid streaming STT opens only for confirmed speech, never for a blip.
    if (this.#preRoll !== undefined) {
      this.#startTranscription(this.#preRoll)
      this.#preRoll = undefined
    }
    this.#transcription?.write(samples)
  }

  #speechCancelled (): void {
    this.#preRoll = undefined
    if (this.#announced) this.#o.send({ type: 'speech-cancelled' })
    this.#transcription?.abort()
    this.#transcription = undefined
    this.#announced = false
    this.#capturing = false
  }

  #speechEnded (utterance: Int16Array, durationMs: number): void {
    if (!this.#capturing) return
    const now = this.#o.clock.now()
    this.#o.send({ type: 'speech-end' })
    void this.#o.hooks.run('onSpeechEnd', this.#o.sessionId, now, durationMs)
    this.#announced = false
    this.#capturing = false
    this.#preRoll = undefined
    const wav = encodeWav(utterance, SPEECH_SAMPLE_RATE_HZ)
    const transcription = this.#transcription
    this.#transcription = undefined
    transcription?.end()
    const stt = this.#o.providers.stt
    const transcribe = transcription !== undefined
      ? async (signal: AbortSignal): Promise<STTResult> => ({ text: await transcription.final(signal), isFinal: true })
      : async (signal: AbortSignal): Promise<STTResult> => await stt.transcribe(wav, { signal })
    this.#queueTurn(wav, transcribe, this.#o.takeAttachments(), now)
  }

  #announce (): void {
    this.#announced = true
    this.#o.send({ type: 'speech-start' })
    void this.#o.hooks.run('onSpeechStart', this.#o.sessionId, this.#o.clock.now())
  }

  /** Barge-in: the running turn stops now (`tts-cancelled` if it was speaking). */
  #interrupt (): void {
    if (this.#turn === undefined) return
    this.#o.log.debug({ turnId: this.#turn.ctx.turnId }, 'barge-in')
    const running = !this.#turn.signal.aborted
    const speaking = this.#turn.cancel()
    if (running) publishBargeIn(this.#o.sessionId, this.#turn.ctx.turnId, this.#o.clock.now(), speaking)
  }

  #startTranscription (preRoll: Int16Array): void {
    const stt = this.#o.providers.stt
    const transcribeStream = stt.transcribeStream
    if (!this.#o.streamingSTT || transcribeStream === undefined) return
    this.#transcription?.abort()
    this.#transcription = new StreamingTranscription(transcribeStream.bind(stt), (text) => {
      this.#o.send({ type: 'transcript', text, isFinal: false })
    }, this.#lifetime.signal)
    this.#transcription.write(preRoll)
  }

  #queueTurn (audio: Buffer, transcribe: (signal: AbortSignal) => Promise<STTResult>, attachments: VisionAttachment[], speechEndedAt: number, current = (): boolean => true): void {
    this.#enqueue(async () => {
      if (!current()) return
      const output = this.#trackOutput ?? this.#webSocketOutput
      const turn = new Turn({
        sessionId: this.#o.sessionId,
        providers: this.#o.providers,
        hooks: this.#o.hooks,
        history: this.#o.history,
        send: this.#o.send,
        output,
        outputIsWebSocket: output === this.#webSocketOutput,
        clock: this.#o.clock,
        log: this.#o.log,
        options: this.#o.turnOptions,
        ...(this.#o.agent !== undefined ? { agent: this.#o.agent } : {})
      }, { audio, transcribe, attachments, speechEndedAt })
      this.#turn = turn
      try {
        const result = await turn.run()
        publishTurnEnd(result, speechEndedAt, this.#o.providers)
        this.#o.onTurnEnd?.(result)
      } catch (err) {
        this.#o.log.error({ err }, 'turn crashed')
      } finally {
        if (this.#turn === turn) this.#turn = undefined
      }
    })
  }

  /** Chains `task` after the turns and tasks before it; skipped once the pipeline closed. */
  #enqueue (task: () => Promise<void>): void {
    const previous = this.#turns
    this.#pending++
    this.#turns = (async () => {
      try {
        await previous
        if (this.#lifetime.signal.aborted) return
        await task()
      } catch (err) {
        this.#o.log.error({ err }, 'scheduled task failed')
      } finally {
        this.#pending--
      }
    })()
  }
}
