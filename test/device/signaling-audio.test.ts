import { once } from 'node:events'
import { Decoder, Encoder } from '@evan/opus'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { WebRTCTestClient, isolateNetwork } from '../helpers/webrtc-client.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

// Device audio over the signaling WebSocket itself: a client written in the test connects as the
// published client does (`ready`), sends `audio-stream-start`, streams espeak-ng speech in real time as
// 20 ms Opus binary frames on the same socket, and acknowledges the server's marks with `played`.
// (The WebRTC test at the end makes a real peer: the file runs in a loopback-only namespace where it can.)
isolateNetwork()

interface Message { type: string, mark?: string, code?: string, message?: string, [key: string]: unknown }

async function signalingApp (t: Test, providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS }, options: LLMRTCPluginOptions = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildApp(t, { webrtc: false, providers, device: {}, ...options })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `ws://127.0.0.1:${address.port}/` }
}

const RATE = 16000

class StreamingClient {
  readonly messages: Message[] = []
  readonly audio: Buffer[] = []
  readonly socket: WebSocket
  readonly #encoder = new Encoder({ channels: 1, sample_rate: RATE, application: 'voip' })
  readonly #decoder = new Decoder({ channels: 1, sample_rate: RATE })
  /** Answer marks with `played` (a client with a playback buffer does once the audio before them played). */
  acknowledge = true

  constructor (url: string) {
    this.socket = new WebSocket(url)
    this.socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.audio.push(data as Buffer)
        return
      }
      const message = JSON.parse(data.toString()) as Message
      this.messages.push(message)
      if (message.type === 'mark' && this.acknowledge) this.send({ type: 'played', mark: message.mark })
    })
  }

  async ready (): Promise<Message> {
    await once(this.socket, 'open')
    return await this.waitFor('ready')
  }

  send (message: object): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  /** Streams PCM as 20 ms Opus binary frames, in real time. */
  async speak (pcm: Int16Array): Promise<void> {
    const frame = RATE / 50
    const started = Date.now()
    for (let i = 0, n = 0; i < pcm.length; i += frame, n++) {
      const chunk = new Int16Array(frame)
      chunk.set(pcm.subarray(i, i + frame))
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(this.#encoder.encode(chunk), { binary: true })
      const wait = started + (n + 1) * 20 - Date.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    }
  }

  async waitFor (type: string, match: (message: Message) => boolean = () => true, timeoutMs = 20_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.messages.find(m => m.type === type && match(m))
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`no ${type} message (got ${this.messages.map(m => m.type).join(' ')})`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  errors (): Message[] { return this.messages.filter(m => m.type === 'error') }

  /** The server's speech so far, decoded from its Opus frames. */
  heard (): Int16Array {
    return concat(...this.audio.map(frame => {
      const bytes = this.#decoder.decode(frame)
      const pcm = new Int16Array(bytes.length >> 1)
      new Uint8Array(pcm.buffer).set(bytes.subarray(0, pcm.length * 2))
      return pcm
    }))
  }
}

function peak (pcm: Int16Array): number {
  let max = 0
  for (const sample of pcm) max = Math.max(max, Math.abs(sample))
  return max
}

t.test('a whole turn over the signaling socket: Opus frames of speech in, the answer back as Opus frames', async t => {
  const llm = new ScriptedLLM([['Hello there, the lights are on.']])
  const stt = new ScriptedSTT(['Turn on the kitchen lights.'])
  const { app, url } = await signalingApp(t, { llm, stt, tts: new ScriptedTTS() })
  const client = new StreamingClient(url)
  t.teardown(() => { client.socket.terminate() })
  const ready = await client.ready()
  t.equal(ready.protocolVersion, 1, 'the published protocol\'s ready comes first, unchanged')
  client.send({ type: 'ping', timestamp: 7 })
  t.same(await client.waitFor('pong'), { type: 'pong', timestamp: 7 }, 'the published client\'s messages keep working')

  client.send({ type: 'audio-stream-start', codec: 'opus', sampleRate: RATE })
  t.same(await client.waitFor('audio-stream-started'), { type: 'audio-stream-started', codec: 'opus', sampleRate: RATE, frameMs: 20 }, 'the stream is acknowledged with its format')
  await client.speak(concat(silence(300, RATE), await synthesizeSpeech('Turn on the kitchen lights.', RATE), silence(1200, RATE)))
  await client.waitFor('mark')
  await client.waitFor('tts-complete')
  await app.llmrtcPipeline.idle()
  t.equal(stt.calls.length, 1, 'server VAD cut one utterance, transcribed once')
  t.match(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'Turn on the kitchen lights.' }, 'the LLM got the transcript')
  const types = client.messages.map(m => m.type)
  t.ok(types.includes('transcript') && types.includes('tts-start'), 'the session\'s messages come on the same socket')
  t.notOk(types.includes('tts-chunk'), 'the answer is not sent as tts-chunk messages: it streams as binary frames')
  t.equal(client.errors().length, 0, 'no error: binary frames are audio once the stream started')
  const heard = client.heard()
  t.ok(heard.length > RATE * 0.2, `the answer came back as Opus frames (${client.audio.length} frames, ${heard.length} samples)`)
  t.ok(peak(heard) > 1000, 'the answer is not silence')
  t.match(app.llmrtcSessions.get(String(ready.id))?.history.messages.at(-1), { role: 'assistant', content: 'Hello there, the lights are on.' }, 'the turn completed once its marks were played')

  client.send({ type: 'audio-stream-stop' })
  await new Promise(resolve => setTimeout(resolve, 100))
  client.socket.send(new Uint8Array([1, 2, 3]), { binary: true })
  const error = await client.waitFor('error')
  t.equal(error.code, 'INVALID_MESSAGE', 'after audio-stream-stop, a binary frame is an error again')
  t.ok(app.llmrtcSessions.get(String(ready.id)) !== undefined, 'the session goes on after the stream stopped')
})

