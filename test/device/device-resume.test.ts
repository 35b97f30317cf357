import { once } from 'node:events'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { DeviceStreams } from '../../plugins/device/device-streams.js'
import { silentLogger } from '../../lib/logger.js'
import { buildApp } from '../helpers/app.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

// A device whose socket drops (terminate(): no close frame, as when Wi-Fi goes) and comes back with the
// session id and resume token of its `ready`, within the reconnect grace or after it.

interface Control { type: string, mark?: string, code?: string, id?: string, token?: string, resumed?: boolean, [key: string]: unknown }

const RATE = 16000

async function deviceApp (t: Test, providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS }, options: LLMRTCPluginOptions = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildApp(t, { webrtc: false, providers, device: {}, ...options })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `ws://127.0.0.1:${address.port}/device` }
}

class Device {
  readonly controls: Control[] = []
  readonly audio: Buffer[] = []
  readonly socket: WebSocket
  readonly closed: Promise<number>

  constructor (url: string) {
    this.socket = new WebSocket(url)
    this.closed = new Promise(resolve => { this.socket.on('close', (code) => { resolve(code) }) })
    this.socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.audio.push(data as Buffer)
        return
      }
      const message = JSON.parse(data.toString()) as Control
      this.controls.push(message)
      if (message.type === 'mark') this.send({ type: 'played', mark: message.mark })
    })
  }

  /** Opens, sends `start` (with `resume`'s id and token when given) and waits for `ready`. */
  async start (resume?: { id: string, token: string }): Promise<Control> {
    await once(this.socket, 'open')
    this.send({ type: 'start', codec: 'pcm16', sampleRate: RATE, ...(resume !== undefined ? { sessionId: resume.id, token: resume.token } : {}) })
    return await this.waitFor('ready')
  }

  send (message: object): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  async speak (phrase: string): Promise<void> {
    const pcm = concat(silence(300, RATE), await synthesizeSpeech(phrase, RATE), silence(1200, RATE))
    const frame = RATE / 50
    const started = Date.now()
    for (let i = 0, n = 0; i < pcm.length; i += frame, n++) {
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(pcm.slice(i, i + frame), { binary: true })
      const wait = started + (n + 1) * 20 - Date.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    }
  }

  async waitFor (type: string, timeoutMs = 20_000): Promise<Control> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.controls.find(m => m.type === type)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`no ${type} message (got ${this.controls.map(m => m.type).join(' ')})`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
}

function resumeOf (ready: Control): { id: string, token: string } {
  return { id: String(ready.id), token: String(ready.token) }
}

t.test('a dropped device socket resumes its session within the grace: history kept, the answer on the new socket', async t => {
  const llm = new ScriptedLLM([['The kitchen lights are on.'], ['You asked me to turn on the kitchen lights.']])
  const stt = new ScriptedSTT(['Turn on the kitchen lights.', 'What did I ask?'])
  const { app, url } = await deviceApp(t, { llm, stt, tts: new ScriptedTTS() })
  const first = new Device(url)
  t.teardown(() => { first.socket.terminate() })
  const ready = await first.start()
  t.match(ready, { type: 'ready', resumed: false }, 'a fresh session')
  t.type(ready.token, 'string', 'ready carries a resume token')
  t.ok(String(ready.token).length >= 32, 'an unguessable one')
  await first.speak('Turn on the kitchen lights.')
  await first.waitFor('tts-complete')
  await app.llmrtcPipeline.idle()

  first.socket.terminate()
  await first.closed
  await new Promise(resolve => setTimeout(resolve, 100))
  const waiting = app.llmrtcSessions.get(String(ready.id))
  t.ok(waiting !== undefined, 'a dropped socket leaves the session for the reconnect grace')
  t.equal(waiting?.connected, false, 'not connected while it waits')

  const second = new Device(url)
  t.teardown(() => { second.socket.terminate() })
  const resumed = await second.start(resumeOf(ready))
  t.match(resumed, { type: 'ready', id: ready.id, resumed: true, codec: 'pcm16', sampleRate: RATE }, 'the same session, resumed')
  t.not(resumed.token, ready.token, 'with a new token (the old one is spent)')
  t.notOk(second.controls.some(m => m.type === 'error'), 'no error')
  t.equal(app.llmrtcSessions.size, 1, 'no second session')
  await second.speak('What did I ask?')
  await second.waitFor('tts-complete')
  await app.llmrtcPipeline.idle()
  t.match(llm.requests[1]?.messages.filter(m => m.role !== 'system'), [
    { role: 'user', content: 'Turn on the kitchen lights.' },
    { role: 'assistant', content: 'The kitchen lights are on.' },
    { role: 'user', content: 'What did I ask?' }
  ], 'the second turn\'s LLM request carries the history from before the drop')
  t.ok(second.audio.length > 0, 'the answer streamed to the new socket')

  // The spent token no longer resumes anything: a new session, told why.
  const replay = new Device(url)
  t.teardown(() => { replay.socket.terminate() })
  const refused = await replay.start(resumeOf(ready))
  t.match(replay.controls[0], { type: 'error', code: 'SESSION_NOT_FOUND' }, 'the spent token: SESSION_NOT_FOUND')
  t.match(refused, { resumed: false }, 'and a new session')
  t.not(refused.id, ready.id)
  t.equal(second.socket.readyState, WebSocket.OPEN, 'the resumed device is untouched')
})

