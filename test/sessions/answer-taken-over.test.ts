import t, { type Test } from 'tap'
import { systemClock } from '../../lib/clock.js'
import { HookRegistry } from '../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../lib/logger.js'
import { DEFAULT_TURN_OPTIONS } from '../../lib/pipeline/turn-types.js'
import { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import type { ChatMessage } from '../../lib/providers/types.js'
import { ConversationHistory } from '../../lib/sessions/conversation-history.js'
import { MemorySessionStore } from '../../lib/sessions/memory-session-store.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { say, until } from '../helpers/speech-events.js'
import { connect, connectOverNetwork, type RecordingSocket } from '../helpers/ws-client.js'

// The turn that answers a question a killed server left (lib/pipeline), and the servers that take it over
// (plugins/pipeline on a shared store). The SIGKILL of a real server process is test/sessions/killed-server.test.ts.

const QUESTION = 'what time is it'

/** A pipeline whose history ends with an unanswered question, recording what it sends and when it saves. */
function pipelineWithQuestion (t: Test, llm: ScriptedLLM, stt = new ScriptedSTT([])): { pipeline: VoicePipeline, history: ConversationHistory, question: ChatMessage, events: string[], messages: ServerMessage[] } {
  const history = new ConversationHistory('Be brief.', 20, [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'Hi.' }, { role: 'user', content: QUESTION }])
  const question = history.messages.at(-1) as ChatMessage
  const events: string[] = []
  const messages: ServerMessage[] = []
  const hooks = new HookRegistry(silentLogger)
  hooks.addHook('onLLMStart', () => { events.push('llm-start') })
  const pipeline = new VoicePipeline({
    sessionId: 's',
    providers: { llm, stt, tts: new ScriptedTTS(0) },
    hooks,
    history,
    send: (m) => { messages.push(m) },
    takeAttachments: () => [],
    clock: systemClock,
    log: silentLogger,
    turnOptions: DEFAULT_TURN_OPTIONS,
    streamingSTT: false,
    onQuestion: (turnId) => { events.push(`saved:${turnId}`) }
  })
  t.teardown(() => pipeline.close())
  return { pipeline, history, question, events, messages }
}

t.test('the taken-over question is answered as a normal turn, without being added again', async t => {
  const llm = new ScriptedLLM([['It is ', 'noon.']])
  const p = pipelineWithQuestion(t, llm)
  const result = await p.pipeline.answer(p.question)
  t.equal(result?.outcome, 'completed')
  t.same(p.messages.map(m => m.type).filter(type => type !== 'tts-chunk'), ['transcript', 'llm-chunk', 'llm-chunk', 'tts-start', 'llm-chunk', 'llm', 'tts-complete'], 'the messages of a turn from text')
  t.same(p.messages[0], { type: 'transcript', text: QUESTION, isFinal: true }, 'the client is shown what is answered')
  t.same(llm.requests[0]?.messages.at(-1), { role: 'user', content: QUESTION }, 'the LLM is asked the question')
  t.same(p.history.messages.map(m => `${m.role}: ${m.content}`), ['user: hello', 'assistant: Hi.', `user: ${QUESTION}`, 'assistant: It is noon.'], 'the question once, then its answer')
  t.same(p.events, [`saved:${result?.ctx.turnId ?? ''}`, 'llm-start'], 'the turn is marked open (saved) before the LLM is asked')
})

t.test('a normal turn saves its question before the LLM is asked', async t => {
  const p = pipelineWithQuestion(t, new ScriptedLLM([['Sure.']]), new ScriptedSTT(['and tomorrow']))
  say(p.pipeline)
  await until(() => p.events.length === 2, 'the turn')
  t.match(p.events, [/^saved:/, 'llm-start'])
})

t.test('the user speaks before the answer begins: the new speech wins, the question stays as context', async t => {
  const llm = new ScriptedLLM([['Tomorrow is Friday.']])
  const p = pipelineWithQuestion(t, llm, new ScriptedSTT(['and tomorrow']))
  const answered = p.pipeline.answer(p.question)
  say(p.pipeline)
  t.equal(await answered, undefined, 'the taken-over answer never ran')
  await p.pipeline.idle()
  t.equal(llm.requests.length, 1, 'one LLM call: the user\'s new turn')
  t.same(llm.requests[0]?.messages.slice(-2).map(m => m.content), [QUESTION, 'and tomorrow'], 'the question is context of the new turn')
  t.same(p.history.messages.slice(-3).map(m => m.content), [QUESTION, 'and tomorrow', 'Tomorrow is Friday.'])
})

t.test('a text turn that came first wins too', async t => {
  const llm = new ScriptedLLM([['Friday.']])
  const p = pipelineWithQuestion(t, llm)
  void p.pipeline.runText('and tomorrow')
  t.equal(await p.pipeline.answer(p.question), undefined)
  await p.pipeline.idle()
  t.equal(llm.requests.length, 1)
})

t.test('speech during the answer interrupts it as any answer: not answered separately', async t => {
  const llm = new ScriptedLLM(['hang', ['Friday.']])
  const p = pipelineWithQuestion(t, llm, new ScriptedSTT(['and tomorrow']))
  const answered = p.pipeline.answer(p.question)
  await until(() => llm.requests.length === 1, 'the answer\'s LLM call')
  say(p.pipeline)
  t.equal((await answered)?.outcome, 'cancelled')
  await p.pipeline.idle()
  t.same(p.history.messages.slice(-3).map(m => `${m.role}: ${m.content}`), [`user: ${QUESTION}`, 'user: and tomorrow', 'assistant: Friday.'], 'nothing of the cut answer was heard: no message for it')
})

