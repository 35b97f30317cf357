import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import { systemClock } from '../../lib/clock.js'
import { LLMRTC_ERR_REALTIME } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import { publishRealtimeUsage } from '../../lib/observability/channels.js'
import { realtimeOpener } from '../../lib/realtime/open-provider.js'
import { RealtimeRelay, type RelayEndReason } from '../../lib/realtime/realtime-relay.js'
import type { RelayAnswer } from '../../lib/realtime/relay-answers.js'
import { bindRelay } from '../../lib/realtime/session-mode.js'
import { RenewingSession } from '../../lib/realtime/session-renewal.js'
import type { OpenRealtimeSession, RealtimeProviderSession } from '../../lib/realtime/types.js'
import type { Session } from '../../lib/sessions/session.js'
import { ToolExecutor } from '../../lib/tools/tool-executor.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import type { SessionMedia } from '../../lib/transport/media-transport.js'
import { CLOSE_CODES } from '../signaling/close-codes.js'
import { resolveRealtimeOptions, type LLMRTCRealtimeOptions, type ResolvedRealtimeOptions } from './options.js'
import { checkLocalTurnDetection, relayAgentFor, type RelayAgent } from './relay-agent.js'

export type { LLMRTCRealtimeOptions } from './options.js'

interface RelayEntry {
  relay: RealtimeRelay
  /** The relay's provider session, renewed when it expires. */
  provider: RenewingSession
  session: Session
  /** Stops feeding the microphone to the relay (and frees its denoiser). */
  detach?: () => void
}

/** `fastify.llmrtcRealtime`: relay mode's state. */
export interface LLMRTCRealtimeDecorator {
  /** Relay mode is configured (a provider was given). */
  readonly enabled: boolean
  /** Sessions with a live relay. */
  readonly size: number
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcRealtime: LLMRTCRealtimeDecorator
  }
}

/**
 * Speech-to-speech relay mode: on each connection the realtime model's session opens at once, and `ready`
 * says which mode won (`realtime`, or `pipeline` when it failed and the pipeline can take over). The
 * session's microphone goes to the model, and its speech to the session's paced WebRTC track
 * (lib/realtime/realtime-relay.ts). Off unless `provider` (or REALTIME_PROVIDER) is set.
 */