t.test('a resume while the old socket is still open takes the session over: the old socket closes with 4001', async t => {
  const { app, url } = await deviceApp(t, { llm: new ScriptedLLM([['Hello again.']]), stt: new ScriptedSTT(['Hello.']), tts: new ScriptedTTS() })
  const first = new Device(url)
  t.teardown(() => { first.socket.terminate() })
  const ready = await first.start()
  const second = new Device(url)
  t.teardown(() => { second.socket.terminate() })
  t.match(await second.start(resumeOf(ready)), { id: ready.id, resumed: true })
  t.equal(await first.closed, 4001, 'the old socket was closed: resumed elsewhere')
  await second.speak('Hello.')
  await second.waitFor('tts-complete')
  t.ok(second.audio.length > 0, 'the answer goes to the new socket')
  t.equal(first.audio.length, 0, 'none to the old one')
  t.equal(app.llmrtcSessions.size, 1)
})

t.test('a wrong token is refused (as not found) and the session stays with its device', async t => {
  const { app, url } = await deviceApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const owner = new Device(url)
  t.teardown(() => { owner.socket.terminate() })
  const ready = await owner.start()
  const stranger = new Device(url)
  t.teardown(() => { stranger.socket.terminate() })
  const answer = await stranger.start({ id: String(ready.id), token: 'guessed-token-guessed-token-guessed-token' })
  t.match(stranger.controls[0], { type: 'error', code: 'SESSION_NOT_FOUND' }, 'SESSION_NOT_FOUND: the session\'s existence is not revealed')
  t.match(answer, { resumed: false }, 'the stranger gets a session of its own')
  t.not(answer.id, ready.id)
  t.equal(owner.socket.readyState, WebSocket.OPEN, 'the owner\'s socket stays open')
  t.equal(app.llmrtcSessions.get(String(ready.id))?.connected, true, 'and its session bound to it')

  const malformed = new Device(url)
  await once(malformed.socket, 'open')
  malformed.send({ type: 'start', codec: 'pcm16', sampleRate: RATE, sessionId: ready.id })
  t.equal(await malformed.closed, 1007, 'a sessionId without a token: INVALID_MESSAGE and close 1007')
  t.match(malformed.controls, [{ type: 'error', code: 'INVALID_MESSAGE', message: /start.token/ }])
})

t.test('after the grace the session is gone: the resume gets a new session', async t => {
  const { app, url } = await deviceApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { reconnectGraceMs: 100 })
  const first = new Device(url)
  const ready = await first.start()
  first.socket.terminate()
  await first.closed
  await new Promise(resolve => setTimeout(resolve, 250))
  app.llmrtcSessions.sweep()
  t.equal(app.llmrtcSessions.get(String(ready.id)), undefined, 'the grace is over: the session ended')
  const late = new Device(url)
  t.teardown(() => { late.socket.terminate() })
  const answer = await late.start(resumeOf(ready))
  t.match(late.controls[0], { type: 'error', code: 'SESSION_NOT_FOUND' }, 'told the session is gone')
  t.match(answer, { type: 'ready', resumed: false }, 'a new session')
  t.not(answer.id, ready.id)
  t.equal(app.llmrtcSessions.size, 1)
})

t.test('a clean close or stop ends the session at once; a drop does not', async t => {
  const { app, url } = await deviceApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const stopping = new Device(url)
  await stopping.start()
  stopping.send({ type: 'stop' })
  t.equal(await stopping.closed, 1000, 'stop: closed normally')
  const closing = new Device(url)
  await closing.start()
  closing.socket.close(1000)
  await closing.closed
  const dropping = new Device(url)
  const dropped = await dropping.start()
  dropping.socket.terminate()
  await dropping.closed
  await new Promise(resolve => setTimeout(resolve, 100))
  t.same(app.llmrtcSessions.list().map(session => session.id), [dropped.id], 'only the dropped device\'s session waits')
})

t.test('DeviceStreams: a second stream for a session closes the first: closed, then media', async t => {
  const streams = new DeviceStreams(silentLogger)
  const events: string[] = []
  streams.transport.on('media', (id) => { events.push(`media ${id}`) })
  streams.transport.on('closed', (id) => { events.push(`closed ${id}`) })
  const wire = { sendAudio: () => {}, sendControl: () => {} }
  const old = streams.open('s1', { codec: 'pcm16', sampleRate: 16000 }, wire)
  const resumed = streams.open('s1', { codec: 'mulaw', sampleRate: 8000 }, wire)
  t.same(events, ['media s1', 'closed s1', 'media s1'])
  t.ok(old.closed, 'the old media is closed')
  t.equal(streams.get('s1'), resumed)
  streams.close('s1', old)
  t.equal(streams.get('s1'), resumed, 'closing the old media (its socket went later) leaves the new stream')
  t.same(events.length, 3, 'and emits nothing')
  streams.closeAll()
  t.same(events.at(-1), 'closed s1')
  t.ok(resumed.closed)
})
