import type { EventEmitter } from 'node:events'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { systemClock } from '../../lib/clock.js'
import { clientErrorOf, protocolCodeOf } from '../../lib/errors.js'
import { childLoggerOptions, type Logger } from '../../lib/logger.js'
import { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'
import { SessionAgent } from '../../lib/agent/session-agent.js'
import { agentChoiceOf, setServerAgent } from '../../lib/agent/agent-choice.js'
import { loadPlaybookModule } from '../../lib/playbooks/load-playbook-module.js'
import { PlaybookEngine } from '../../lib/playbooks/playbook-engine.js'
import { validatePlaybook } from '../../lib/playbooks/validate-playbook.js'
import { invalidOption } from '../../lib/config/invalid-option.js'
import { ToolExecutor } from '../../lib/tools/tool-executor.js'
import { BackgroundMixer } from '../../lib/audio/background-mixer.js'
import { loadBackgroundSounds, soundsForSession } from '../../lib/audio/background-sounds.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import type { TurnResult } from '../../lib/pipeline/turn-types.js'
import type { Playbook } from '../../lib/playbooks/types.js'
import type { Tool } from '../../lib/tools/types.js'
import type { Session } from '../../lib/sessions/session.js'
import type { MediaTransportEvents, SessionMedia } from '../../lib/transport/media-transport.js'
import { resolveTurnTaking } from '../../lib/turn-taking/resolve-turn-taking.js'
import { LLMRTC_ERR_REALTIME_AUDIO_MESSAGE } from '../../lib/errors.js'
import { relayOf } from '../../lib/realtime/session-mode.js'
import type { TurnTakingSettings } from '../../lib/turn-taking/turn-taking-settings.js'
import { attachSpeechDetection } from './speech-detection.js'
import { handleAudioMessage } from './audio-message.js'
import { SessionMessages, handleTextMessage, type TextTurn, type TextTurnOptions } from './text-turn.js'

/** How soon `idle()` looks again at sessions that were busy (a user speaking has no turn to await yet). */
const IDLE_RECHECK_MS = 20

interface SessionPipeline {
  pipeline: VoicePipeline
  agent?: SessionAgent
  /** The greeting was said (once per session, when its media first came up). */
  greeted?: boolean
  /** Stops speech detection on the current track. */
  detach?: () => void
}

/** `fastify.llmrtcPipeline`: the conversation loop of each session. */
export interface LLMRTCPipelineDecorator {
  /** The session's pipeline (created on first use). */
  for: (session: Session) => VoicePipeline
  /**
   * Takes the media of another transport's sessions as WebRTC's (`media`: speech detection in, speech out
   * on its output; `closed`: detached). Used by the telephony plugin for phone calls.
   */
  listen: (transport: EventEmitter<MediaTransportEvents>) => void
  /** Sessions with a pipeline. */
  readonly size: number
  /** Resolves once no session has a turn running or queued (all at the same moment). */
  idle: () => Promise<void>
  /**
   * Runs a turn from text on `session` (from `fastify.llmrtcSessions`, connected or not): `text` stands for
   * the user's words, without STT, through the same pipeline as speech (hooks, history, tools, LLM, TTS).
   * Resolves when the turn ended, with its result and the messages it sent. Interrupts a running turn.
   */
  textTurn: (session: Session, text: string, options?: TextTurnOptions) => Promise<TextTurn>
  /**
   * A phone key (DTMF) the session's caller pressed: its playbook's `dtmf` (and `custom`) transitions are
   * evaluated after the running and queued turns. Resolves true when the stage changed. Used by the
   * telephony plugin.
   */
  keyPressed: (session: Session, digit: string) => Promise<boolean>
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcPipeline: LLMRTCPipelineDecorator
  }
}

/**
 * Wires each session's conversation loop: microphone frames from the transport → speech detection →
 * the session's VoicePipeline → speech out on the track (or `tts-chunk` messages without one). Also
 * claims the `audio` message (WebSocket fallback).
 */
