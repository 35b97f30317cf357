import { once } from 'node:events'
import type { Test } from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { decodeG711, encodeG711, type G711Law } from '../../lib/telephony/g711.js'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { concat } from '../helpers/speech.js'
import type { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

// A simulated carrier's media WebSocket, for any carrier whose wire is JSON messages: the carrier's own
// message shapes come from a CarrierWire, the real-time μ-law pacing and the bookkeeping are shared.

export const PUBLIC_URL = 'https://voice.example.test'

/** A JSON message of the media WebSocket, either way. */
export type WireMessage = Record<string, unknown> & { event: string }

/** How one carrier writes its media WebSocket messages. */
export interface CarrierWire {
  /** The stream's start, carrying the per-call token as the carrier passes the markup's parameters back. */
  start: (callId: string, streamId: string, token: string) => WireMessage
  /** 20 ms of caller audio (base64 G.711 of the stream's law), the n-th of the stream. */
  media: (streamId: string, payload: string, n: number) => WireMessage
  /** What the carrier sends back for an outbound message once it has played (a mark's echo), if anything. */
  echo: (message: WireMessage, streamId: string) => WireMessage | undefined
  /** The base64 audio of an outbound audio message, or undefined for another message. */
  audio: (message: WireMessage) => string | undefined
}

/** The app on a real port, telephony configured by `telephony`. */
export async function callApp (
  t: Test,
  providers: { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS },
  telephony: LLMRTCPluginOptions['telephony'],
  options: LLMRTCPluginOptions = {}
): Promise<{ app: FastifyInstance, base: string }> {
  const app = await buildApp(t, { webrtc: false, providers, telephony, ...options })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, base: `127.0.0.1:${address.port}` }
}

/**
 * A carrier's media WebSocket: the start, then whatever the test sends; outbound marks echoed. Audio is
 * μ-law unless `law` says A-law (both ways: what it speaks and how it hears the server).
 */
export class SimulatedStream {
  readonly messages: WireMessage[] = []
  readonly socket: WebSocket
  closeCode: number | undefined
  readonly closed: Promise<number>

  constructor (readonly wire: CarrierWire, url: string, readonly callId: string, readonly streamId = 'stream-' + callId, readonly law: G711Law = 'mulaw') {
    this.socket = new WebSocket(url)
    this.closed = new Promise(resolve => { this.socket.on('close', (code) => { this.closeCode = code; resolve(code) }) })
    this.socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as WireMessage
      this.messages.push(message)
      const echo = wire.echo(message, this.streamId)
      if (echo !== undefined) this.send(echo)
    })
  }

  async open (token: string): Promise<void> {
    await once(this.socket, 'open')
    this.send(this.wire.start(this.callId, this.streamId, token))
  }

  send (message: object): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  /** Streams 8 kHz PCM as G.711 media messages of 20 ms (μ-law, or the stream's `law`), in real time. */
  async speak (pcm: Int16Array): Promise<void> {
    const started = Date.now()
    for (let i = 0, n = 0; i < pcm.length; i += 160, n++) {
      const payload = Buffer.from(encodeG711(this.law, pcm.subarray(i, i + 160))).toString('base64')
      this.send(this.wire.media(this.streamId, payload, n))
      const wait = started + (n + 1) * 20 - Date.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    }
  }

  async waitFor (event: string, timeoutMs = 20_000): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.messages.find(m => m.event === event)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`no ${event} message (got ${this.messages.map(m => m.event).join(' ')})`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  /** The outbound audio messages' payloads, raw G.711. */
  audioPayloads (): Buffer[] {
    return this.messages.map(m => this.wire.audio(m)).filter((p): p is string => p !== undefined).map(p => Buffer.from(p, 'base64'))
  }

  /** The server's speech so far, decoded with the stream's law. */
  heard (): Int16Array {
    return concat(...this.audioPayloads().map(p => decodeG711(this.law, p)))
  }
}

export function peak (pcm: Int16Array): number {
  let max = 0
  for (const sample of pcm) max = Math.max(max, Math.abs(sample))
  return max
}

/** The `<Stream>` URL (an attribute or the element's text) and a parameter of a markup answer. */
export function streamOf (xml: string): { url: string } {
  const url = /<Stream url="([^"]+)"/.exec(xml)?.[1] ?? /<Stream[^>]*>([^<]+)<\/Stream>/.exec(xml)?.[1]
  if (url === undefined) throw new Error(`no Stream in: ${xml}`)
  return { url }
}
