import type { SessionTranscript, TranscriptAssistantTurn, TranscriptLatency, TranscriptRecordingInfo, TranscriptStageChange, TranscriptToolCall, TranscriptTurn, TranscriptUserTurn, TranscriptWord } from './transcript-types.js'

/** Rewrites a tool call before it is kept (arguments, result, error): return null to leave it out. */
export type RedactToolCall = (call: TranscriptToolCall) => TranscriptToolCall | null | Promise<TranscriptToolCall | null>

/** How a turn ended, as the pipeline reports it (`llmrtc:turn:end`). */
export interface TurnEndInfo {
  turnId: string
  outcome: 'completed' | 'empty' | 'cancelled' | 'failed' | 'blocked'
  speechEndedAt: number
  startedAt: number
  endedAt: number
  timings: TranscriptLatency
}

export interface TranscriptBuilderOptions {
  sessionId: string
  startedAt: number
  redactToolCall?: RedactToolCall
  /** A `redactToolCall` that threw: the call is left out and this is told. */
  onRedactError?: (error: unknown) => void
}

interface OpenTurn {
  spoken: string[]
  bargeInAt?: number
}

interface OpenCall {
  turnId: string
  name: string
  arguments: unknown
}

/**
 * Builds one session's transcript from the pipeline's events as they happen (hooks and channels): user
 * utterances, the assistant's answers with what was heard of a cut one, tool calls (redacted as they end),
 * stage changes and per-turn latencies. Holds text only; `build()` gives the JSON document.
 */
export class TranscriptBuilder {
  readonly #o: TranscriptBuilderOptions
  readonly #turns: TranscriptTurn[] = []
  readonly #calls: Array<Promise<TranscriptToolCall | null>> = []
  readonly #stages: TranscriptStageChange[] = []
  readonly #open = new Map<string, OpenTurn>()
  readonly #openCalls = new Map<string, OpenCall>()
  /** Speech onsets not yet part of a user turn. */
  #onsets: number[] = []
  #lastSpeechEnd: number | undefined
  /** When the last utterance's audio began (the STT's words count from there). */
  #utteranceStart: number | undefined
  #currentTurn: string | undefined

  constructor (options: TranscriptBuilderOptions) {
    this.#o = options
  }

