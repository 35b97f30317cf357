import Fastify from 'fastify'
import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { Playbook } from '../../lib/playbooks/types.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { resolveRealtimeOptions } from '../../plugins/realtime/options.js'
import { buildApp } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { KEY, mockFor } from './relay-harness.js'

const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const cert = tls as NonNullable<typeof tls>

const lookupAccount = defineTool({ name: 'lookup_account', description: 'Finds the account', parameters: Type.Object({ email: Type.String() }) }, () => ({ id: 'acc-1' }))
const support: Playbook = {
  id: 'support',
  name: 'Support',
  initialStage: 'greet',
  stages: [
    { id: 'greet', name: 'Greeting', systemPrompt: 'Greet the user.', tools: [lookupAccount] },
    { id: 'billing', name: 'Billing', systemPrompt: 'Handle the bill.' }
  ],
  transitions: [{ id: 'to-billing', from: 'greet', condition: { type: 'llm_decision' }, action: { targetStage: 'billing' } }]
}
const providers = (): { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS } => ({ llm: new ScriptedLLM([['Pipeline here.']]), stt: new ScriptedSTT(['hello']), tts: new ScriptedTTS() })

t.test('the server\'s playbook runs in relay mode: first stage at connect, session.update and stage-change on a transition, hooks', async t => {
  const mock = await mockFor(t, cert)
  mock.script({ toolCall: { name: 'playbook_transition', arguments: '{"targetStage":"billing","reason":"a bill question"}' } }, { transcript: 'About your bill.', audioMs: 100 })
  const fired: string[] = []
  const app = await buildApp(t, {
    webrtc: false,
    systemPrompt: 'Server prompt.',
    providers: providers(),
    playbook: support,
    hooks: {
      onStageEnter: (_s, stageId) => { fired.push(`enter ${stageId}`) },
      onTransition: (_s, change) => { fired.push(`transition ${change.from}→${change.to}`) },
      onToolStart: (_ctx, call) => { fired.push(`tool ${call.name}`) },
      onLLMEnd: (_ctx, result) => { fired.push(`answer ${result.fullText}`) }
    },
    realtime: { provider: 'openai', apiKey: KEY, baseURL: mock.baseURL }
  })
  const client = await connect(app)
  t.match(await client.next('ready'), { mode: 'realtime' })
  const opened = await mock.waitFor('session.update') as { session: { instructions: string, tools: Array<{ name: string }> } }
  t.equal(opened.session.instructions, 'Server prompt.\n\nGreet the user.')
  t.same(opened.session.tools.map(tool => tool.name), ['lookup_account', 'playbook_transition'])
  client.send({ type: 'text', text: 'I have a question about my bill.' })
  t.match(await client.next('stage-change'), { from: 'greet', to: 'billing', reason: 'llm_decision: a bill question' })
  const moved = await mock.waitFor('session.update', 1) as { session: { instructions: string, tools: unknown[] } }
  t.equal(moved.session.instructions, 'Server prompt.\n\nHandle the bill.')
  t.same(moved.session.tools, [])
  await client.next('assistant-transcript')
  await new Promise(resolve => setImmediate(resolve))
  t.same(fired.filter(f => !f.startsWith('answer')), ['enter greet', 'tool playbook_transition', 'enter billing', 'transition greet→billing'])
  const sessionId = (await client.next('ready')).id as string
  t.match(app.llmrtcSessions.get(sessionId)?.data.playbook, { id: 'support', stageId: 'billing' }, 'the stage is kept in the session data')
})

t.test('turnDetection llmrtc (option or REALTIME_TURN_DETECTION): the provider session gets turn_detection null', async t => {
  const mock = await mockFor(t, cert)
  const app = await buildApp(t, { webrtc: false, providers: providers(), realtime: { provider: 'openai', apiKey: KEY, baseURL: mock.baseURL, turnDetection: { type: 'llmrtc' } } })
  const client = await connect(app)
  t.match(await client.next('ready'), { mode: 'realtime' })
  const update = await mock.waitFor('session.update') as { session: { audio: { input: Record<string, unknown> } } }
  t.equal(update.session.audio.input.turn_detection, null)
  t.match(resolveRealtimeOptions({}, { REALTIME_PROVIDER: 'openai', OPENAI_API_KEY: 'sk', REALTIME_TURN_DETECTION: 'llmrtc' }), { turnDetection: { type: 'llmrtc' } })
  t.match(resolveRealtimeOptions({ turnDetection: { type: 'semantic_vad' } }, { REALTIME_PROVIDER: 'openai', OPENAI_API_KEY: 'sk', REALTIME_TURN_DETECTION: 'llmrtc' }), { turnDetection: { type: 'semantic_vad' } }, 'the option wins')
  t.throws(() => resolveRealtimeOptions({ provider: 'openai', apiKey: 'k', turnDetection: { type: 'push_to_talk' } as never }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /realtime\.turnDetection.*"llmrtc"/ })
})

t.test('turnDetection llmrtc without llmrtc\'s VAD (vad: false) fails at start-up', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { env: false, webrtc: false, vad: false, providers: providers(), realtime: { provider: 'openai', apiKey: KEY, turnDetection: { type: 'llmrtc' } } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /realtime\.turnDetection/ })
})

t.test('a session\'s own agent (agentForSession) gives the relay its system prompt, tools and playbook', async t => {
  const mock = await mockFor(t, cert)
  const sales: Playbook = { id: 'sales', name: 'Sales', initialStage: 'pitch', stages: [{ id: 'pitch', name: 'Pitch', systemPrompt: 'Pitch the product.' }], transitions: [] }
  const app = await buildApp(t, {
    webrtc: false,
    systemPrompt: 'Server prompt.',
    providers: providers(),
    agentForSession: (request) => request.query.get('agent') === 'sales' ? { systemPrompt: 'You sell.', tools: [lookupAccount], playbook: sales } : undefined,
    realtime: { provider: 'openai', apiKey: KEY, baseURL: mock.baseURL }
  })
  const buyer = await connect(app, '/?agent=sales')
  t.match(await buyer.next('ready'), { mode: 'realtime' })
  const first = await mock.waitFor('session.update') as { session: { instructions: string, tools?: Array<{ name: string }> } }
  t.equal(first.session.instructions, 'You sell.\n\nPitch the product.')
  t.same(first.session.tools?.map(tool => tool.name), ['lookup_account'])
  const other = await connect(app)
  t.match(await other.next('ready'), { mode: 'realtime' })
  const second = await mock.waitFor('session.update', 1) as { session: { instructions: string, tools?: unknown[] } }
  t.equal(second.session.instructions, 'Server prompt.', 'the server\'s agent for the others')
  t.equal(second.session.tools, undefined)
})
