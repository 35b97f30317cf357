import type { Test } from 'tap'
import type { Clock } from '../../lib/clock.js'
import { systemClock } from '../../lib/clock.js'
import { HookRegistry } from '../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../lib/logger.js'
import { DEFAULT_TURN_OPTIONS, type TurnAgent, type TurnOptions, type TurnResult } from '../../lib/pipeline/turn-types.js'
import { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../../lib/providers/types.js'
import { ConversationHistory } from '../../lib/sessions/conversation-history.js'
import type { TurnTakingSettings } from '../../lib/turn-taking/turn-taking-settings.js'
import { ManualOutput } from '../fakes/manual-output.js'
import { ScriptedTTS } from '../fakes/scripted-providers.js'

/** A VoicePipeline on fakes, with what it sent and did, for lib-level pipeline tests. */
export interface PipelineHarness {
  pipeline: VoicePipeline
  messages: ServerMessage[]
  types: () => string[]
  history: ConversationHistory
  /** The track output (playback moves only when the test plays it). */
  output: ManualOutput
  hooks: HookRegistry
  results: TurnResult[]
  idleEnded: () => boolean
}

export interface PipelineHarnessOptions {
  /** Turn options over the defaults. */
  turn?: Partial<TurnOptions>
  streamingSTT?: boolean
  /** false: no track, speech goes out as `tts-chunk` messages (default: the ManualOutput track). */
  track?: boolean
  clock?: Clock
  hooks?: HookRegistry
  turnTaking?: TurnTakingSettings
  /** The session's agent, or a function making it with the pipeline's history, hooks and send (before the pipeline exists). */
  agent?: TurnAgent | ((session: AgentSetup) => TurnAgent)
}

/** What an agent made for the harness shares with its pipeline. */
export interface AgentSetup {
  history: ConversationHistory
  hooks: HookRegistry
  send: (message: ServerMessage) => void
  clock: Clock
  /** Runs a task between the pipeline's turns (for playbook timers). */
  schedule: (task: () => Promise<void>) => void
}

/** A session's pipeline ('session-1', history 'Be brief.' of 20) on the given providers (ScriptedTTS by default), closed at teardown. */
export function pipelineHarness (t: Test, providers: { llm: LLMProvider, stt: STTProvider, tts?: TTSProvider }, options: PipelineHarnessOptions = {}): PipelineHarness {
  const messages: ServerMessage[] = []
  const history = new ConversationHistory('Be brief.', 20)
  const hooks = options.hooks ?? new HookRegistry(silentLogger)
  const output = new ManualOutput()
  const results: TurnResult[] = []
  let idleEnded = false
  const clock = options.clock ?? systemClock
  const send = (m: ServerMessage): void => { messages.push(m) }
  const agent = typeof options.agent === 'function'
    ? options.agent({ history, hooks, send, clock, schedule: (task) => { pipeline.schedule(task) } })
    : options.agent
  const pipeline: VoicePipeline = new VoicePipeline({
    sessionId: 'session-1',
    providers: { tts: new ScriptedTTS(), ...providers },
    hooks,
    history,
    send,
    takeAttachments: () => [],
    clock,
    log: silentLogger,
    turnOptions: { ...DEFAULT_TURN_OPTIONS, ...options.turn },
    streamingSTT: options.streamingSTT ?? false,
    onTurnEnd: (r) => { results.push(r) },
    onIdleEnd: () => { idleEnded = true },
    ...(options.turnTaking !== undefined ? { turnTaking: options.turnTaking } : {}),
    ...(agent !== undefined ? { agent } : {})
  })
  if (options.track !== false) pipeline.setTrackOutput(output)
  t.teardown(() => pipeline.close())
  return { pipeline, messages, types: () => messages.map(m => m.type), history, output, hooks, results, idleEnded: () => idleEnded }
}
