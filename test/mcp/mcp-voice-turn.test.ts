import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'
import { startOpenAIMock } from '../mocks/openai-mock.js'
import { stdioFixture } from './helpers.js'

// A spoken turn over a real WebRTC peer whose answer needs a tool of a real MCP server (the SDK's
// McpServer in a child process, over stdio); the OpenAI SDK runs against the loopback mock.
// Assertions are on order and content, not durations.
isolateNetwork()

t.test('a spoken turn calls an MCP server\'s tool and the answer uses its result', async t => {
  const mock = await startOpenAIMock({ apiKey: 'sk-e2e' })
  t.teardown(() => mock.close())
  mock.script('transcriptions', { type: 'transcript', text: 'What is two plus three?' })
  mock.script('chat',
    { type: 'chat', content: 'Let me add that.', toolCalls: [{ id: 'call_1', name: 'fx_add', arguments: '{"a":2,"b":3}' }] },
    { type: 'chat', content: 'Two plus three is five.' })
  const app = await buildApp(t, { openai: { apiKey: 'sk-e2e', baseURL: mock.baseURL }, mcpServers: { fx: stdioFixture() } })
  const client = await voiceClient(t, await listenUrl(app))

  await say(client, 'What is two plus three?')
  for (const type of ['tool-call-start', 'tool-call-end', 'llm', 'tts-complete'] as const) await client.waitFor(type, { timeoutMs: 30_000 })
  const turn = client.wsMessages.filter(m => m.type !== 'metrics' && m.type !== 'llm-chunk')
  t.same(turn.find(m => m.type === 'tool-call-start'), { type: 'tool-call-start', name: 'fx_add', callId: 'call_1', arguments: { a: 2, b: 3 } })
  t.match(turn.find(m => m.type === 'tool-call-end'), { callId: 'call_1', result: { sum: 5 } })
  t.same(turn.find(m => m.type === 'llm'), { type: 'llm', text: 'Let me add that. Two plus three is five.' })
  await client.audio.waitForSound(1000, 5000)
  t.pass('the answer was heard on the track')

  const chats = mock.requestsTo('chat')
  const toolRound = chats[0]?.body as { tools?: Array<{ function: { name: string, parameters: unknown } }> }
  t.match(toolRound.tools?.find(tool => tool.function.name === 'fx_add')?.function.parameters, { type: 'object', required: ['a', 'b'] }, 'the MCP tool was offered with its schema')
  const answer = chats[1]?.body as { messages: Array<{ role: string, content: unknown, tool_call_id?: string }> }
  t.match(answer.messages.at(-1), { role: 'tool', tool_call_id: 'call_1', content: '{"result":{"sum":5}}' }, 'the MCP result reached the LLM')
})
