import type { BackgroundMixer } from '../audio/background-mixer.js'
import { encodeWav } from '../audio/wav.js'
import type { Clock } from '../clock.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { Logger } from '../logger.js'
import { publishBargeIn, publishTurnEnd } from '../observability/channels.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import type { ChatMessage, Providers, STTResult, VisionAttachment } from '../providers/types.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import type { AudioOutput } from '../transport/media-transport.js'
import { InterruptionJudge } from '../turn-taking/interruption-judge.js'
import { Endpointing, type EndpointControl } from '../turn-taking/endpointing.js'
import { PLAIN_TURN_TAKING, type TurnTakingSettings } from '../turn-taking/turn-taking-settings.js'
import { UserIdleMonitor } from '../turn-taking/user-idle.js'
import type { LoudnessListener } from '../vad/loudness-onset.js'
import { SPEECH_SAMPLE_RATE_HZ, type SpeechEvent } from '../vad/speech-events.js'
import { Preemption } from './preemption.js'
import { raceSignal } from '../streams/race-signal.js'
import { StreamingTranscription } from './streaming-transcription.js'
import { Turn } from './turn.js'
import type { TurnAgent, TurnInput, TurnOptions, TurnResult } from './turn-types.js'
import { WebSocketAudioOutput } from './websocket-audio-output.js'

export type PipelineState = 'listening' | 'user-speaking' | 'thinking' | 'speaking'

/** The session's speech detector, as far as the answer's pausing goes. */
export interface OnsetControl {
  /** The probability that starts speech (undefined: the detector's own `activationThreshold`). */
  setOnsetThreshold: (threshold: number | undefined) => void
  /** Hears of loudness onsets, and of their lapse, while set (undefined: nothing is heard). */
  setLoudnessOnset: (listener: LoudnessListener | undefined) => void
}

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
  /** A turn's user message is in the history, before the LLM is asked (persist the session). */
  onQuestion?: (turnId: string) => void
  /** The session's tools and playbook: turns then run the two-phase tool loop. */
  agent?: TurnAgent
  /** Interruptions, preemptive generation, adaptive end of turn, user idle (default PLAIN_TURN_TAKING). */
  turnTaking?: TurnTakingSettings
  /** The user stayed silent through every idle prompt: end the session. */
  onIdleEnd?: () => void
  /** The session's background sounds (thinking, ambient), mixed into the track output (docs/background-audio.md). */
  background?: BackgroundMixer
}

/** Silence after which the words so far are transcribed for the turn detector when nothing is preemptive, in ms. */
const DETECT_AFTER_MS = 200

/**
 * One session's conversation loop as a state machine: listening → user speaking → thinking → speaking.
 * Speech events come from the VAD (or an `audio` message runs a turn directly). Turns run one at a time;
 * a barge-in cancels the running turn end to end, and the next turn starts only once it cleaned up.
 *
 * Turn-taking (docs/turn-taking.md): speech that starts while a turn runs is a candidate interruption.
 * In `pause` mode the answer pauses at once (`tts-paused`); a blip, a backchannel or a pause that
 * outlasts `resumeAfterMs` resumes it (`tts-resumed`); words cancel it (`tts-cancelled`, then
 * `speech-start`). While the user pauses, the words so far are transcribed, the turn detector sets the
 * end-of-speech wait, and the LLM's answer is started preemptively.
 */