async function llmrtcPipeline (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  const clock = config.clock ?? systemClock
  const hooks = fastify.llmrtc.hooks
  const sessions = fastify.llmrtcSessions
  const log = fastify.log.child({ plugin: 'llmrtc-pipeline' }, childLoggerOptions) as Logger
  const entries = new Map<string, SessionPipeline>()
  const messages = new SessionMessages()
  // Tools and the playbook: a module named by PLAYBOOK is loaded here, so a bad one fails start-up.
  const playbook = config.playbook ?? (config.env.PLAYBOOK !== undefined && config.env.PLAYBOOK !== '' ? await loadPlaybookModule(config.env.PLAYBOOK) : undefined)
  const tools = new ToolRegistry(config.tools)
  const executor = new ToolExecutor({ timeoutMs: config.toolTimeoutMs, maxConcurrency: config.maxConcurrentTools, clock })
  // Decoded once here (a bad file fails start-up); each session's mixer shares them.
  const backgroundSounds = config.backgroundAudio === undefined ? undefined : await loadBackgroundSounds(config.backgroundAudio)
  // agentForSession's choices are checked against these (a chosen tool may not clash with the playbook's).
  setServerAgent(config, { tools, playbook })
  if (playbook !== undefined) {
    for (const warning of validatePlaybook(playbook).warnings) log.warn({ playbook: playbook.id, warning }, 'playbook warning')
    const playbookTools = [...playbook.globalTools ?? [], ...playbook.stages.flatMap(stage => stage.tools ?? [])]
    const clash = playbookTools.find(tool => tools.has(tool.definition.name))
    // The LLM would be offered two tools of one name.
    if (clash !== undefined) invalidOption('tools', 'names other than the playbook\'s tools\'', `"${clash.definition.name}" in both`)
    log.info({ playbook: playbook.id, stages: playbook.stages.length }, 'playbook loaded')
  }

  /** The agent's tools plus the transport's (a call's end_call…); the agent's and the playbook's win a name they share. */
  function withTransportTools (agentTools: ToolRegistry, transportTools: readonly Tool[], sessionPlaybook: Playbook | undefined): ToolRegistry {
    if (transportTools.length === 0) return agentTools
    const playbookNames = new Set([...sessionPlaybook?.globalTools ?? [], ...sessionPlaybook?.stages.flatMap(stage => stage.tools ?? []) ?? []].map(tool => tool.definition.name))
    const added = transportTools.filter(tool => !agentTools.has(tool.definition.name) && !playbookNames.has(tool.definition.name))
    if (added.length === 0) return agentTools
    return new ToolRegistry([...agentTools.list(), ...added])
  }

  function agentFor (session: Session, sessionLog: Logger, schedule: (task: () => Promise<void>) => void): SessionAgent | undefined {
    // The session's own agent (agentForSession), else the server's.
    const choice = agentChoiceOf(session)
    const sessionPlaybook = choice?.playbook === undefined ? playbook : choice.playbook ?? undefined
    const sessionTools = withTransportTools(choice?.tools ?? tools, session.transportTools, sessionPlaybook)
    if (sessionPlaybook === undefined && sessionTools.size === 0) return undefined
    const engine = sessionPlaybook === undefined
      ? undefined
      : new PlaybookEngine({
        playbook: sessionPlaybook,
        sessionId: session.id,
        data: session.data,
        clock,
        hooks,
        log: sessionLog,
        ...(config.intentDetector !== undefined ? { intentDetector: config.intentDetector } : {}),
        // A timeout transition waits for the turn in progress.
        onTimer: (change) => { schedule(async () => { await agent?.applyTimerChange(change); sessions.persist(session) }) }
      })
    const agent: SessionAgent = new SessionAgent({
      sessionId: session.id,
      systemPrompt: choice?.systemPrompt ?? config.systemPrompt,
      tools: sessionTools,
      executor,
      ...(engine !== undefined ? { playbook: engine } : {}),
      history: session.history,
      data: session.data,
      send: messages.sendTo(session),
      hooks,
      clock,
      log: sessionLog,
      maxToolRounds: config.maxToolRounds,
      toolPhaseTimeoutMs: config.toolPhaseTimeoutMs
    })
    return agent
  }

  function entryFor (session: Session): SessionPipeline {
    const existing = entries.get(session.id)
    if (existing !== undefined) return existing
    const providers = fastify.llmrtcProviders
    const chosen = agentChoiceOf(session)?.providers ?? {}
    const sessionLog = log.child({ sessionId: session.id })
    const agent = agentFor(session, sessionLog, (task) => { pipeline.schedule(task) })
    const turnTaking = turnTakingFor(session, sessionLog)
    const sounds = soundsForSession(backgroundSounds, agentChoiceOf(session)?.backgroundAudio)
    const pipeline: VoicePipeline = new VoicePipeline({
      sessionId: session.id,
      providers: { llm: chosen.llm ?? providers.llm, stt: chosen.stt ?? providers.stt, tts: chosen.tts ?? providers.tts },
      hooks,
      history: session.history,
      send: messages.sendTo(session),
      takeAttachments: () => session.pendingAttachments.splice(0),
      clock,
      log: sessionLog,
      turnOptions: config.turn,
      streamingSTT: config.streamingSTT,
      onTurnEnd: (result) => { turnEnded(session, result, sessionLog) },
      onQuestion: (turnId) => { sessions.openTurn(session, turnId) },
      turnTaking,
      onIdleEnd: () => {
        sessionLog.info('the user stayed silent through every idle prompt: session ended')
        sessions.end(session, 'user-idle')
      },
      ...(agent !== undefined ? { agent } : {}),
      ...(sounds !== undefined ? { background: new BackgroundMixer(sounds) } : {})
    })
    // The playbook starts with the session (its initial stage's onEnter, its timers).
    if (agent !== undefined) pipeline.schedule(async () => { await agent.begin() })
    const entry: SessionPipeline = { pipeline, ...(agent !== undefined ? { agent } : {}) }
    entries.set(session.id, entry)
    return entry
  }

  /** The server's turn-taking, with the session's own options (turnTakingForSession) over it. */
  function turnTakingFor (session: Session, sessionLog: Logger): TurnTakingSettings {
    try {
      const own = config.turnTakingForSession?.(session)
      return own === undefined ? config.turnTaking : resolveTurnTaking(own, config.turnTaking)
    } catch (err) {
      // A bad per-session option: the session keeps the server's turn-taking, and the client is told.
      sessionLog.error({ err }, 'turnTakingForSession failed: the server\'s turn-taking applies')
      session.send(clientErrorOf(err))
      return config.turnTaking
    }
  }

  /** The greeting, once per session, when its speech can first be heard. */
  function greet (entry: SessionPipeline): void {
    const greeting = config.greeting
    if (greeting === undefined || entry.greeted === true) return
    entry.greeted = true
    if (typeof greeting === 'string') void entry.pipeline.say(greeting)
    else void entry.pipeline.generateReply(greeting.instructions)
  }

  /**
   * The question a server stopped before answering (taken over by this server's resume, see
   * docs/reliability.md) is answered now, through the session's pipeline, once.
   */
  function answerTakenOver (session: Session): void {
    const question = session.unanswered
    if (question === undefined || relayOf(session) !== undefined) return
    session.unanswered = undefined
    void entryFor(session).pipeline.answer(question)
  }

  function turnEnded (session: Session, result: TurnResult, sessionLog: Logger): void {
    sessions.closeTurn(session)
    sessionLog.info({ turnId: result.ctx.turnId, outcome: result.outcome, timings: result.timings }, 'turn ended')
    if (result.outcome === 'completed' || result.outcome === 'cancelled') {
      const timings: Record<string, number> = {}
      for (const [name, value] of Object.entries(result.timings)) if (value !== undefined) timings[name] = value
      session.send({ type: 'metrics', turnId: result.ctx.turnId, timings })
    }
  }

  async function keyPressed (session: Session, digit: string): Promise<boolean> {
    // In relay mode the realtime plugin runs the session: there is no pipeline to ask.
    if (relayOf(session) !== undefined) return false
    const { pipeline, agent } = entryFor(session)
    if (agent === undefined) return false
    return await new Promise<boolean>((resolve, reject) => {
      pipeline.schedule(async () => {
        try {
          const moved = await agent.keyPressed(digit)
          if (moved) sessions.persist(session)
          resolve(moved)
        } catch (err) {
          reject(err)
        }
      }, () => { resolve(false) })
    })
  }

  function drop (sessionId: string): void {
    const entry = entries.get(sessionId)
    if (entry === undefined) return
    entries.delete(sessionId)
    entry.detach?.()
    entry.agent?.close()
    void entry.pipeline.close()
  }

  fastify.decorate('llmrtcPipeline', {
    for: (session: Session) => entryFor(session).pipeline,
    listen: (transport: EventEmitter<MediaTransportEvents>) => { listen(transport) },
    get size () { return entries.size },
    textTurn: async (session: Session, text: string, options?: TextTurnOptions) => await messages.textTurn(session, entryFor(session).pipeline, text, options),
    keyPressed: async (session: Session, digit: string) => await keyPressed(session, digit),
    async idle () {
      // A turn may start on one session while another's ends: wait until one pass finds all idle. A
      // session can be busy with nothing to await (its user is speaking, no turn yet): each pass ends on a
      // timer, never on promises alone, which would spin in microtasks and starve the event loop (a drain
      // froze the server, and its own deadline, while a user spoke: the chaos bench found it).
      for (;;) {
        const busy = [...entries.values()].filter(entry => entry.pipeline.state !== 'listening' || entry.pipeline.busy)
        if (busy.length === 0) return
        await Promise.all(busy.map(async entry => { await entry.pipeline.idle() }))
        await new Promise<void>(resolve => { clock.setTimeout(resolve, IDLE_RECHECK_MS) })
      }
    }
  })

  const signaling = fastify.llmrtcSignaling
  // Without WebRTC the greeting goes out at once, as tts-chunk messages; with it, once the media is up.
  const greetOnOpen = !fastify.hasDecorator('llmrtcTransport') || !fastify.llmrtcTransport.available
  signaling.on('open', (ctx) => {
    // Relay mode (plugins/realtime): the realtime model speaks; there is no pipeline to greet with.
    if (relayOf(ctx.session) !== undefined) return
    const entry = entryFor(ctx.session)
    if (greetOnOpen && ctx.session.history.length === 0) greet(entry)
  })
  // The fresh session a reconnect replaced has no use for its pipeline. A question the resumed session's
  // last server left unanswered is answered at once without WebRTC, else once the media is up.
  signaling.on('rebound', (ctx, previous) => {
    drop(previous.id)
    if (greetOnOpen) answerTakenOver(ctx.session)
  })
  // The client is gone: its turn stops, the session (and its pipeline) waits for a reconnect.
  signaling.on('close', (ctx) => { entries.get(ctx.session.id)?.pipeline.cancelTurn() })
  sessions.on('ended', (session) => { drop(session.id) })

  signaling.handle('audio', (message, ctx) => {
    if (relayOf(ctx.session) !== undefined) throw new LLMRTC_ERR_REALTIME_AUDIO_MESSAGE()
    handleAudioMessage(message, ctx, entryFor(ctx.session).pipeline, config)
  })
  signaling.handle('text', (message, ctx) => {
    const relay = relayOf(ctx.session)
    if (relay !== undefined) {
      relay.sendText(message.text)
      return
    }
    handleTextMessage(message, ctx, entryFor(ctx.session).pipeline)
  })

  /** A session's media came up on a transport: its speech goes out there, its microphone is listened to. */
  function onMedia (sessionId: string, media: SessionMedia): void {
    const session = sessions.get(sessionId)
    // In relay mode the realtime plugin takes the media.
    if (session === undefined || relayOf(session) !== undefined) return
    const entry = entryFor(session)
    entry.detach?.()
    entry.pipeline.setTrackOutput(media.output)
    // A resumed session (history recovered) was greeted already.
    if (session.history.length > 0) entry.greeted = true
    greet(entry)
    answerTakenOver(session)
    if (!fastify.hasDecorator('llmrtcVad')) {
      log.warn('no llmrtc-vad plugin: microphone audio is not listened to')
      return
    }
    try {
      entry.detach = attachSpeechDetection({ fastify, session, media, pipeline: entry.pipeline, vadOptions: config.vadForSession?.(session) })
    } catch (err) {
      // A bad per-session VAD option: the client is told rather than left talking to a deaf server.
      log.error({ err, sessionId }, 'speech detection could not start')
      session.send(clientErrorOf(err))
      void hooks.run('onError', err as Error, { code: protocolCodeOf(err), component: 'vad', sessionId, timestamp: clock.now() })
    }
  }

  /** The session's media went away. */
  function onMediaClosed (sessionId: string): void {
    const entry = entries.get(sessionId)
    if (entry === undefined) return
    entry.detach?.()
    entry.detach = undefined
    entry.pipeline.setTrackOutput(undefined)
  }

  /** Takes the media of the sessions of `transport` (WebRTC, phone calls). */
  function listen (transport: EventEmitter<MediaTransportEvents>): void {
    transport.on('media', onMedia)
    transport.on('closed', onMediaClosed)
  }

  if (fastify.hasDecorator('llmrtcTransport')) listen(fastify.llmrtcTransport)

  fastify.addHook('onClose', async function closePipelines () {
    await Promise.all([...entries.values()].map(async (entry) => {
      entry.detach?.()
      entry.agent?.close()
      await entry.pipeline.close()
    }))
    entries.clear()
  })
}

export default fp(llmrtcPipeline, {
  name: 'llmrtc-pipeline',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-providers', 'llmrtc-sessions', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcProviders', 'llmrtcSessions', 'llmrtcSignaling'] }
})