t.test('barge-in over the signaling socket: speaking during a long answer makes the server send clear', async t => {
  const full = 'This is a rather long answer that keeps going on and on for quite a while, so you can interrupt it.'
  const llm = new ScriptedLLM([[full]])
  const stt = new ScriptedSTT(['Tell me everything.', 'Stop.'])
  const { app, url } = await signalingApp(t, { llm, stt, tts: new ScriptedTTS(60) })
  const client = new StreamingClient(url)
  t.teardown(() => { client.socket.terminate() })
  const ready = await client.ready()
  client.send({ type: 'audio-stream-start', codec: 'opus', sampleRate: RATE })
  await client.waitFor('audio-stream-started')
  await client.speak(concat(silence(300, RATE), await synthesizeSpeech('Tell me everything.', RATE), silence(1200, RATE)))
  const deadline = Date.now() + 20_000
  while (client.audio.length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.ok(client.audio.length > 0, 'the answer started')
  t.notOk(client.messages.some(m => m.type === 'clear'), 'no clear before the client interrupts')
  await client.speak(concat(await synthesizeSpeech('Stop stop please stop talking now.', RATE), silence(1200, RATE)))
  t.same(await client.waitFor('clear'), { type: 'clear' }, 'clear tells the client to drop its playback buffer')
  await app.llmrtcPipeline.idle()
  const said = app.llmrtcSessions.get(String(ready.id))?.history.messages.find(m => m.role === 'assistant')
  t.ok(full.startsWith(String(said?.content)) && String(said?.content).length < full.length, `history keeps only the words played before the cut ("${String(said?.content)}")`)
})

t.test('bad input on the signaling socket gets typed errors, never a crash, and the connection goes on', async t => {
  const { app, url } = await signalingApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const client = new StreamingClient(url)
  t.teardown(() => { client.socket.terminate() })
  await client.ready()
  client.socket.send(new Uint8Array([0xf8, 0xff, 0xfe]), { binary: true })
  t.match(await client.waitFor('error'), { code: 'INVALID_MESSAGE', message: /Binary frames/ }, 'audio before audio-stream-start: the published protocol\'s binary-frame error')
  client.send({ type: 'audio-stream-start', codec: 'speex', sampleRate: 16000 })
  t.match(await client.waitFor('error', m => /codec/.test(String(m.message))), { code: 'INVALID_MESSAGE', message: /audio-stream-start.*codec must be one of opus, pcm16, mulaw/ }, 'an unknown codec: INVALID_MESSAGE naming the choices')
  client.send({ type: 'audio-stream-start', codec: 'pcm16', sampleRate: 44100 })
  t.match(await client.waitFor('error', m => /sampleRate/.test(String(m.message))), { code: 'INVALID_MESSAGE' }, 'a rate the codec does not take: INVALID_MESSAGE')
  client.send({ type: 'audio-stream-start', codec: 42 })
  t.match(await client.waitFor('error', m => /codec/.test(String(m.message)) && !/must be one of/.test(String(m.message))), { code: 'INVALID_MESSAGE' }, 'a codec that is not a string: the schema refuses it')
  client.send({ type: 'played' })
  t.match(await client.waitFor('error', m => /played/.test(String(m.message))), { code: 'INVALID_MESSAGE' }, 'played without a mark: INVALID_MESSAGE')
  t.notOk(client.messages.some(m => m.type === 'audio-stream-started'), 'no stream was started')

  client.send({ type: 'audio-stream-start', codec: 'opus', sampleRate: 16000 })
  await client.waitFor('audio-stream-started')
  const errorsBefore = client.errors().length
  client.socket.send(Buffer.from('not an opus packet at all, just bytes'), { binary: true })
  client.send({ type: 'played', mark: 'never-sent' })
  client.send({ type: 'ping', timestamp: 9 })
  await client.waitFor('pong', m => m.timestamp === 9)
  t.equal(client.errors().length, errorsBefore, 'an undecodable frame is dropped and an unknown mark ignored, as on the device socket')
  t.equal(app.llmrtcSessions.size, 1, 'the server goes on with the one session')
})

t.test('reconnect on a streaming connection: the stream goes on for the resumed session', async t => {
  const llm = new ScriptedLLM([['Welcome back.']])
  const stt = new ScriptedSTT(['I am back.'])
  const { app, url } = await signalingApp(t, { llm, stt, tts: new ScriptedTTS() })
  const earlier = new StreamingClient(url)
  const earlierReady = await earlier.ready()
  earlier.socket.close()
  await once(earlier.socket, 'close')
  const client = new StreamingClient(url)
  t.teardown(() => { client.socket.terminate() })
  const fresh = await client.ready()
  client.send({ type: 'audio-stream-start', codec: 'opus', sampleRate: RATE })
  await client.waitFor('audio-stream-started')
  client.send({ type: 'reconnect', sessionId: earlierReady.id })
  t.match(await client.waitFor('reconnect-ack'), { success: true, sessionId: earlierReady.id }, 'the earlier session resumed')
  t.equal(app.llmrtcSessions.get(String(fresh.id)), undefined, 'the fresh session was dropped')
  await client.speak(concat(silence(300, RATE), await synthesizeSpeech('I am back.', RATE), silence(1200, RATE)))
  await client.waitFor('tts-complete')
  await app.llmrtcPipeline.idle()
  t.match(app.llmrtcSessions.get(String(earlierReady.id))?.history.messages.filter(m => m.role !== 'system'), [
    { role: 'user', content: 'I am back.' },
    { role: 'assistant', content: 'Welcome back.' }
  ], 'the streamed turn went to the resumed session')
  t.ok(client.audio.length > 0, 'and its answer came back on the stream')
  t.equal(app.llmrtcSessions.get(String(earlierReady.id))?.transport, 'device', 'the session is labelled a device session')
})

t.test('without the device option, audio-stream-start is refused with a typed error', async t => {
  const app = await buildApp(t, { webrtc: false, providers: { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const client = new StreamingClient(`ws://127.0.0.1:${address.port}/`)
  t.teardown(() => { client.socket.terminate() })
  await client.ready()
  client.send({ type: 'audio-stream-start', codec: 'opus' })
  t.match(await client.waitFor('error'), { code: 'INVALID_MESSAGE', message: /device audio is not enabled/ })
})

t.test('a session streams over the WebSocket or has WebRTC media, never both', async t => {
  const { url } = await signalingApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, { webrtc: {} })
  const peer = await WebRTCTestClient.connect(url)
  t.teardown(async () => { await peer.close() })
  peer.send({ type: 'audio-stream-start', codec: 'opus', sampleRate: 48000 })
  const refused = await peer.waitFor(m => m.type === 'error')
  t.match(refused, { code: 'INVALID_MESSAGE', message: /has WebRTC media/ }, 'audio-stream-start with a WebRTC peer: refused')
  t.notOk(peer.wsMessages.some(m => (m.type as string) === 'audio-stream-started'), 'no stream started')

  const streaming = new StreamingClient(url)
  t.teardown(() => { streaming.socket.terminate() })
  await streaming.ready()
  streaming.send({ type: 'audio-stream-start', codec: 'opus', sampleRate: 16000 })
  await streaming.waitFor('audio-stream-started')
  streaming.send({ type: 'offer', signal: { type: 'offer', sdp: 'v=0\r\n' } })
  t.match(await streaming.waitFor('error'), { code: 'INVALID_MESSAGE', message: /audio-stream-stop before an offer/ }, 'an offer while streaming: refused')
  t.notOk(streaming.messages.some(m => m.type === 'signal'), 'no answer was sent')
})