  /** Turns recorded so far (user and assistant). */
  get turnCount (): number { return this.#turns.length }

  speechStarted (at: number): void {
    this.#onsets.push(at)
  }

  /** Speech ended at `at`, after `durationMs` of it (its onset may have been reported late, or not at all, during an answer). */
  speechEnded (at: number, durationMs = 0): void {
    this.#lastSpeechEnd = at
    this.#utteranceStart = durationMs > 0 ? at - durationMs : undefined
    if (durationMs > 0) this.#onsets.push(at - durationMs)
  }

  turnStarted (turnId: string): void {
    this.#currentTurn = turnId
    if (!this.#open.has(turnId)) this.#open.set(turnId, { spoken: [] })
  }

  /** The user's words for `turnId` (the final transcript), with the STT's word timings (ms from the utterance's audio). */
  userSaid (turnId: string, text: string, at: number, words?: readonly TranscriptWord[]): void {
    const utteranceStart = this.#utteranceStart
    this.#utteranceStart = undefined
    if (text === '') return
    const endedAt = this.#lastSpeechEnd ?? at
    // Words spoken across several onsets (a pause, joined turns) count from the first.
    const startedAt = Math.min(endedAt, ...this.#onsets.filter(onset => onset <= endedAt))
    this.#onsets = this.#onsets.filter(onset => onset > endedAt)
    const turn: TranscriptUserTurn = { speaker: 'user', turnId, text, startedAt, endedAt }
    // The words count from the utterance's audio; the turn may begin earlier (joined onsets).
    const shift = (utteranceStart ?? startedAt) - startedAt
    if (words !== undefined && words.length > 0) {
      turn.words = words.map(w => ({ word: w.word, startMs: w.startMs + shift, endMs: w.endMs + shift, ...(w.confidence !== undefined ? { confidence: w.confidence } : {}) }))
    }
    this.#turns.push(turn)
  }

  /** A sentence of the answer went to TTS. */
  spoke (turnId: string, text: string): void {
    this.#openTurn(turnId).spoken.push(text)
  }

  bargeIn (turnId: string, at: number): void {
    this.#openTurn(turnId).bargeInAt ??= at
  }

  toolStarted (turnId: string, callId: string, name: string, args: unknown): void {
    this.#openCalls.set(callId, { turnId, name, arguments: args })
  }

  toolEnded (callId: string, name: string, outcome: { result?: unknown, error?: string }, timing: { startTime: number, endTime: number, durationMs: number }): void {
    const open = this.#openCalls.get(callId)
    this.#openCalls.delete(callId)
    const call: TranscriptToolCall = {
      turnId: open?.turnId ?? this.#currentTurn ?? '',
      callId,
      name: open?.name ?? name,
      arguments: open?.arguments,
      ...(outcome.result !== undefined ? { result: outcome.result } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      startedAt: timing.startTime,
      endedAt: timing.endTime,
      durationMs: timing.durationMs
    }
    this.#calls.push(this.#redact(call))
  }

  /** A stage change, in the running turn (`turnId` defaults to it) or between turns. */
  stageChanged (change: { from: string, to: string, reason: string, transitionId: string }, at: number, turnId: string | undefined = this.#currentTurn): void {
    this.#stages.push({ ...(turnId !== undefined ? { turnId } : {}), from: change.from, to: change.to, reason: change.reason, transitionId: change.transitionId, at })
  }

  /** The turn ended; `heard` is what the user heard of a cut answer (undefined: all of it). */
  turnEnded (info: TurnEndInfo, heard: string | undefined): void {
    const open = this.#open.get(info.turnId)
    this.#open.delete(info.turnId)
    if (this.#currentTurn === info.turnId) this.#currentTurn = undefined
    if (open === undefined || open.spoken.length === 0 || info.outcome === 'empty') return
    const firstOut = info.timings.firstAudioOutMs
    const startedAt = firstOut !== undefined ? info.speechEndedAt + firstOut : info.startedAt
    const interrupted = info.outcome === 'cancelled'
    const endedAt = interrupted && open.bargeInAt !== undefined ? open.bargeInAt : info.endedAt
    const turn: TranscriptAssistantTurn = {
      speaker: 'assistant',
      turnId: info.turnId,
      text: open.spoken.join(' '),
      interrupted,
      ...(interrupted ? { heard: heard ?? '' } : {}),
      outcome: info.outcome,
      startedAt,
      endedAt: Math.max(startedAt, endedAt),
      latency: { ...info.timings }
    }
    this.#turns.push(turn)
  }

  /** The transcript so far, as of `endedAt`, with times relative to the recording when there is one. */
  async build (endedAt: number, recording?: TranscriptRecordingInfo): Promise<SessionTranscript> {
    const calls = (await Promise.all(this.#calls)).filter((call): call is TranscriptToolCall => call !== null)
    const offset = recording?.startedAt
    const turns = [...this.#turns].sort((a, b) => a.startedAt - b.startedAt).map(turn => offset === undefined
      ? turn
      : { ...turn, startMs: turn.startedAt - offset, endMs: turn.endedAt - offset })
    const stageChanges = this.#stages.map(stage => offset === undefined ? stage : { ...stage, atMs: stage.at - offset })
    return {
      version: 1,
      sessionId: this.#o.sessionId,
      startedAt: this.#o.startedAt,
      endedAt,
      ...(recording !== undefined ? { recording } : {}),
      turns,
      toolCalls: calls,
      stageChanges
    }
  }

  #openTurn (turnId: string): OpenTurn {
    let open = this.#open.get(turnId)
    if (open === undefined) {
      open = { spoken: [] }
      this.#open.set(turnId, open)
    }
    return open
  }

  async #redact (call: TranscriptToolCall): Promise<TranscriptToolCall | null> {
    const redact = this.#o.redactToolCall
    if (redact === undefined) return call
    try {
      return await redact(call)
    } catch (err) {
      // Leaving the call out is the safe side: what the redactor was to hide never reaches the transcript.
      this.#o.onRedactError?.(err)
      return null
    }
  }
}