async function llmrtcRealtime (fastify: FastifyInstance, opts: LLMRTCRealtimeOptions): Promise<void> {
  const config = fastify.llmrtcConfig
  const resolved = resolveRealtimeOptions(opts ?? {}, config.env)
  const entries = new Map<string, RelayEntry>()
  fastify.decorate('llmrtcRealtime', {
    enabled: resolved !== undefined,
    get size () { return entries.size }
  })
  if (resolved === undefined) return
  const options: ResolvedRealtimeOptions = resolved
  const clock = config.clock ?? systemClock
  const sessions = fastify.llmrtcSessions
  const signaling = fastify.llmrtcSignaling
  const log = fastify.log.child({ plugin: 'llmrtc-realtime' }) as Logger
  const tools = new ToolRegistry(options.tools ?? config.tools)
  // The MCP servers' tools (llmrtc-mcp, registered before this plugin) join the relay's, as the pipeline's.
  const mcpTools = fastify.hasDecorator('llmrtcMcp') ? fastify.llmrtcMcp.set?.serverTools : undefined
  if (mcpTools !== undefined) tools.addSource(mcpTools)
  const executor = new ToolExecutor({ timeoutMs: config.toolTimeoutMs, maxConcurrency: config.maxConcurrentTools, clock })
  const transport = fastify.hasDecorator('llmrtcTransport') ? fastify.llmrtcTransport : undefined
  // The recording plugin (registered before this one) records relay sessions too: their media through the
  // transport's taps, the user's words through the hooks, and the model's answers as they played.
  const recording = fastify.hasDecorator('llmrtcRecording') ? fastify.llmrtcRecording : undefined
  // The pipeline can take over when the relay fails: its plugin is there, and the options allow it.
  const canFallBack = (): boolean => options.fallback === 'pipeline' && fastify.hasDecorator('llmrtcPipeline')

  // Opens the configured provider's sessions (OpenAI Realtime or Gemini Live), at connect and to renew one.
  const openProvider = realtimeOpener(options)

  fastify.addHook('onReady', async function checkRelayTurnDetection () { checkLocalTurnDetection(fastify, options) })

  signaling.chooseMode(async (ctx) => {
    let provider: RealtimeProviderSession
    // The session's playbook (its current stage's instructions and tools), hooks and turn detector.
    const agent = relayAgentFor(fastify, ctx.session, options, tools, ctx.log)
    try {
      provider = await openProvider({
        ...agent.setup,
        signal: ctx.signal,
        log: ctx.log
      })
    } catch (err) {
      agent.playbook?.close()
      if (ctx.signal.aborted) throw err
      if (!canFallBack()) throw err
      ctx.log.warn({ err }, 'the realtime session could not open: this session uses the pipeline')
      return 'pipeline'
    }
    start(ctx.session, provider, ctx.log, agent)
    return 'realtime'
  })

  // Opens the replacement of an expiring provider session (and a resumed session's), with the same settings.
  const renewalOpener: OpenRealtimeSession = openProvider

  function start (session: Session, opened: RealtimeProviderSession, sessionLog: Logger, agent: RelayAgent = relayAgentFor(fastify, session, options, tools, sessionLog)): RelayEntry {
    const provider = new RenewingSession({
      initial: opened,
      open: renewalOpener,
      ...agent.setup,
      history: () => entry.session.history.messages,
      log: sessionLog
    })
    const entry: RelayEntry = {
      session,
      provider,
      relay: new RealtimeRelay({
        session: provider,
        sessionId: session.id,
        send: (message) => { entry.session.send(message) },
        tools: agent.tools,
        executor,
        data: session.data,
        history: session.history,
        // Each mirrored message is saved, so a reconnect (on any server sharing the store) finds it, even
        // after this server dies without closing.
        onHistory: () => { sessions.persist(entry.session) },
        budget: options.budget,
        clock,
        log: sessionLog,
        onEnd: (reason, error) => { relayEnded(entry, reason, error) },
        onUsage: (usage) => { publishRealtimeUsage(entry.session.id, options.model, usage) },
        ...(recording !== undefined ? { onAnswer: (answer: RelayAnswer) => { recording.relayAnswer(entry.session.id, answer) } } : {}),
        ...(agent.playbook !== undefined ? { playbook: agent.playbook } : {}),
        ...(agent.hooks !== undefined ? { hooks: agent.hooks } : {}),
        ...(agent.createDetector !== undefined ? { createDetector: agent.createDetector } : {})
      })
    }
    entries.set(session.id, entry)
    bindRelay(session, entry.relay)
    const media = transport?.media(session.id)
    if (media !== undefined) attach(entry, media)
    return entry
  }

  function attach (entry: RelayEntry, media: SessionMedia): void {
    entry.detach?.()
    entry.relay.setOutput(media.output)
    entry.detach = listenToMicrophone(entry, media)
  }

  // The microphone goes to the relay, through RNNoise with the `noiseSuppression` option (as the pipeline's
  // VAD gets it): the model and our turn detection hear denoised audio. Returns what stops it.
  function listenToMicrophone (entry: RelayEntry, media: SessionMedia): () => void {
    const controller = new AbortController()
    const suppressor = fastify.hasDecorator('llmrtcVad') ? fastify.llmrtcVad.createNoiseSuppressor(controller.signal) : undefined
    const push = (frame: AudioFrame): void => { entry.relay.pushAudio(frame) }
    const unsubscribe = media.onAudio(suppressor === undefined ? push : (frame) => { suppressor.process(frame, push) })
    return () => {
      unsubscribe()
      controller.abort()
    }
  }

  function stop (entry: RelayEntry): void {
    entries.delete(entry.session.id)
    bindRelay(entry.session, undefined)
    entry.detach?.()
    entry.detach = undefined
    entry.relay.close()
  }

  function relayEnded (entry: RelayEntry, reason: RelayEndReason, error: Error): void {
    const session = entry.session
    stop(entry)
    if (reason === 'budget') {
      // BUDGET_EXCEEDED was sent: the conversation is over.
      session.connection?.close(CLOSE_CODES.normal, 'budget exceeded')
      sessions.end(session, 'closed')
      return
    }
    log.warn({ err: error, sessionId: session.id }, 'the realtime session failed')
    const message = error instanceof LLMRTC_ERR_REALTIME ? error.message : new LLMRTC_ERR_REALTIME(options.provider, 'the session ended').message
    session.send({ type: 'error', code: 'REALTIME_ERROR', message })
    if (!canFallBack()) {
      session.connection?.close(CLOSE_CODES.internalError, 'realtime session failed')
      sessions.end(session, 'closed')
      return
    }
    session.send({ type: 'mode-changed', mode: 'pipeline' })
    // The pipeline plugin takes the session's media as if it had just arrived.
    const media = transport?.media(session.id)
    if (media !== undefined) transport?.emit('media', session.id, media)
  }

  transport?.on('media', (sessionId, media) => {
    const entry = entries.get(sessionId)
    if (entry !== undefined) attach(entry, media)
  })
  transport?.on('closed', (sessionId) => {
    const entry = entries.get(sessionId)
    if (entry === undefined) return
    entry.detach?.()
    entry.detach = undefined
    entry.relay.setOutput(undefined)
  })
  // The client is gone: the model's session is not kept running (and billed) without it. A reconnect on a
  // new connection opens a new one, which `rebound` moves to the resumed session.
  signaling.on('close', (ctx) => {
    const entry = entries.get(ctx.session.id)
    // Not when the session was resumed on another connection already (a takeover): that relay is the new one.
    if (entry !== undefined && entry.session.connection === undefined) stop(entry)
  })
  // The relay was built for the connection's fresh session (its history, data and playbook): the resumed
  // session gets its own relay on the same provider session, renewed with the resumed conversation so the
  // model remembers it. A relay the resumed session still had on an earlier connection (a takeover) stops.
  signaling.on('rebound', (ctx, previous) => {
    const entry = entries.get(previous.id)
    if (entry === undefined) return
    const earlier = entries.get(ctx.session.id)
    if (earlier !== undefined) stop(earlier)
    const opened = entry.provider.handOver()
    stop(entry)
    const resumed = start(ctx.session, opened, ctx.log)
    if (ctx.session.history.length > 0) void resumed.provider.renew('reconnect')
  })
  sessions.on('ended', (session, reason) => {
    // A connection's fresh session replaced by a resumed one: `rebound` follows and hands its relay over.
    if (reason === 'replaced') return
    const entry = entries.get(session.id)
    if (entry !== undefined) stop(entry)
  })
  fastify.addHook('onClose', async function closeRelays () {
    for (const entry of [...entries.values()]) stop(entry)
  })
}

export default fp(llmrtcRealtime, {
  name: 'llmrtc-realtime',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-sessions', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtcSessions', 'llmrtcSignaling'] }
})
