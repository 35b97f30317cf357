import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import t from 'tap'
import llmrtc from '../../plugins/llmrtc/index.js'
import { encodeWav } from '../../lib/audio/wav.js'
import type { Playbook } from '../../lib/playbooks/types.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { buildApp } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

const utterance = (): string => encodeWav(new Int16Array(16 * 600).fill(1000), 16_000).toString('base64')
const examplePath = resolve(import.meta.dirname, '../../examples/support-playbook.mjs')

t.test('the PLAYBOOK module runs: its tool is called, the stage moves and the answer comes in the new stage', async t => {
  const llm = new ScriptedLLM([
    { chunks: ['Let me look. '], toolCalls: [{ callId: 'c1', name: 'lookup_order', arguments: { orderId: '42' } }] },
    ['It ships Thursday.']
  ])
  const app = await buildApp(t, { webrtc: false, env: { PLAYBOOK: examplePath }, providers: { llm, stt: new ScriptedSTT(['where is order 42']), tts: new ScriptedTTS() } })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: utterance() })
  await client.next('tts-complete')
  t.match(client.messages.find(m => m.type === 'tool-call-end'), { callId: 'c1', result: { found: true, orderId: '42', status: 'shipped', eta: 'Thursday' } })
  t.match(client.messages.find(m => m.type === 'stage-change'), { from: 'greet', to: 'resolve', reason: 'tool_call: lookup_order' })
  t.match(llm.requests[0]?.messages[0]?.content, /Acme order desk[\s\S]*Greet the caller/)
  t.match(llm.requests[1]?.messages[0]?.content, /Tell the caller where their order is/)
  t.equal(llm.requests[1]?.tools, undefined)
})

t.test('server tools work without a playbook, beside the server system prompt', async t => {
  const clock = defineTool({ name: 'current_time', description: 'The time now', parameters: { type: 'object', properties: {} } }, () => ({ time: '12:00' }))
  const llm = new ScriptedLLM([{ chunks: [], toolCalls: [{ callId: 'c1', name: 'current_time', arguments: {} }] }, ['It is noon.']])
  const app = await buildApp(t, { webrtc: false, systemPrompt: 'Be brief.', tools: [clock], providers: { llm, stt: new ScriptedSTT(['what time is it']), tts: new ScriptedTTS() } })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: utterance() })
  await client.next('tts-complete')
  t.same(llm.requests[0]?.tools?.map(tool => tool.name), ['current_time'])
  t.equal(llm.requests[0]?.messages[0]?.content, 'Be brief.')
  t.match(client.messages.find(m => m.type === 'tool-call-end'), { result: { time: '12:00' } })
  t.match(client.messages.find(m => m.type === 'llm'), { text: 'It is noon.' })
})

t.test('playbook warnings are logged at start', async t => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  const playbook: Playbook = {
    id: 'lonely',
    name: 'Lonely',
    initialStage: 'a',
    stages: [{ id: 'a', name: 'A', systemPrompt: 'x' }, { id: 'island', name: 'Island', systemPrompt: 'y' }],
    transitions: []
  }
  await app.register(llmrtc, { env: false, webrtc: false, playbook })
  await app.ready()
  t.match(lines.join(''), /"warning":"stage [^,]*island[^,]*unreachable/)
})

t.test('without tools or a playbook no tools are offered', async t => {
  const llm = new ScriptedLLM([['Hello.']])
  const app = await buildApp(t, { webrtc: false, providers: { llm, stt: new ScriptedSTT(['hi']), tts: new ScriptedTTS() } })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: utterance() })
  await client.next('tts-complete')
  t.equal(llm.requests[0]?.tools, undefined)
})

t.test('a bad playbook, tool or PLAYBOOK module fails start-up with a clear error', async t => {
  const broken = { id: 'broken', name: 'Broken', initialStage: 'nowhere', stages: [{ id: 'a', name: 'A', systemPrompt: 'x' }], transitions: [] } as Playbook
  await t.rejects(buildApp(t, { webrtc: false, playbook: broken }), { code: 'LLMRTC_ERR_PLAYBOOK_INVALID', message: /broken.*nowhere/ })
  await t.rejects(buildApp(t, { webrtc: false, env: { PLAYBOOK: './no/such/playbook.mjs' } }), { code: 'LLMRTC_ERR_PLAYBOOK_LOAD', message: /no\/such\/playbook\.mjs/ })
  const tool = { definition: { name: 'bad name!', description: '', parameters: { type: 'object' } }, handler: () => 1 }
  await t.rejects(buildApp(t, { webrtc: false, tools: [tool] }), { code: 'LLMRTC_ERR_TOOL_DEFINITION' })
  await t.rejects(buildApp(t, { webrtc: false, maxToolRounds: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /maxToolRounds/ })
  const lookup = defineTool({ name: 'lookup_order', description: 'x', parameters: { type: 'object' } }, () => 1)
  const { playbook } = await import(pathToFileURL(examplePath).href) as { playbook: Playbook }
  await t.rejects(buildApp(t, { webrtc: false, playbook, tools: [lookup] }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /lookup_order/ })
})
