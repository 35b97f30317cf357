import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { SESSION_TRANSPORTS, type SessionTransport } from '../sessions/session.js'
import { subscribeChannel, type LLMRTCChannelEvents, type LLMRTCChannelName, type TurnEndEvent } from './channels.js'

export interface PrometheusMetricsOptions {
  /** Sessions held now by transport (read at each scrape; a transport not listed has 0). */
  activeSessions: () => Partial<Record<SessionTransport, number>>
  /** The transport of a session, for the `transport` label of turns (default `websocket`). */
  transportOf?: (sessionId: string) => SessionTransport | undefined
  /** Open client connections now (read at each scrape). */
  activeConnections: () => number
  /** Whether an event of this session is counted here (default: every session of the process). */
  owns?: (sessionId: string) => boolean
  /** Also collect prom-client's default Node.js metrics, prefixed `llmrtc_` (default false). */
  defaultMetrics?: boolean
  /** A listener failed (it never throws into the publisher). */
  onListenerError?: (error: unknown) => void
}

const TURN_OUTCOMES = ['completed', 'empty', 'cancelled', 'failed', 'blocked'] as const
const CALL_OUTCOMES = ['completed', 'dropped', 'no-stream', 'ended'] as const
/** Seconds: a voice stage is tens of ms to a few seconds; past 10 s it has timed out in all but name. */
const STAGE_BUCKETS = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10]
const TURN_BUCKETS = [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120]
/** One Silero batch is ~0.2 ms (one window) to a few ms (32 windows). */
const VAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1]
const TOOL_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Label of calls to a tool that does not exist: the model names them, so they would be unbounded. */
const UNKNOWN_TOOL = '(unknown)'

/**
 * llmrtc's Prometheus metrics in their own registry (never prom-client's global one, so two apps in a
 * process do not clash), fed by the diagnostics channels. Sessions' events are counted when `owns` says
 * so; VAD batches are the process's (the model is shared). `close()` unsubscribes.
 */
export class PrometheusMetrics {
  readonly registry = new Registry()
  readonly #options: PrometheusMetricsOptions
  readonly #unsubscribe: Array<() => void> = []
  readonly #turns: Counter<'outcome' | 'transport'>
  readonly #calls: Counter<'carrier' | 'outcome'>
  readonly #callsActive: Gauge<'carrier'>
  /** The sessions of this app's calls in progress: a call's end is counted here iff its start was. */
  readonly #callSessions = new Set<string>()
  /** Read at each scrape (their `collect`); held so they are plainly owned by this object. */
  readonly #gauges: Gauge[]
  readonly #stt: Histogram
  readonly #llm: Histogram
  readonly #tts: Histogram
  readonly #voiceToVoice: Histogram<'transport'>
  readonly #turnDuration: Histogram<'outcome' | 'transport'>
  readonly #errors: Counter<'code' | 'component'>
  readonly #bargeIns: Counter<'during'>
  readonly #vadInference: Histogram
  readonly #vadWindows: Counter
  readonly #toolCalls: Counter<'name' | 'outcome'>
  readonly #toolDuration: Histogram<'name'>
  readonly #stageTransitions: Counter<'from' | 'to'>
  readonly #speculations: Counter<'outcome'>
  readonly #realtimeTokens: Counter<'model' | 'kind'>

