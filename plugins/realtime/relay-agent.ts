import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../lib/clock.js'
import { agentChoiceOf, serverAgentOf } from '../../lib/agent/agent-choice.js'
import { LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import type { HookRegistry } from '../../lib/hooks/hook-registry.js'
import type { Logger } from '../../lib/logger.js'
import type { CreateSpeechDetector } from '../../lib/realtime/local-turn-detection.js'
import { RealtimePlaybook } from '../../lib/realtime/playbook-bridge.js'
import type { RealtimeSessionChange } from '../../lib/realtime/types.js'
import type { Session } from '../../lib/sessions/session.js'
import type { ToolRegistry } from '../../lib/tools/tool-registry.js'
import type { ResolvedRealtimeOptions } from './options.js'

/** What one relay session runs with besides its provider session. */
export interface RelayAgent {
  /** The instructions and tools the provider session opens with (the playbook's current stage, when one runs). */
  setup: RealtimeSessionChange
  /** The tools the model may call: the agent's choice (agentForSession), else the relay's. */
  tools: ToolRegistry
  /** The session's playbook: the agent's choice (agentForSession), else the server's (`playbook` option or PLAYBOOK). */
  playbook?: RealtimePlaybook
  /** Session hooks (fastify.llmrtc.addHook) that fire in relay mode. */
  hooks?: HookRegistry
  /** llmrtc's VAD as the turn detector (`turnDetection: { type: 'llmrtc' }`), with the session's `vadForSession` options. */
  createDetector?: CreateSpeechDetector
}

/**
 * Throws LLMRTC_ERR_OPTIONS_INVALID at start-up when `turnDetection: { type: 'llmrtc' }` has no VAD to run
 * (the umbrella's `vad: false`, or no llmrtc-vad plugin).
 */
export function checkLocalTurnDetection (fastify: FastifyInstance, options: ResolvedRealtimeOptions): void {
  if (options.turnDetection.type === 'llmrtc' && !fastify.hasDecorator('llmrtcVad')) {
    throw new LLMRTC_ERR_OPTIONS_INVALID('realtime.turnDetection', 'the provider\'s turn detection when llmrtc\'s VAD is off (vad: false)', '{ type: "llmrtc" }')
  }
}

/**
 * The relay agent of a session (agentForSession's system prompt, tools and playbook, else the server's): its playbook (started at once: the initial stage is entered, or the stage
 * saved in the session's data is restored, so `setup` is already the current stage's), its hooks and its
 * turn detector.
 */
export function relayAgentFor (fastify: FastifyInstance, session: Session, options: ResolvedRealtimeOptions, tools: ToolRegistry, log: Logger): RelayAgent {
  const config = fastify.llmrtcConfig
  const hooks = fastify.hasDecorator('llmrtc') ? fastify.llmrtc.hooks : undefined
  const choice = agentChoiceOf(session)
  // A session's own agent wins over the server-wide settings, as in the pipeline.
  const instructions = choice?.systemPrompt ?? options.instructions ?? config.systemPrompt
  const agentTools = choice?.tools ?? tools
  const playbookSpec = choice?.playbook === undefined ? serverAgentOf(config)?.playbook ?? config.playbook : choice.playbook ?? undefined
  const agent: RelayAgent = {
    setup: { ...(instructions !== undefined ? { instructions } : {}), tools: agentTools.definitions() },
    tools: agentTools,
    ...(hooks !== undefined ? { hooks } : {})
  }
  if (playbookSpec !== undefined) {
    const playbook = new RealtimePlaybook({
      playbook: playbookSpec,
      sessionId: session.id,
      data: session.data,
      ...(instructions !== undefined ? { instructions } : {}),
      serverTools: agentTools.definitions(),
      ...(hooks !== undefined ? { hooks } : {}),
      ...(config.intentDetector !== undefined ? { intentDetector: config.intentDetector } : {}),
      clock: config.clock ?? systemClock,
      log
    })
    // Sets the stage at once (the onEnter hooks run on); never rejects (a failure is reported).
    void playbook.start()
    agent.playbook = playbook
    agent.setup = playbook.current()
  }
  if (options.turnDetection.type === 'llmrtc' && fastify.hasDecorator('llmrtcVad')) {
    const vad = fastify.llmrtcVad
    agent.createDetector = (detector) => vad.createDetector({ ...config.vadForSession?.(session), ...detector, signal: session.signal })
  }
  return agent
}