// Two servers in one process on one shared store. A "killed" server here keeps its client's socket open
// and its LLM hanging: nothing on it ends the turn, as after a SIGKILL (or a socket gone half-open).

function sharedStore (): MemorySessionStore & { shared: true } {
  return Object.assign(new MemorySessionStore(), { shared: true as const })
}

async function serverOn (t: Test, store: MemorySessionStore, llm: ScriptedLLM): Promise<Awaited<ReturnType<typeof buildApp>>> {
  return await buildApp(t, { webrtc: false, sessionStore: store, providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
}

async function resumeOn (t: Test, app: Awaited<ReturnType<typeof buildApp>>, id: string): Promise<RecordingSocket> {
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'reconnect', sessionId: id })
  t.match(await client.next('reconnect-ack'), { success: true, sessionId: id }, 'resumed')
  return client
}

/** Polls an async condition (the store's answers are promises). */
async function stored (holds: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await holds()) return
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  throw new Error(`never happened: ${what}`)
}

/** Nothing more is coming for what came so far: a ping's pong closes the window. */
async function settled (client: RecordingSocket): Promise<void> {
  const from = client.messages.length
  client.send({ type: 'ping', timestamp: 1 })
  await client.next('pong', from)
}

t.test('a text client resumes on another server after its server died mid-answer: answered at once, once', async t => {
  const store = sharedStore()
  const a = await serverOn(t, store, new ScriptedLLM([{ chunks: ['It is '], hangAfter: true }]))
  const first = await connect(a)
  const { id } = await first.next('ready') as { id: string }
  first.send({ type: 'text', text: QUESTION })
  await first.next('llm-chunk')
  t.equal((await store.get(id))?.openTurn !== undefined, true, 'mid-answer, the record holds the question with its turn open')

  const llmB = new ScriptedLLM([['It is noon.']])
  const b = await serverOn(t, store, llmB)
  const second = await resumeOn(t, b, id)
  const llm = await second.next('llm')
  t.same(llm, { type: 'llm', text: 'It is noon.' })
  await second.next('tts-complete')
  t.match(second.messages.find(m => m.type === 'transcript'), { text: QUESTION, isFinal: true })
  t.same(llmB.requests[0]?.messages.at(-1), { role: 'user', content: QUESTION })
  await stored(async () => (await store.get(id))?.history.at(-1)?.content === 'It is noon.', 'the answer saved')
  t.equal((await store.get(id))?.openTurn, undefined, 'and the turn closed')

  // The client moves on once more: nothing is answered again.
  second.ws.close()
  const llmC = new ScriptedLLM([])
  const third = await resumeOn(t, await serverOn(t, store, llmC), id)
  await settled(third)
  t.equal(llmC.requests.length, 0, 'the third server asks the LLM nothing')
  t.notOk(third.messages.some(m => m.type === 'transcript' || m.type === 'llm-chunk'))
})

t.test('a client dropped mid-turn and back on the same live server: its question is not taken over', async t => {
  const store = sharedStore()
  const llm = new ScriptedLLM(['hang'])
  const a = await serverOn(t, store, llm)
  const first = await connectOverNetwork(a)
  const { id } = await first.next('ready') as { id: string }
  first.send({ type: 'text', text: QUESTION })
  await until(() => llm.requests.length === 1, 'the LLM call')
  first.ws.terminate()
  await until(() => llm.aborted === 1, 'the turn cancelled with the connection')
  await stored(async () => (await store.get(id))?.openTurn === undefined, 'the record without an open turn')
  const again = await resumeOn(t, a, id)
  await settled(again)
  t.equal(llm.requests.length, 1, 'no second LLM call')
  t.notOk(again.messages.some(m => m.type === 'transcript'))
  t.same((await store.get(id))?.history.at(-1), { role: 'user', content: QUESTION }, 'the question stays in the history, as documented for a drop')
})

t.test('an answer cut by a barge-in (its heard part saved) is not answered again elsewhere', async t => {
  const store = sharedStore()
  const a = await serverOn(t, store, new ScriptedLLM([{ chunks: ['It is noon, and the weather is fine. ', 'More.'], hangAfter: true }, ['Bye.']]))
  const first = await connect(a)
  const { id } = await first.next('ready') as { id: string }
  first.send({ type: 'text', text: QUESTION })
  await first.next('tts-chunk')
  // A new text interrupts the answer (as speech would): its heard part is saved, then the new turn runs.
  first.send({ type: 'text', text: 'thanks' })
  await first.next('tts-cancelled')
  await stored(async () => (await store.get(id))?.history.at(-1)?.content === 'Bye.', 'the new turn saved')
  const saved = await store.get(id)
  t.same(saved?.history.map(m => m.role), ['user', 'assistant', 'user', 'assistant'], 'question, heard part, new words, answer')
  const llmB = new ScriptedLLM([])
  const second = await resumeOn(t, await serverOn(t, store, llmB), id)
  await settled(second)
  t.equal(llmB.requests.length, 0)
})
