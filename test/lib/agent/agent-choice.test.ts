import t from 'tap'
import { chooseAgent, type AgentChoice, type AgentRequest } from '../../../lib/agent/agent-choice.js'
import { ToolRegistry } from '../../../lib/tools/tool-registry.js'
import { ScriptedLLM } from '../../fakes/scripted-providers.js'

const request: AgentRequest = { principal: null, query: new URLSearchParams(), request: { headers: {}, query: {}, url: '/', ip: '127.0.0.1' }, sessionId: 's1' }
const choose = async (choice: unknown): Promise<unknown> => await chooseAgent(() => choice as AgentChoice, request, new ToolRegistry(), undefined)

t.test('a choice is checked field by field', async t => {
  const llm = new ScriptedLLM([])
  t.equal(await choose(undefined), undefined, 'undefined: the server\'s agent')
  t.same(await choose({ systemPrompt: 'Hi.', providers: { llm } }), { systemPrompt: 'Hi.', providers: { llm } })
  t.same(await choose({ playbook: null }), { providers: {}, playbook: null }, 'null: no playbook')
  const cases: Array<[unknown, RegExp]> = [
    [null, /an invalid agent: expected an object or undefined, instead got null/],
    [['x'], /instead got an array/],
    [{ systemPrompt: 1 }, /invalid systemPrompt: expected a string, instead got number/],
    [{ providers: [] }, /invalid providers: expected an object of llm, stt and tts providers, instead got an array/],
    [{ providers: { vad: llm } }, /invalid providers: expected only llm, stt and tts, instead got the unknown key "vad"/],
    [{ providers: { stt: llm } }, /invalid providers\.stt: expected an object with a string "name" and a "transcribe" method, instead got an object/],
    [{ tools: [{ definition: { name: 'bad name' } }] }, /invalid tools: Invalid tool "bad name"/],
    [{ playbook: { id: 'p' } }, /invalid playbook: Invalid playbook "p"/]
  ]
  for (const [choice, message] of cases) {
    await t.rejects(choose(choice), { code: 'LLMRTC_ERR_AGENT_SELECTION', message }, JSON.stringify(choice))
  }
})

t.test('what the function throws is the cause, not the message', async t => {
  const thrown = new Error('secret detail')
  const err = await chooseAgent(() => { throw thrown }, request, new ToolRegistry(), undefined).catch((error: unknown) => error) as Error
  t.equal(err.message, 'The agent of this session could not be chosen: agentForSession threw')
  t.equal(err.cause, thrown)
})
