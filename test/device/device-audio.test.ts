import { once } from 'node:events'
import { Decoder, Encoder } from '@evan/opus'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { decodeG711, encodeG711 } from '../../lib/telephony/g711.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

// A device written in the test: it opens the device WebSocket, sends `start` with its codec, streams
// espeak-ng speech in real time as 20 ms binary frames, and acknowledges the server's marks as a device
// does once the audio before them has played.

interface Control { type: string, mark?: string, code?: string, message?: string, [key: string]: unknown }

async function deviceApp (t: Test, providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS }, options: LLMRTCPluginOptions = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildApp(t, { webrtc: false, providers, device: {}, ...options })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `ws://127.0.0.1:${address.port}/device` }
}

type Codec = 'opus' | 'pcm16' | 'mulaw'

class Device {
  readonly controls: Control[] = []
  readonly audio: Buffer[] = []
  readonly socket: WebSocket
  readonly closed: Promise<number>
  closeCode: number | undefined
  readonly #encoder: Encoder | undefined
  readonly #decoder: Decoder | undefined

  constructor (url: string, readonly codec: Codec, readonly sampleRate: number) {
    if (codec === 'opus') {
      this.#encoder = new Encoder({ channels: 1, sample_rate: sampleRate as 48000, application: 'voip' })
      this.#decoder = new Decoder({ channels: 1, sample_rate: sampleRate as 48000 })
    }
    this.socket = new WebSocket(url)
    this.closed = new Promise(resolve => { this.socket.on('close', (code) => { this.closeCode = code; resolve(code) }) })
    this.socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.audio.push(data as Buffer)
        return
      }
      const message = JSON.parse(data.toString()) as Control
      this.controls.push(message)
      // A device answers a mark once everything sent before it has played.
      if (message.type === 'mark') this.send({ type: 'played', mark: message.mark })
    })
  }

  async open (start: object = { type: 'start', codec: this.codec, sampleRate: this.sampleRate }): Promise<void> {
    await once(this.socket, 'open')
    this.send(start)
  }

  send (message: object): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  /** Streams PCM at the device's rate as 20 ms binary frames, in real time. */
  async speak (pcm: Int16Array): Promise<void> {
    const frame = this.sampleRate / 50
    const started = Date.now()
    for (let i = 0, n = 0; i < pcm.length; i += frame, n++) {
      const chunk = new Int16Array(frame)
      chunk.set(pcm.subarray(i, i + frame))
      const payload = this.#encoder !== undefined ? this.#encoder.encode(chunk) : this.codec === 'mulaw' ? encodeG711('mulaw', chunk) : new Uint8Array(chunk.buffer)
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(payload, { binary: true })
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

  /** The server's speech so far, decoded. */
  heard (): Int16Array {
    return concat(...this.audio.map(frame => {
      if (this.codec === 'mulaw') return decodeG711('mulaw', frame)
      const bytes = this.#decoder !== undefined ? this.#decoder.decode(frame) : new Uint8Array(frame)
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

async function wholeTurn (t: Test, codec: Codec, sampleRate: number): Promise<void> {
  const llm = new ScriptedLLM([['Hello device, how can I help?']])
  const stt = new ScriptedSTT(['Turn on the kitchen lights.'])
  const { app, url } = await deviceApp(t, { llm, stt, tts: new ScriptedTTS() })
  const device = new Device(url, codec, sampleRate)
  t.teardown(() => { device.socket.terminate() })
  await device.open()
  const ready = await device.waitFor('ready')
  t.match(ready, { type: 'ready', codec, sampleRate, frameMs: 20 }, 'ready names the codec')
  t.equal(app.llmrtcSessions.list().length, 1, 'the device has a session')
  t.equal(ready.id, app.llmrtcSessions.list()[0]?.id, 'ready carries the session id')

  const speech = await synthesizeSpeech('Turn on the kitchen lights.', sampleRate)
  await device.speak(concat(silence(300, sampleRate), speech, silence(1200, sampleRate)))
  await device.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.equal(stt.calls.length, 1, 'the speech was transcribed once (server VAD cut one utterance)')
  t.match(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'Turn on the kitchen lights.' }, 'the LLM got the transcript')
  const types = device.controls.map(m => m.type)
  t.ok(types.includes('transcript'), 'session messages are forwarded as JSON text frames')
  t.ok(types.includes('tts-start'), 'tts-start is forwarded')
  const heard = device.heard()
  t.ok(heard.length > sampleRate * 0.2, `the answer was streamed back as ${codec} frames (${heard.length} samples)`)
  t.ok(peak(heard) > 1000, 'the answer is not silence')
  if (codec === 'pcm16') {
    // 20 ms frames; only the frame a mark follows may be shorter (the rest of the answer, not padded).
    t.ok(device.audio.slice(0, -1).every(frame => frame.length === sampleRate / 50 * 2), 'pcm16 frames of 20 ms')
    t.ok((device.audio.at(-1)?.length ?? 0) <= sampleRate / 50 * 2 && (device.audio.at(-1)?.length ?? 1) % 2 === 0, 'the last one at most 20 ms, whole samples')
  }
  await app.llmrtcPipeline.idle()
  t.match(app.llmrtcSessions.list()[0]?.history.messages.at(-1), { role: 'assistant', content: 'Hello device, how can I help?' }, 'the turn completed once played')

  device.socket.close()
  await device.closed
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(app.llmrtcSessions.list().length, 0, 'closing the socket ended the session')
  t.equal(app.llmrtcPipeline.size, 0, 'and its pipeline')
}

t.test('a device streams Opus 20 ms frames of speech and hears the answer as Opus', async t => {
  await wholeTurn(t, 'opus', 48000)
})

t.test('the same with pcm16 at 16 kHz', async t => {
  await wholeTurn(t, 'pcm16', 16000)
})

t.test('the same with μ-law at 8 kHz', async t => {
  await wholeTurn(t, 'mulaw', 8000)
})

t.test('barge-in: speaking during a long answer makes the server send clear', async t => {
  const full = 'This is a rather long answer that keeps going on and on for quite a while, so you can interrupt it.'
  const llm = new ScriptedLLM([[full]])
  const stt = new ScriptedSTT(['Tell me everything.', 'Stop.'])
  const { app, url } = await deviceApp(t, { llm, stt, tts: new ScriptedTTS(60) })
  const device = new Device(url, 'opus', 16000)
  t.teardown(() => { device.socket.terminate() })
  await device.open()
  await device.waitFor('ready')
  await device.speak(concat(silence(300, 16000), await synthesizeSpeech('Tell me everything.', 16000), silence(1200, 16000)))
  const deadline = Date.now() + 20_000
  while (device.audio.length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.ok(device.audio.length > 0, 'the answer started')
  t.notOk(device.controls.some(m => m.type === 'clear'), 'no clear before the device interrupts')
  await device.speak(concat(await synthesizeSpeech('Stop stop please stop talking now.', 16000), silence(1200, 16000)))
  const clear = await device.waitFor('clear')
  t.same(clear, { type: 'clear' }, 'clear tells the device to drop its playback buffer')
  await app.llmrtcPipeline.idle()
  const said = app.llmrtcSessions.list()[0]?.history.messages.find(m => m.role === 'assistant')
  t.type(said?.content, 'string', 'the cut answer is in history')
  t.ok(full.startsWith(String(said?.content)) && String(said?.content).length < full.length, `history keeps only the words played before the cut ("${String(said?.content)}")`)
})

t.test('a bad start gets a typed error and a close, no session, and the server keeps serving', async t => {
  const { app, url } = await deviceApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const unknown = new Device(url, 'opus', 48000)
  await unknown.open({ type: 'start', codec: 'speex', sampleRate: 16000 })
  t.equal(await unknown.closed, 1007, 'an unknown codec: closed with 1007')
  t.match(unknown.controls, [{ type: 'error', code: 'INVALID_MESSAGE', message: /codec/ }], 'a typed error names the problem')
  const badRate = new Device(url, 'pcm16', 16000)
  await badRate.open({ type: 'start', codec: 'pcm16', sampleRate: 44100 })
  t.equal(await badRate.closed, 1007, 'a rate the codec does not take: closed')
  t.match(badRate.controls, [{ type: 'error', code: 'INVALID_MESSAGE', message: /sampleRate/ }])
  const notJson = new WebSocket(url)
  await once(notJson, 'open')
  notJson.send('{not json')
  t.equal((await once(notJson, 'close'))[0], 1007, 'a malformed control frame: closed')
  t.equal(app.llmrtcSessions.list().length, 0, 'no session was created')

  const good = new Device(url, 'pcm16', 24000)
  t.teardown(() => { good.socket.terminate() })
  await good.open()
  t.match(await good.waitFor('ready'), { codec: 'pcm16', sampleRate: 24000 }, 'the next device is served')
})

t.test('the device route takes the signaling WebSocket\'s authentication', async t => {
  const { app, url } = await deviceApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, {
    authenticate: async (request) => {
      if (request.headers.authorization !== 'Bearer device-secret') throw new Error('no')
      return 'device-42'
    }
  })
  const stranger = new WebSocket(url)
  const [status] = await new Promise<[number]>(resolve => { stranger.on('unexpected-response', (_req, res) => { resolve([res.statusCode ?? 0]) }) })
  t.equal(status, 401, 'no credentials: refused before the upgrade')
  const device = new WebSocket(url, { headers: { authorization: 'Bearer device-secret' } })
  t.teardown(() => { device.terminate() })
  await once(device, 'open')
  device.send(JSON.stringify({ type: 'start', codec: 'mulaw', sampleRate: 8000 }))
  await once(device, 'message')
  t.equal(app.llmrtcSessions.list()[0]?.principal, 'device-42', 'the session belongs to the authenticated principal')
})

t.test('while the server drains, a new device is refused (SESSION_LIMIT, 1013) and gets no session', async t => {
  const { app, url } = await deviceApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  await app.llmrtcDrain.drain(100)
  const device = new Device(url, 'pcm16', 16000)
  await device.open()
  t.equal(await device.closed, 1013, 'closed with 1013 (try again later)')
  t.match(device.controls, [{ type: 'error', code: 'SESSION_LIMIT', message: /draining/ }])
  t.equal(app.llmrtcSessions.list().length, 0)
})