export class VoicePipeline {
  readonly #o: VoicePipelineOptions
  readonly #settings: TurnTakingSettings
  readonly #webSocketOutput: WebSocketAudioOutput
  readonly #lifetime = new AbortController()
  readonly #endpointing: Endpointing | undefined
  readonly #idle: UserIdleMonitor | undefined
  #trackOutput: AudioOutput | undefined
  #turn: Turn | undefined
  #onset: OnsetControl | undefined
  #turns: Promise<void> = Promise.resolve()
  /** Turns and scheduled tasks queued or running. */
  #pending = 0
  /** The user is speaking and the client was told (`speech-start` sent). */
  #announced = false
  #capturing = false
  /** The current utterance is not listened to (interruption mode `off` while a turn runs). */
  #ignoring = false
  readonly #judge: InterruptionJudge
  /** The answer's audio was paused for a candidate and the client was told (`tts-paused`). */
  #pausedNotified = false
  /** A loudness onset paused the answer, and the VAD has not started speech since. */
  #loudnessPaused = false
  readonly #loudness: LoudnessListener = { onset: () => { this.#loudnessOnset() }, lapsed: () => { this.#loudnessLapsed() } }
  /** Audio before the speech was confirmed: a streaming STT gets it once it is. */
  #preRoll: Int16Array | undefined
  #transcription: StreamingTranscription | undefined
  /** A streaming transcription of a candidate interruption: its interim results judge it, the client sees none. */
  #heldTranscription: StreamingTranscription | undefined
  /** The streaming STT's words so far in the current utterance. */
  #interim = ''
  readonly #preemption: Preemption | undefined
  /** The user's words of a turn cancelled before it said anything: they open the next turn. */
  #carryOver: CarryOver | undefined
  /** `audio` utterances received so far: the newest is the one whose turn may start. */
  #utterances = 0
  /** Utterances the VAD started so far (a taken-over answer gives way to one started before it). */
  #speechStarts = 0

  constructor (options: VoicePipelineOptions) {
    this.#o = options
    this.#settings = options.turnTaking ?? PLAIN_TURN_TAKING
    this.#webSocketOutput = new WebSocketAudioOutput(options.send)
    const pipeline = this
    this.#judge = new InterruptionJudge(this.#settings.interruption, this.#settings.language, options.clock, options.log, {
      pause: () => { this.#pauseAnswer() },
      resume: () => { this.#resumeAnswer() },
      interrupt: () => { this.#commitInterruption() },
      transcribe: async (utterance, signal) => (await options.providers.stt.transcribe(encodeWav(utterance, SPEECH_SAMPLE_RATE_HZ), { signal })).text,
      get streaming () { return pipeline.#transcription !== undefined }
    })
    const detection = this.#settings.turnDetection
    if (detection !== false) this.#endpointing = new Endpointing(detection, options.history, options.log)
    if (this.#settings.preemptive !== false || this.#endpointing !== undefined) {
      this.#preemption = new Preemption({
        sessionId: options.sessionId,
        providers: options.providers,
        history: options.history,
        agent: options.agent,
        signal: this.#lifetime.signal,
        llmTimeoutMs: options.turnOptions.llmTimeoutMs,
        endpointing: this.#endpointing,
        answer: this.#settings.preemptive !== false,
        speech: options.turnOptions.streamingTTS
          ? { tts: options.providers.tts, filters: options.turnOptions.speechFilters, sentenceMinChars: options.turnOptions.sentenceMinChars, timeoutMs: options.turnOptions.ttsTimeoutMs }
          : undefined
      })
    }
    const idle = this.#settings.userIdle
    if (idle !== false) {
      this.#idle = new UserIdleMonitor(idle, options.clock, async (text) => { await this.say(text) }, () => { options.onIdleEnd?.() })
      this.#idle.quiet()
    }
  }

