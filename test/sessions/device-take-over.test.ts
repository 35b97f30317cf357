import { once } from 'node:events'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { MemorySessionStore } from '../../lib/sessions/memory-session-store.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { until } from '../helpers/ws-client.js'

// A device (plugins/device) whose server died mid-turn resumes on another server with its token: the
// question is answered there once the device's audio stream is up. Two apps in one process on one shared
// store; the "killed" one keeps the device's first socket open and its LLM hanging, so nothing on it ends the turn.

const QUESTION = 'Is the front door locked?'

interface Control { type: string, id?: string, token?: string, resumed?: boolean, mark?: string }

async function deviceServer (t: Test, store: MemorySessionStore, llm: ScriptedLLM): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildApp(t, { webrtc: false, sessionStore: store, device: {}, providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `ws://127.0.0.1:${address.port}/device` }
}

/** Opens a device socket, sends `start` (resuming when given), resolves with its controls once `ready` came. */
async function device (t: Test, url: string, resume?: { id: string, token: string }): Promise<{ controls: Control[], audio: Buffer[], ready: Control }> {
  const socket = new WebSocket(url)
  t.teardown(() => { socket.terminate() })
  const controls: Control[] = []
  const audio: Buffer[] = []
  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      audio.push(data as Buffer)
      return
    }
    const message = JSON.parse(data.toString()) as Control
    controls.push(message)
    if (message.type === 'mark') socket.send(JSON.stringify({ type: 'played', mark: message.mark }))
  })
  await once(socket, 'open')
  socket.send(JSON.stringify({ type: 'start', codec: 'pcm16', sampleRate: 16000, ...(resume !== undefined ? { sessionId: resume.id, token: resume.token } : {}) }))
  await until(() => controls.some(m => m.type === 'ready'), 'ready', 10_000).catch((err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify(controls)}`) })
  return { controls, audio, ready: controls.find(m => m.type === 'ready') as Control }
}

t.test('a device resumed on another server after its server died mid-turn hears the answer to its question', async t => {
  const store = Object.assign(new MemorySessionStore(), { shared: true as const })
  const llmA = new ScriptedLLM(['hang'])
  const a = await deviceServer(t, store, llmA)
  const first = await device(t, a.url)
  const id = String(first.ready.id)
  const session = a.app.llmrtcSessions.get(id)
  if (session === undefined) throw new Error('no session on A')
  void a.app.llmrtcPipeline.textTurn(session, QUESTION)
  await until(() => llmA.requests.length === 1, 'A asks its LLM')
  t.equal((await store.get(id))?.openTurn !== undefined, true, 'the question is saved with its turn open')

  const llmB = new ScriptedLLM([['Yes, it is locked.']])
  const b = await deviceServer(t, store, llmB)
  const second = await device(t, b.url, { id, token: String(first.ready.token) })
  t.match(second.ready, { id, resumed: true }, 'resumed on B with the token')
  await until(() => second.controls.some(m => m.type === 'tts-complete'), 'the answer on B', 10_000)
  t.same(llmB.requests[0]?.messages.filter(m => m.role !== 'system'), [{ role: 'user', content: QUESTION }], 'B\'s LLM is asked the question, once')
  t.ok(second.audio.length > 0, 'the answer streamed to the device')
  await b.app.llmrtcPipeline.idle()
  t.same((await store.get(id))?.history.map(m => m.content), [QUESTION, 'Yes, it is locked.'])
})
