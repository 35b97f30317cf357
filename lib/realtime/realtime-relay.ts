import type { AudioFrame } from '../audio/audio-frame.js'
import type { Clock } from '../clock.js'
import { clientErrorOf, LLMRTC_ERR_REALTIME_BUDGET } from '../errors.js'
import type { Logger } from '../logger.js'
import type { PayloadServerMessage } from '../protocol/server-messages.js'
import type { ChatMessage } from '../providers/types.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import type { ToolExecutor } from '../tools/tool-executor.js'
import type { ToolRegistry } from '../tools/tool-registry.js'
import type { AudioOutput } from '../transport/media-transport.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import { LocalTurnDetection, type CreateSpeechDetector } from './local-turn-detection.js'
import { MicrophoneBridge } from './microphone-bridge.js'
import type { RealtimePlaybook } from './playbook-bridge.js'
import { RelayAnswers, type RelayAnswer } from './relay-answers.js'
import { RelayHooks } from './relay-hooks.js'
import { PlaybackPosition } from './playback-position.js'
import { SessionBudget, type BudgetBreach } from './session-budget.js'
import { RealtimeToolBridge } from './tool-bridge.js'
import type { RealtimeBudget, RealtimeEvent, RealtimeProviderSession, RealtimeUsage } from './types.js'

/** Why a relay cannot go on. */
export type RelayEndReason = 'budget' | 'failed'

export interface RealtimeRelayOptions {
  session: RealtimeProviderSession
  sessionId: string
  /** Sends a message to the session's client (WebSocket and data channel). */
  send: (message: PayloadServerMessage) => void
  tools: ToolRegistry
  executor: ToolExecutor
  /** The session's data (tools see it). */
  data: Record<string, unknown>
  /** Final transcripts of both sides are mirrored here (for the Redis store, and a pipeline fallback). */
  history?: ConversationHistory
  /** A message was mirrored into `history` (the plugin saves the session, as the pipeline does after a turn). */
  onHistory?: () => void
  budget?: RealtimeBudget
  clock: Clock
  log: Logger
  /** The relay stopped itself: `'budget'` (`BUDGET_EXCEEDED` was sent) or `'failed'` (the provider session ended). */
  onEnd: (reason: RelayEndReason, error: Error) => void
  /** Each response's token usage (metrics). */
  onUsage?: (usage: RealtimeUsage) => void
  /** The session's playbook (lib/realtime/playbook-bridge.ts): stage changes update the provider session. */
  playbook?: RealtimePlaybook
  /** Our VAD as the turn detector (`turnDetection: { type: 'llmrtc' }`, the provider's is off): makes its detector. */
  createDetector?: CreateSpeechDetector
  /** The session hooks that make sense in relay mode (lib/realtime/relay-hooks.ts). */
  hooks?: HookRegistry
  /** Each answer once it played out or was cut, with its text and times (the recording's transcript). */
  onAnswer?: (answer: RelayAnswer) => void
}

/**
 * One session in speech-to-speech relay mode: microphone → provider, provider audio → the paced output,
 * provider events → protocol messages. Event handling is synchronous and never waits on playback or
 * tools: audio is queued, tools run beside it, and barge-in cuts the output at once.
 */
export class RealtimeRelay {
  readonly #o: RealtimeRelayOptions
  readonly #mic: MicrophoneBridge
  readonly #position = new PlaybackPosition()
  readonly #budget: SessionBudget
  readonly #tools: RealtimeToolBridge
  readonly #hooks: RelayHooks
  readonly #turns: LocalTurnDetection | undefined
  readonly #answers: RelayAnswers | undefined
  /** The user's last final transcript, and when the active response started (playbook and hooks). */
  #userText: string | undefined
  #responseStartedAt = 0
  #output: AudioOutput | undefined
  /** The response whose audio is played; deltas of any other (cancelled) one are dropped. */
  #activeResponseId: string | undefined
  #speakingResponseId: string | undefined
  /** Bumped by each cut, so a `tts-complete` waiting on a drain from before it is not sent. */
  #epoch = 0
  #closed = false