  get state (): PipelineState {
    if (this.#announced) return 'user-speaking'
    if (this.#turn === undefined) return 'listening'
    return this.#turn.speaking ? 'speaking' : 'thinking'
  }

  /** The session's turn-taking settings. */
  get turnTaking (): Readonly<TurnTakingSettings> { return this.#settings }

  /** Speech goes to this track from now on (undefined: back to `tts-chunk` messages). */
  setTrackOutput (output: AudioOutput | undefined): void {
    const background = this.#o.background
    if (background !== undefined && output !== this.#trackOutput) {
      this.#trackOutput?.setBackground?.(undefined)
      output?.setBackground?.(background)
    }
    this.#trackOutput = output
  }

  /** Where the end-of-speech wait of the current utterance is moved (the session's speech detector). */
  setEndpointControl (control: EndpointControl | undefined): void {
    this.#endpointing?.attach(control)
  }

  /**
   * Where speech onset is made more eager while a turn runs (the session's speech detector): in `pause`
   * mode the answer pauses on the first window at `interruption.onsetThreshold`, or sooner on a loudness
   * onset (`interruption.loudnessOnset`).
   */
  setOnsetControl (control: OnsetControl | undefined): void {
    this.#onset?.setOnsetThreshold(undefined)
    this.#onset?.setLoudnessOnset(undefined)
    this.#onset = control
    this.#applyOnsetControl()
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
    // An answer may follow: a track stopped while idle starts again now, so it is running when the
    // answer comes, and a running one does not stop before (docs/pipeline.md, playout).
    this.#trackOutput?.wake?.()
    switch (event.type) {
      case 'speech-start': this.#speechStarted(event.preRoll); break
      case 'speech-audio': this.#speechConfirmed(event.samples); break
      case 'speech-pause': this.#speechPaused(event.silenceMs, event.utterance); break
      case 'speech-resume': this.#speechResumed(event.pauseMs); break
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
    this.#queueTurn({ audio: wav, transcribe: async (signal) => await stt.transcribe(wav, { signal }), attachments, speechEndedAt: this.#o.clock.now() }, () => utterance === this.#utterances)
  }

  /**
   * A turn from text: `text` stands for the user's words (no STT call; the STT hooks see it as the
   * transcript and an empty utterance), and the turn runs as one from speech does: hooks, history, tools
   * and playbook, LLM, TTS and output. Like an `audio` message, it interrupts a running turn, and a newer
   * utterance or text that comes before its turn started replaces it. Resolves with the turn's result, or
   * undefined when it never ran (replaced, or the pipeline closed).
   */
  async runText (text: string, attachments: VisionAttachment[] = []): Promise<TurnResult | undefined> {
    this.#interrupt()
    const utterance = ++this.#utterances
    return await new Promise<TurnResult | undefined>((resolve) => {
      this.#queueTurn({ audio: Buffer.alloc(0), transcribe: async () => ({ text, isFinal: true }), attachments, speechEndedAt: this.#o.clock.now() }, () => utterance === this.#utterances, undefined, resolve)
    })
  }

  /**
   * Answers `question`, a user message already last in the history whose answer was lost (its server
   * stopped mid-turn, docs/reliability.md), as a turn from text does, without adding it again. The user's
   * new words win: skipped when speech started, an utterance came, or the history moved on before its
   * turn started; once started, it is interrupted like any answer.
   */
  async answer (question: ChatMessage): Promise<TurnResult | undefined> {
    const [utterance, speech] = [this.#utterances, this.#speechStarts]
    const current = (): boolean => utterance === this.#utterances && speech === this.#speechStarts && this.#o.history.messages.at(-1) === question
    return await new Promise<TurnResult | undefined>((resolve) => {
      this.#queueTurn({ audio: Buffer.alloc(0), transcribe: async () => ({ text: question.content, isFinal: true }), attachments: [], speechEndedAt: this.#o.clock.now(), unanswered: question }, current, undefined, resolve)
    })
  }

  /** The assistant says `text` (after the turns queued before it); interruptible like any answer. */
  async say (text: string): Promise<TurnResult | undefined> {
    return await this.#assistantTurn({ say: text })
  }

  /** The assistant answers on its own, with `instructions` added to the system prompt (e.g. a greeting). */
  async generateReply (instructions: string): Promise<TurnResult | undefined> {
    return await this.#assistantTurn({ reply: instructions })
  }

  /** Runs `task` between turns: after the running and queued ones, before any that come later. `skipped` runs instead once the pipeline is closed. */
  schedule (task: () => Promise<void>, skipped?: () => void): void {
    this.#enqueue(task, skipped)
  }

  /** Cancels the running turn (client gone, session closing); the session stays usable. */
  cancelTurn (): void {
    this.#loudnessPaused = false
    this.#preRoll = undefined
    this.#judge.drop()
    this.#turn?.cancel()
    this.#transcription?.abort()
    this.#transcription = undefined
    this.#preemption?.discard()
    this.#announced = false
    this.#capturing = false
    this.#ignoring = false
  }

  async close (): Promise<void> {
    this.cancelTurn()
    this.#idle?.close()
    this.#lifetime.abort()
    await this.idle()
  }

  #speechStarted (preRoll: Int16Array): void {
    this.#loudnessPaused = false
    this.#speechStarts++
    this.#capturing = true
    this.#ignoring = false
    this.#preRoll = preRoll
    this.#interim = ''
    this.#idle?.userSpoke()
    this.#endpointing?.utteranceStarted()
    if (this.#turn === undefined) {
      this.#announce()
      return
    }
    if (this.#settings.interruption.mode === 'off') {
      this.#ignoring = true
      return
    }
    this.#judge.open(preRoll)
  }

  #speechConfirmed (samples: Int16Array): void {
    if (!this.#capturing || this.#ignoring) return
    if (!this.#announced) {
      // Speech judged again after a blip let the answer play on.
      if (!this.#judge.pending && this.#turn !== undefined) this.#judge.open(this.#preRoll ?? new Int16Array(0))
      if (!this.#judge.pending) {
        this.#announce()
      } else if (this.#turn === undefined) {
        // The answer ended meanwhile: this is the user's turn now.
        this.#judge.drop()
        this.#heldTranscription = undefined
        this.#announce()
      } else {
        this.#judge.confirmed(samples, samples.length / (SPEECH_SAMPLE_RATE_HZ / 1000))
      }
    }
    // A paid streaming STT opens only for confirmed speech, never for a blip.
    if (this.#preRoll !== undefined) {
      this.#startTranscription(this.#preRoll)
      this.#preRoll = undefined
    }
    this.#transcription?.write(samples)
  }

  #speechPaused (silenceMs: number, utterance: Int16Array | undefined): void {
    if (!this.#capturing || this.#ignoring) return
    if (this.#judge.pending) {
      this.#judge.paused(silenceMs, utterance)
      return
    }
    const preemption = this.#preemption
    if (!this.#announced || utterance === undefined || preemption === undefined || preemption.active) return
    const preemptive = this.#settings.preemptive
    if (silenceMs < (preemptive !== false ? preemptive.afterMs : DETECT_AFTER_MS)) return
    preemption.start(utterance, silenceMs, this.#transcription !== undefined ? this.#interim : undefined, () => !this.busy && this.#carryOver === undefined)
  }

  #speechResumed (pauseMs: number): void {
    if (!this.#capturing || this.#ignoring) return
    if (this.#judge.pending) {
      this.#judge.resumed()
      return
    }
    if (!this.#announced) return
    this.#endpointing?.speechResumed(pauseMs)
    this.#preemption?.discard()
  }

  #speechCancelled (): void {
    this.#preRoll = undefined
    if (this.#judge.pending) this.#resumeAnswer()
    this.#judge.drop()
    if (this.#announced) this.#o.send({ type: 'speech-cancelled' })
    this.#transcription?.abort()
    this.#transcription = undefined
    this.#preemption?.discard()
    this.#announced = false
    this.#capturing = false
    this.#ignoring = false
    this.#quietIfIdle()
  }

  #speechEnded (utterance: Int16Array, durationMs: number): void {
    if (!this.#capturing) return
    this.#capturing = false
    this.#preRoll = undefined
    if (this.#ignoring) {
      this.#ignoring = false
      this.#transcription?.abort()
      this.#transcription = undefined
      return
    }
    if (this.#judge.pending) {
      this.#judgeEnded(utterance, durationMs)
      return
    }
    this.#endUtterance(utterance, durationMs)
  }

  /**
   * The user's utterance is over: `speech-end`, and its turn is queued. The turn's STT result carries the
   * words' timings when the provider gave them, in ms from the utterance's first sample (pre-roll included).
   */
  #endUtterance (utterance: Int16Array, durationMs: number, known?: STTResult): void {
    const now = this.#o.clock.now()
    this.#o.send({ type: 'speech-end' })
    void this.#o.hooks.run('onSpeechEnd', this.#o.sessionId, now, durationMs)
    this.#announced = false
    this.#endpointing?.utteranceEnded(this.#endpointing.lastDecision?.endpointMs ?? 0)
    const wav = encodeWav(utterance, SPEECH_SAMPLE_RATE_HZ)
    const transcription = this.#transcription
    this.#transcription = undefined
    transcription?.end()
    const speculation = this.#preemption?.take()
    const stt = this.#o.providers.stt
    let own: (signal: AbortSignal) => Promise<STTResult>
    if (known !== undefined) {
      transcription?.abort()
      own = async () => known
    } else if (transcription !== undefined) {
      own = async (signal) => await transcription.final(signal)
    } else if (speculation !== undefined) {
      // The words up to the pause are all the words: the user did not speak again since. If that
      // transcription failed, the turn asks the STT again.
      own = async (signal) => {
        try {
          const text = await raceSignal(speculation.transcript, signal)
          const words = await speculation.words
          return { text, isFinal: true, ...(words !== undefined ? { words } : {}) }
        } catch (error) {
          if (signal.aborted) throw error
          return await stt.transcribe(wav, { signal })
        }
      }
    } else {
      own = async (signal) => await stt.transcribe(wav, { signal })
    }
    const carry = this.#carryOver
    this.#carryOver = undefined
    const transcribe = async (signal: AbortSignal): Promise<STTResult> => {
      if (carry === undefined) {
        const result = await own(signal)
        return { text: result.text, isFinal: true, ...(result.words !== undefined ? { words: result.words } : {}) }
      }
      // Joined with a cut turn's words: their timings would count from another utterance, so none are given.
      const [before, after] = await Promise.all([raceSignal(carry.text, signal).catch(() => ''), own(signal)])
      return { text: [before.trim(), after.text.trim()].filter(t => t !== '').join(' '), isFinal: true }
    }
    const attachments = this.#o.takeAttachments()
    const input: TurnInput = { audio: wav, transcribe, attachments, speechEndedAt: now }
    const preemption = this.#preemption
    // A TTS context started by the speculation carries on in the turn.
    if (speculation !== undefined) input.turnId = speculation.id
    if (speculation !== undefined && preemption !== undefined) input.prefetch = (text) => preemption.prefetchFor(speculation, text, carry === undefined && attachments.length === 0)
    this.#queueTurn(input, undefined, carry)
  }

  #announce (): void {
    // The user has the floor. A pause with no answer running any more is left over: the answer ended just
    // as the user began (its last frame played), and nothing else would end the pause.
    if (this.#turn === undefined || this.#turn.signal.aborted) this.#endOrphanPause()
    this.#announced = true
    this.#o.send({ type: 'speech-start' })
    void this.#o.hooks.run('onSpeechStart', this.#o.sessionId, this.#o.clock.now())
  }

  /** Barge-in: the running turn stops now (`tts-cancelled` if it was speaking). */
  #interrupt (carryOver = false): void {
    const turn = this.#turn
    if (turn === undefined) return
    this.#o.log.debug({ turnId: turn.ctx.turnId }, 'barge-in')
    const running = !turn.signal.aborted
    const heard = turn.heardAnything
    const speaking = turn.cancel()
    this.#pausedNotified = false
    if (!running) return
    publishBargeIn(this.#o.sessionId, turn.ctx.turnId, this.#o.clock.now(), speaking)
    // Cut off before saying anything: the user was not done, and their earlier words open the next turn.
    if (carryOver && !heard && !speaking && turn.userWords) {
      const text = this.#turnText(turn)
      text.catch(() => {})
      this.#carryOver = { text, turn }
    }
  }

  /** Speech over the answer ended before it was judged: its whole transcript decides. */
  #judgeEnded (utterance: Int16Array, durationMs: number): void {
    const transcription = this.#transcription
    this.#transcription = undefined
    transcription?.end()
    const signal = this.#lifetime.signal
    const stt = this.#o.providers.stt
    let result: STTResult | undefined
    void this.#judge.ended(async () => {
      result = transcription !== undefined
        ? await transcription.final(signal)
        : await stt.transcribe(encodeWav(utterance, SPEECH_SAMPLE_RATE_HZ), { signal })
      return result.text
    }).then((text) => {
      if (text === undefined) return
      this.#commitInterruption(false)
      // The judge may answer with words it had already (no new result): then there are no timings.
      const words = result?.text === text ? result.words : undefined
      this.#endUtterance(utterance, durationMs, { text, isFinal: true, ...(words !== undefined ? { words } : {}) })
    })
  }

  /** The speech is an interruption: the turn stops (`tts-cancelled`), and the user has the floor (`speech-start`). */
  #commitInterruption (forwardWords = true): void {
    this.#judge.drop()
    this.#heldTranscription = undefined
    this.#interrupt(true)
    this.#announce()
    if (forwardWords && this.#interim !== '') this.#o.send({ type: 'transcript', text: this.#interim, isFinal: false })
  }

  #output (): AudioOutput {
    return this.#turn?.output ?? this.#trackOutput ?? this.#webSocketOutput
  }

  /** Ends a pause whose answer is over: left on, it would hold the next answer's audio, and that turn, forever (the chaos bench found it). */
  #endOrphanPause (): void {
    const output = this.#output()
    if (output.paused) output.clear()
    this.#pausedNotified = false
  }

  #pauseAnswer (): void {
    const output = this.#output()
    if (output.paused) return
    output.pause()
    if (this.#turn?.speaking === true && !this.#pausedNotified) {
      this.#pausedNotified = true
      this.#o.send({ type: 'tts-paused' })
    }
  }

  #resumeAnswer (): void {
    const output = this.#output()
    if (output.paused) output.resume()
    if (this.#pausedNotified) {
      this.#pausedNotified = false
      this.#o.send({ type: 'tts-resumed' })
    }
  }

  #startTranscription (preRoll: Int16Array): void {
    const stt = this.#o.providers.stt
    const transcribeStream = stt.transcribeStream
    if (!this.#o.streamingSTT || transcribeStream === undefined) return
    this.#transcription?.abort()
    const transcription: StreamingTranscription = new StreamingTranscription(transcribeStream.bind(stt), (text) => { this.#onInterim(transcription, text) }, this.#lifetime.signal)
    this.#transcription = transcription
    this.#heldTranscription = this.#judge.pending && !this.#announced ? transcription : undefined
    transcription.write(preRoll)
  }

  #onInterim (transcription: StreamingTranscription, text: string): void {
    if (transcription === this.#transcription) this.#interim = text
    if (transcription !== this.#heldTranscription) {
      this.#o.send({ type: 'transcript', text, isFinal: false })
      return
    }
    this.#judge.words(text)
  }

  /** What the user said in `turn`, for a turn cancelled before it answered: its transcript, or its audio transcribed again. */
  async #turnText (turn: Turn): Promise<string> {
    const message = turn.userMessage
    if (message !== undefined) return message.content
    return (await this.#o.providers.stt.transcribe(turn.audio, { signal: this.#lifetime.signal })).text
  }

  async #assistantTurn (first: NonNullable<TurnInput['assistantFirst']>): Promise<TurnResult | undefined> {
    return await new Promise<TurnResult | undefined>((resolve) => {
      this.#queueTurn({ audio: Buffer.alloc(0), transcribe: async () => ({ text: '', isFinal: true }), attachments: [], speechEndedAt: this.#o.clock.now(), assistantFirst: first }, undefined, undefined, resolve)
    })
  }

  #quietIfIdle (): void {
    if (!this.busy && !this.#capturing) this.#idle?.quiet()
  }

  #queueTurn (input: TurnInput, current = (): boolean => true, carry?: CarryOver, done?: (result: TurnResult | undefined) => void): void {
    this.#idle?.busy()
    this.#enqueue(async () => {
      if (!current()) {
        done?.(undefined)
        return
      }
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
        ...(this.#o.agent !== undefined ? { agent: this.#o.agent } : {}),
        ...(this.#o.background !== undefined && this.#trackOutput?.setBackground !== undefined ? { background: this.#o.background } : {}),
        ...(this.#o.onQuestion !== undefined ? { onQuestion: this.#o.onQuestion } : {})
      }, input)
      // The earlier words joined this turn: their own user message gives way to the joined one.
      const carried = carry?.turn.userMessage
      if (carried !== undefined) this.#o.history.removeLast(carried)
      this.#turn = turn
      this.#applyOnsetControl()
      let result: TurnResult | undefined
      try {
        result = await turn.run()
        publishTurnEnd(result, input.speechEndedAt, this.#o.providers)
        this.#o.onTurnEnd?.(result)
      } catch (err) {
        this.#o.log.error({ err }, 'turn crashed')
      } finally {
        if (this.#turn === turn) this.#turn = undefined
        this.#applyOnsetControl()
        this.#afterTurn()
        done?.(result)
      }
    }, () => { done?.(undefined) })
  }

  #applyOnsetControl (): void {
    const interruption = this.#settings.interruption
    const pausing = this.#turn !== undefined && interruption.mode === 'pause'
    this.#onset?.setOnsetThreshold(pausing ? interruption.onsetThreshold : undefined)
    this.#onset?.setLoudnessOnset(pausing && interruption.loudnessOnset ? this.#loudness : undefined)
  }

  /** The microphone got loud over the playing answer: pause it now, before the VAD can tell whether it is speech. */
  #loudnessOnset (): void {
    const turn = this.#turn
    if (turn === undefined || !turn.speaking || turn.signal.aborted || this.#capturing) return
    this.#loudnessPaused = true
    this.#pauseAnswer()
  }

  /** The VAD heard no speech in that loudness, and it ended (LoudnessListener.lapsed): the answer plays on from where it paused. */
  #loudnessLapsed (): void {
    if (!this.#loudnessPaused) return
    this.#loudnessPaused = false
    if (!this.#capturing) this.#resumeAnswer()
  }

  /** A turn settled: a candidate interruption of it is the user's own turn now. */
  #afterTurn (): void {
    if (this.#loudnessPaused) {
      this.#loudnessPaused = false
      this.#endOrphanPause()
    }
    this.#pausedNotified = false
    if (this.#judge.pending && this.#turn === undefined) {
      this.#judge.drop()
      this.#heldTranscription = undefined
      if (this.#capturing && !this.#ignoring && !this.#announced) {
        this.#announce()
        if (this.#interim !== '') this.#o.send({ type: 'transcript', text: this.#interim, isFinal: false })
      }
    }
    this.#ignoring = false
    if (this.#pending <= 1) this.#quietIfIdleAfter()
  }

  #quietIfIdleAfter (): void {
    // #pending still counts the task that is finishing.
    if (!this.#capturing) this.#idle?.quiet()
  }

  /** Chains `task` after the turns and tasks before it; skipped once the pipeline closed. */
  #enqueue (task: () => Promise<void>, skipped?: () => void): void {
    const previous = this.#turns
    this.#pending++
    this.#turns = (async () => {
      try {
        await previous
        if (this.#lifetime.signal.aborted) {
          skipped?.()
          return
        }
        await task()
      } catch (err) {
        this.#o.log.error({ err }, 'scheduled task failed')
      } finally {
        this.#pending--
      }
    })()
  }
}

/** The words of a turn cut off before it answered, joined to the next turn's. */
interface CarryOver {
  text: Promise<string>
  /** The turn cut off: its user message in the history, if it got that far, gives way to the joined one. */
  turn: Turn
}