  constructor (options: PrometheusMetricsOptions) {
    this.#options = options
    const registers = [this.registry]
    this.#gauges = [
      new Gauge({
        name: 'llmrtc_active_sessions',
        help: 'Sessions held: connected, or waiting for a reconnect, by transport.',
        labelNames: ['transport'],
        registers,
        collect () {
          const active = options.activeSessions()
          for (const transport of SESSION_TRANSPORTS) this.set({ transport }, active[transport] ?? 0)
        }
      }),
      new Gauge({ name: 'llmrtc_active_connections', help: 'Open client connections (signaling WebSockets).', registers, collect () { this.set(options.activeConnections()) } })
    ]
    this.#turns = new Counter({ name: 'llmrtc_turns_total', help: 'Turns ended, by outcome and transport.', labelNames: ['outcome', 'transport'], registers })
    this.#stt = new Histogram({ name: 'llmrtc_stt_latency_seconds', help: 'From the end of speech to the final transcript.', buckets: STAGE_BUCKETS, registers })
    this.#llm = new Histogram({ name: 'llmrtc_llm_first_token_seconds', help: 'From the final transcript to the first token of the answer.', buckets: STAGE_BUCKETS, registers })
    this.#tts = new Histogram({ name: 'llmrtc_tts_first_audio_seconds', help: 'From the first token of the answer to its first synthesized audio.', buckets: STAGE_BUCKETS, registers })
    this.#voiceToVoice = new Histogram({ name: 'llmrtc_voice_to_voice_seconds', help: 'From the end of speech to the first audio of the answer handed to the output, by transport.', labelNames: ['transport'], buckets: STAGE_BUCKETS, registers })
    this.#turnDuration = new Histogram({ name: 'llmrtc_turn_duration_seconds', help: 'From the end of speech to the end of the turn (playout included), by outcome and transport.', labelNames: ['outcome', 'transport'], buckets: TURN_BUCKETS, registers })
    this.#calls = new Counter({ name: 'llmrtc_calls_total', help: 'Phone calls ended, by carrier and outcome (completed, dropped, no-stream, ended).', labelNames: ['carrier', 'outcome'], registers })
    this.#callsActive = new Gauge({ name: 'llmrtc_calls_active', help: 'Phone calls in progress (answered, not ended), by carrier.', labelNames: ['carrier'], registers })
    this.#errors = new Counter({ name: 'llmrtc_errors_total', help: 'Errors reported to onError or answered to a bad client message, by protocol code and component.', labelNames: ['code', 'component'], registers })
    this.#bargeIns = new Counter({ name: 'llmrtc_barge_ins_total', help: 'Turns interrupted by the user, by what the assistant was doing.', labelNames: ['during'], registers })
    this.#vadInference = new Histogram({ name: 'llmrtc_vad_inference_seconds', help: 'Duration of one inference run (batch) of the shared VAD model; process-wide.', buckets: VAD_BUCKETS, registers })
    this.#vadWindows = new Counter({ name: 'llmrtc_vad_windows_total', help: 'Windows (32 ms) scored by the shared VAD model; process-wide.', registers })
    this.#toolCalls = new Counter({ name: 'llmrtc_tool_calls_total', help: 'Tool calls, by tool and outcome.', labelNames: ['name', 'outcome'], registers })
    this.#toolDuration = new Histogram({ name: 'llmrtc_tool_duration_seconds', help: 'Duration of tool calls, by tool.', labelNames: ['name'], buckets: TOOL_BUCKETS, registers })
    this.#stageTransitions = new Counter({ name: 'llmrtc_stage_transitions_total', help: 'Playbook stage changes, by stage left and stage entered.', labelNames: ['from', 'to'], registers })
    this.#speculations = new Counter({ name: 'llmrtc_preemptive_generations_total', help: 'LLM answers started during a pause of the user (started), then played (used) or thrown away (wasted).', labelNames: ['outcome'], registers })
    this.#realtimeTokens = new Counter({ name: 'llmrtc_realtime_tokens_total', help: 'Relay mode: tokens used by the realtime model, by model and kind (input, output, audio_input, audio_output, cached; audio and cached are parts of input/output).', labelNames: ['model', 'kind'], registers })
    // Known label values start at 0, so a rate() sees the first one.
    for (const outcome of ['started', 'used', 'wasted']) this.#speculations.inc({ outcome }, 0)
    for (const transport of SESSION_TRANSPORTS) for (const outcome of TURN_OUTCOMES) this.#turns.inc({ outcome, transport }, 0)
    this.#bargeIns.inc({ during: 'speaking' }, 0)
    this.#bargeIns.inc({ during: 'thinking' }, 0)
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'llmrtc_' })

    this.#on('llmrtc:turn:end', (event) => { if (this.#owns(event.sessionId)) this.#turnEnded(event) })
    this.#on('llmrtc:barge-in', (event) => {
      if (this.#owns(event.sessionId)) this.#bargeIns.inc({ during: event.speaking ? 'speaking' : 'thinking' })
    })
    this.#on('llmrtc:error', (event) => {
      // An error outside any session (a hook that failed) cannot be told apart: every app counts it.
      if (event.sessionId === undefined || this.#owns(event.sessionId)) this.#errors.inc({ code: event.code, component: event.component })
    })
    this.#on('llmrtc:vad:batch', (event) => {
      this.#vadInference.observe(event.durationMs / 1000)
      this.#vadWindows.inc(event.windows)
    })
    this.#on('llmrtc:tool:end', (event) => {
      if (!this.#owns(event.sessionId)) return
      const name = event.errorCode === 'LLMRTC_ERR_TOOL_UNKNOWN' ? UNKNOWN_TOOL : event.name
      this.#toolCalls.inc({ name, outcome: event.outcome })
      if (event.outcome !== 'cancelled') observeMs(this.#toolDuration.labels({ name }), event.durationMs)
    })
    this.#on('llmrtc:speculation', (event) => {
      if (this.#owns(event.sessionId)) this.#speculations.inc({ outcome: event.outcome })
    })
    this.#on('llmrtc:realtime:usage', (event) => {
      if (!this.#owns(event.sessionId)) return
      const model = event.model
      this.#realtimeTokens.inc({ model, kind: 'input' }, event.inputTokens)
      this.#realtimeTokens.inc({ model, kind: 'output' }, event.outputTokens)
      if (event.audioInputTokens !== undefined) this.#realtimeTokens.inc({ model, kind: 'audio_input' }, event.audioInputTokens)
      if (event.audioOutputTokens !== undefined) this.#realtimeTokens.inc({ model, kind: 'audio_output' }, event.audioOutputTokens)
      if (event.cachedTokens !== undefined) this.#realtimeTokens.inc({ model, kind: 'cached' }, event.cachedTokens)
    })
    this.#on('llmrtc:call:start', (event) => {
      if (!this.#owns(event.sessionId)) return
      this.#callSessions.add(event.sessionId)
      // The carrier's outcomes start at 0 with its first call, so a rate() sees the first one.
      for (const outcome of CALL_OUTCOMES) this.#calls.inc({ carrier: event.carrier, outcome }, 0)
      this.#callsActive.inc({ carrier: event.carrier })
    })
    this.#on('llmrtc:call:end', (event) => {
      if (!this.#callSessions.delete(event.sessionId)) return
      this.#calls.inc({ carrier: event.carrier, outcome: event.outcome })
      this.#callsActive.dec({ carrier: event.carrier })
    })
    this.#on('llmrtc:stage:change', (event) => {
      if (this.#owns(event.sessionId)) this.#stageTransitions.inc({ from: event.from, to: event.to })
    })
  }

  /** The exposition text and its content type, for a scrape. */
  async scrape (): Promise<{ contentType: string, body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  /** Stops counting (idempotent). The registry keeps what it has. */
  close (): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
  }

  #turnEnded (event: TurnEndEvent): void {
    const { transcriptMs, firstTokenMs, firstAudioMs, firstAudioOutMs, totalMs } = event.timings
    const transport = this.#options.transportOf?.(event.sessionId) ?? 'websocket'
    this.#turns.inc({ outcome: event.outcome, transport })
    observeMs(this.#stt, transcriptMs)
    if (firstTokenMs !== undefined && transcriptMs !== undefined) observeMs(this.#llm, firstTokenMs - transcriptMs)
    if (firstAudioMs !== undefined && firstTokenMs !== undefined) observeMs(this.#tts, firstAudioMs - firstTokenMs)
    observeMs(this.#voiceToVoice.labels({ transport }), firstAudioOutMs)
    observeMs(this.#turnDuration.labels({ outcome: event.outcome, transport }), totalMs)
  }

  #owns (sessionId: string): boolean {
    return this.#options.owns === undefined || this.#options.owns(sessionId)
  }

  #on<N extends LLMRTCChannelName> (name: N, listener: (event: LLMRTCChannelEvents[N]) => void): void {
    this.#unsubscribe.push(subscribeChannel(name, (event) => {
      // A throw here would surface as an uncaught exception (diagnostics_channel's rule).
      try {
        listener(event)
      } catch (error) {
        this.#options.onListenerError?.(error)
      }
    }))
  }
}

function observeMs (histogram: { observe: (value: number) => void }, ms: number | undefined): void {
  if (ms !== undefined && Number.isFinite(ms) && ms >= 0) histogram.observe(ms / 1000)
}
