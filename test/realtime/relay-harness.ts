import type { Test } from 'tap'
import { systemClock } from '../../lib/clock.js'
import type { HookRegistry } from '../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../lib/logger.js'
import type { PayloadServerMessage } from '../../lib/protocol/server-messages.js'
import type { ToolDefinition } from '../../lib/providers/types.js'
import type { CreateSpeechDetector } from '../../lib/realtime/local-turn-detection.js'
import { openOpenAIRealtime } from '../../lib/realtime/openai-realtime-session.js'
import type { RealtimePlaybook } from '../../lib/realtime/playbook-bridge.js'
import { RealtimeRelay } from '../../lib/realtime/realtime-relay.js'
import type { RealtimeProviderSession, RealtimeTurnDetection } from '../../lib/realtime/types.js'
import { ConversationHistory } from '../../lib/sessions/conversation-history.js'
import { ToolExecutor } from '../../lib/tools/tool-executor.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'
import type { Tool } from '../../lib/tools/types.js'
import { startOpenAIRealtimeMock, type OpenAIRealtimeMock, type OpenAIRealtimeMockOptions } from '../mocks/openai-realtime-mock.js'
import type { TestCertificate } from '../mocks/tls.js'
import { FakeOutput } from './fake-output.js'

export const KEY = 'sk-test-realtime'

/** The OpenAI Realtime mock, closed at the end of the test. */
export async function mockFor (t: Test, cert: TestCertificate, options: Partial<OpenAIRealtimeMockOptions> = {}): Promise<OpenAIRealtimeMock> {
  const mock = await startOpenAIRealtimeMock({ cert, apiKey: KEY, ...options })
  t.teardown(() => mock.close())
  return mock
}

/** An OpenAI Realtime session (the real SDK) on the mock. */
export async function openOn (mock: OpenAIRealtimeMock, setup: { instructions?: string, tools?: ToolDefinition[], turnDetection?: RealtimeTurnDetection } = {}): Promise<RealtimeProviderSession> {
  return await openOpenAIRealtime({
    apiKey: KEY,
    baseURL: mock.baseURL,
    model: 'gpt-realtime',
    voice: 'marin',
    ...(setup.instructions !== undefined ? { instructions: setup.instructions } : {}),
    tools: setup.tools ?? [],
    transcription: {},
    turnDetection: setup.turnDetection ?? { type: 'server_vad' },
    connectTimeoutMs: 5000,
    signal: new AbortController().signal,
    log: silentLogger
  })
}

export interface RelayHarness {
  relay: RealtimeRelay
  output: FakeOutput
  messages: PayloadServerMessage[]
  history: ConversationHistory
  /** Resolves with the `index`th message of `type`. */
  next: (type: PayloadServerMessage['type'], index?: number) => Promise<PayloadServerMessage>
}

/** A relay on `session` with a FakeOutput, closed at the end of the test. */
export function relayOn (t: Test, session: RealtimeProviderSession, options: { tools?: Tool[], playbook?: RealtimePlaybook, hooks?: HookRegistry, createDetector?: CreateSpeechDetector, data?: Record<string, unknown>, history?: ConversationHistory } = {}): RelayHarness {
  const messages: PayloadServerMessage[] = []
  const waiters: Array<() => void> = []
  const output = new FakeOutput()
  const history = options.history ?? new ConversationHistory()
  const relay = new RealtimeRelay({
    session,
    sessionId: 's1',
    send: (message) => { messages.push(message); for (const w of waiters.splice(0)) w() },
    tools: new ToolRegistry(options.tools ?? []),
    executor: new ToolExecutor(),
    data: options.data ?? {},
    history,
    budget: {},
    clock: systemClock,
    log: silentLogger,
    onEnd: () => {},
    ...(options.playbook !== undefined ? { playbook: options.playbook } : {}),
    ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
    ...(options.createDetector !== undefined ? { createDetector: options.createDetector } : {})
  })
  relay.setOutput(output)
  t.teardown(() => { relay.close() })
  const next = async (type: PayloadServerMessage['type'], index = 0): Promise<PayloadServerMessage> => {
    for (;;) {
      const found = messages.filter(m => m.type === type)[index]
      if (found !== undefined) return found
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
  return { relay, output, messages, history, next }
}
