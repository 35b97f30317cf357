import { SpanStatusCode, context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api'
import { subscribeChannel, type BargeInEvent, type TurnEndEvent } from './channels.js'

export interface TurnTracingOptions {
  /** Whether a session's turns are traced here (default: every session of the process). */
  owns?: (sessionId: string) => boolean
  /** Default: `trace.getTracer('llmrtc')` at each turn, so an SDK registered later is picked up. */
  tracer?: Tracer
  /** A listener failed (it never throws into the publisher). */
  onListenerError?: (error: unknown) => void
}

/** What arrives about a turn before it ends (kept until its end; bounded). */
interface TurnNotes {
  errorCode?: string
  bargeIn?: BargeInEvent
}

const MAX_PENDING_TURNS = 1000

/**
 * OpenTelemetry spans for turns, built from the diagnostics channels with `@opentelemetry/api` only:
 * with no SDK registered they are no-ops. Each turn becomes a trace: a root span `llmrtc.turn` from the end of speech
 * to the end of the turn, recorded when the turn ends (with its real start and end times), with a child
 * span per stage it reached on the way to the first audio: `llmrtc.stt` (end of speech → final
 * transcript), `llmrtc.llm` (→ first token) and `llmrtc.tts` (→ first synthesized audio). Attributes are
 * ids, provider names, outcome and timings, never text. Returns the function that stops tracing.
 */
export function traceTurns (options: TurnTracingOptions = {}): () => void {
  const owns = options.owns ?? (() => true)
  const notes = new Map<string, TurnNotes>()
  const noteFor = (turnId: string): TurnNotes => {
    let note = notes.get(turnId)
    if (note === undefined) {
      // A turn that crashed never ends: drop the oldest notes rather than grow.
      if (notes.size >= MAX_PENDING_TURNS) notes.delete(notes.keys().next().value as string)
      notes.set(turnId, note = {})
    }
    return note
  }
  const guard = <E>(listener: (event: E) => void) => (event: E): void => {
    try {
      listener(event)
    } catch (error) {
      options.onListenerError?.(error)
    }
  }
  const unsubscribe = [
    subscribeChannel('llmrtc:error', guard((event) => {
      if (event.turnId !== undefined && event.sessionId !== undefined && owns(event.sessionId)) noteFor(event.turnId).errorCode ??= event.code
    })),
    subscribeChannel('llmrtc:barge-in', guard((event) => {
      if (owns(event.sessionId)) noteFor(event.turnId).bargeIn = event
    })),
    subscribeChannel('llmrtc:turn:end', guard((event) => {
      const note = notes.get(event.turnId)
      notes.delete(event.turnId)
      if (owns(event.sessionId)) recordTurn(options.tracer ?? trace.getTracer('llmrtc'), event, note)
    }))
  ]
  return () => {
    for (const stop of unsubscribe.splice(0)) stop()
    notes.clear()
  }
}

function recordTurn (tracer: Tracer, event: TurnEndEvent, note: TurnNotes | undefined): void {
  const { timings, providers, speechEndedAt } = event
  const attributes: Attributes = {
    'llmrtc.session.id': event.sessionId,
    'llmrtc.turn.id': event.turnId,
    'llmrtc.turn.outcome': event.outcome,
    'llmrtc.stt.provider': providers.stt,
    'llmrtc.llm.provider': providers.llm,
    'llmrtc.tts.provider': providers.tts,
    'llmrtc.turn.queued_ms': event.startedAt - speechEndedAt
  }
  for (const [name, key] of TIMING_ATTRIBUTES) {
    const value = timings[name]
    if (value !== undefined) attributes[key] = value
  }
  // A root span: whatever context is active when the turn ends (a long-gone request's) is not its parent.
  const root = tracer.startSpan('llmrtc.turn', { root: true, startTime: speechEndedAt, attributes })
  if (root.isRecording()) {
    const parent = trace.setSpan(context.active(), root)
    const stage = (name: string, provider: string, fromMs: number | undefined, toMs: number | undefined): void => {
      if (fromMs === undefined || toMs === undefined || toMs < fromMs) return
      const span: Span = tracer.startSpan(name, { startTime: speechEndedAt + fromMs, attributes: { 'llmrtc.provider': provider, 'llmrtc.turn.id': event.turnId } }, parent)
      span.end(speechEndedAt + toMs)
    }
    stage('llmrtc.stt', providers.stt, 0, timings.transcriptMs)
    stage('llmrtc.llm', providers.llm, timings.transcriptMs, timings.firstTokenMs)
    stage('llmrtc.tts', providers.tts, timings.firstTokenMs, timings.firstAudioMs)
    if (timings.firstAudioOutMs !== undefined) root.addEvent('llmrtc.first_audio_out', speechEndedAt + timings.firstAudioOutMs)
    if (note?.bargeIn !== undefined) root.addEvent('llmrtc.barge_in', { 'llmrtc.barge_in.speaking': note.bargeIn.speaking }, note.bargeIn.at)
    if (event.outcome === 'failed') {
      const code = note?.errorCode ?? 'INTERNAL_ERROR'
      root.setAttribute('error.type', code)
      root.setStatus({ code: SpanStatusCode.ERROR, message: code })
    }
  }
  root.end(event.endedAt)
}

const TIMING_ATTRIBUTES: ReadonlyArray<[keyof TurnEndEvent['timings'], string]> = [
  ['transcriptMs', 'llmrtc.latency.transcript_ms'],
  ['firstTokenMs', 'llmrtc.latency.first_token_ms'],
  ['firstAudioMs', 'llmrtc.latency.first_audio_ms'],
  ['firstAudioOutMs', 'llmrtc.latency.voice_to_voice_ms'],
  ['totalMs', 'llmrtc.latency.total_ms']
]