  constructor (options: RealtimeRelayOptions) {
    this.#o = options
    this.#mic = new MicrophoneBridge(options.session.inputRateHz)
    this.#budget = new SessionBudget(options.budget ?? {}, options.clock, (breach) => { this.#exceeded(breach) })
    this.#hooks = new RelayHooks(options.hooks, options.sessionId, options.clock, options.log)
    this.#answers = options.onAnswer === undefined ? undefined : new RelayAnswers(options.clock, options.onAnswer)
    const playbook = options.playbook
    this.#tools = new RealtimeToolBridge({
      ...options,
      isClosed: () => this.#closed,
      hooks: this.#hooks,
      ...(playbook !== undefined ? { lookup: (name, callId) => playbook.lookup(name, callId), afterCall: async (outcome) => { await playbook.afterToolCall(outcome) } } : {})
    })
    playbook?.bind({ update: (change) => { this.#o.session.update(change) }, send: options.send, ...(options.history !== undefined ? { history: options.history } : {}) })
    this.#turns = options.createDetector === undefined ? undefined : this.#localTurns(options.createDetector)
    options.session.onEvent((event) => {
      if (this.#closed) return
      try {
        this.#handle(event)
      } catch (err) {
        options.log.warn({ err, event: event.type }, 'realtime event handling failed')
      }
    })
  }

  /** Tokens used so far. */
  get tokens (): number { return this.#budget.tokens }

  /** Where the model's speech plays (the session's WebRTC track), or undefined while there is none. */
  setOutput (output: AudioOutput | undefined): void {
    this.#output = output
  }

  /** A microphone frame from the transport. */
  pushAudio (frame: AudioFrame): void {
    if (this.#closed) return
    if (this.#turns !== undefined) { this.#turns.push(frame); return }
    const pcm = this.#mic.convert(frame)
    if (pcm.length > 0) this.#o.session.appendAudio(pcm)
  }

  /** A typed user message: added to the conversation, and answered. */
  sendText (text: string): void {
    if (this.#closed) return
    this.#mirror({ role: 'user', content: text })
    this.#o.session.sendText(text)
    this.#o.session.createResponse()
  }

  /** Stops the relay and closes the provider session (idempotent). Queued speech is dropped. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#budget.close()
    this.#tools.cancelAll()
    this.#turns?.close()
    this.#o.playbook?.close()
    if (this.#output !== undefined) this.#position.cut(this.#output)
    this.#o.session.close()
  }

  #handle (event: RealtimeEvent): void {
    const o = this.#o
    switch (event.type) {
      case 'speech-started':
        // An answer will follow: a track stopped while idle starts again now (docs/pipeline.md, playout).
        this.#output?.wake?.()
        this.#bargeIn()
        o.send({ type: 'speech-start' })
        this.#hooks.speechStarted()
        break
      case 'speech-stopped':
        o.send({ type: 'speech-end' })
        this.#hooks.speechEnded(event.durationMs)
        this.#answers?.speechEnded()
        break
      case 'user-transcript':
        if (event.isFinal && event.text.trim() !== '') {
          this.#mirror({ role: 'user', content: event.text })
          this.#userText = event.text
          this.#hooks.userTranscript(event.text)
        }
        if (event.isFinal) o.send({ type: 'transcript', text: event.text, isFinal: true })
        break
      case 'response-started':
        this.#activeResponseId = event.responseId
        this.#responseStartedAt = o.clock.now()
        break
      case 'audio':
        this.#audio(event)
        break
      case 'assistant-transcript':
        if (event.responseId !== this.#activeResponseId) return
        this.#answers?.transcript(event.responseId, event.text, event.isFinal)
        if (event.isFinal && event.text.trim() !== '') {
          this.#mirror({ role: 'assistant', content: event.text })
          this.#hooks.answer(event.responseId, event.text, this.#responseStartedAt)
          void o.playbook?.afterAnswer({ ...(this.#userText !== undefined ? { userText: this.#userText } : {}), assistantText: event.text })
        }
        o.send({ type: 'assistant-transcript', text: event.text, isFinal: event.isFinal })
        break
      case 'tool-call':
        this.#tools.call(event)
        break
      case 'response-done':
        this.#responseDone(event)
        break
      case 'provider-error':
        o.log.warn({ code: event.code }, 'the realtime provider reported an error')
        this.#hooks.error(new Error(event.message), 'realtime', { code: 'REALTIME_ERROR', ...(event.code !== undefined ? { details: { providerCode: event.code } } : {}) })
        break
      case 'closed':
        this.#hooks.error(event.error, 'realtime')
        this.close()
        o.onEnd('failed', event.error)
        break
    }
  }

  /** Adds a final text of either side to the mirrored history, and says so (the session store is written). */
  #mirror (message: ChatMessage): void {
    if (this.#o.history === undefined) return
    this.#o.history.add(message)
    this.#o.onHistory?.()
  }

  #audio (event: Extract<RealtimeEvent, { type: 'audio' }>): void {
    if (event.responseId !== this.#activeResponseId || this.#output === undefined) return
    if (this.#speakingResponseId !== event.responseId) {
      this.#speakingResponseId = event.responseId
      this.#o.send({ type: 'tts-start' })
      this.#answers?.started(event.responseId)
    }
    this.#position.write(this.#output, event.pcm, this.#o.session.outputRateHz, event.itemId, event.contentIndex)
  }

  #responseDone (event: Extract<RealtimeEvent, { type: 'response-done' }>): void {
    const o = this.#o
    if (this.#activeResponseId === event.responseId) this.#activeResponseId = undefined
    this.#tools.responseDone(event.responseId, event.status)
    if (this.#speakingResponseId === event.responseId) {
      this.#speakingResponseId = undefined
      // tts-complete means "finished speaking": it waits for the queue to play out, unless a cut came first.
      const epoch = this.#epoch
      void this.#output?.drain().then(() => {
        if (this.#closed || this.#epoch !== epoch) return
        o.send({ type: 'tts-complete' })
        this.#answers?.played(event.responseId)
      })
    }
    if (event.usage !== undefined) {
      o.send({ type: 'usage', ...event.usage })
      o.onUsage?.(event.usage)
      this.#budget.addTokens(event.usage.inputTokens + event.usage.outputTokens)
    }
  }

  /** The user started speaking: the model's speech stops now and its item keeps only what was heard. */
  #bargeIn (): void {
    const output = this.#output
    if (output === undefined || !output.playing) return
    this.#epoch++
    const played = this.#position.cut(output)
    this.#answers?.cut(played?.audioEndMs ?? 0, played?.droppedMs ?? 0)
    // Deltas still in flight for the interrupted response are dropped (the provider cancels it).
    this.#activeResponseId = undefined
    this.#speakingResponseId = undefined
    if (played !== undefined) {
      this.#o.session.truncate(played.itemId, played.contentIndex, played.audioEndMs)
      this.#o.log.debug({ itemId: played.itemId, audioEndMs: played.audioEndMs, droppedMs: played.droppedMs }, 'barge-in: model item truncated')
    }
    this.#o.send({ type: 'tts-cancelled' })
  }

  /** Our VAD listens to the microphone: only utterances reach the provider, and the relay takes the turns. */
  #localTurns (createDetector: CreateSpeechDetector): LocalTurnDetection {
    const o = this.#o
    return new LocalTurnDetection({
      createDetector,
      inputRateHz: o.session.inputRateHz,
      append: (pcm) => { if (!this.#closed) o.session.appendAudio(pcm) },
      onSpeechStart: () => {
        if (this.#closed) return
        // The model is still generating: it stops (the provider's own detection would have done it).
        if (this.#activeResponseId !== undefined) o.session.cancelResponse()
        this.#handle({ type: 'speech-started' })
      },
      onSpeechEnd: (durationMs) => {
        if (this.#closed) return
        this.#handle({ type: 'speech-stopped', durationMs })
        o.session.commitInput()
      },
      onError: (err) => {
        o.log.warn({ err }, 'speech detection failed')
        o.send(clientErrorOf(err))
        this.#hooks.error(err, 'vad')
      }
    })
  }

  #exceeded (breach: BudgetBreach): void {
    const o = this.#o
    if (this.#closed) return
    if (this.#budget.action === 'warn') {
      o.log.warn({ budget: breach.what, limit: breach.limit }, 'realtime budget exceeded: going on (onExceeded: warn)')
      return
    }
    o.log.warn({ budget: breach.what, limit: breach.limit }, 'realtime budget exceeded: ending the session')
    const wasPlaying = this.#output?.playing === true
    this.close()
    if (wasPlaying) o.send({ type: 'tts-cancelled' })
    const error = new LLMRTC_ERR_REALTIME_BUDGET(breach.what, breach.limit)
    o.send({ type: 'error', code: 'BUDGET_EXCEEDED', message: error.message })
    o.onEnd('budget', error)
  }
}
