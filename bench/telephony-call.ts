/**
 * A simulated Twilio call for the phone-call benchmarks (bench/telephony-latency.ts,
 * bench/telephony-capacity.ts): the signed voice webhook, then the Media Streams WebSocket as Twilio
 * speaks it (`connected`, `start` with the per-call token, 20 ms μ-law `media` messages, marks echoed),
 * the same wire as test/telephony/twilio-call.test.ts. Pacing is left to the caller (`sendAudio`), so
 * that many calls can share one timer.
 */
import { once } from 'node:events'
import twilio from 'twilio'
import WebSocket from 'ws'
import { g711SampleCodec } from '../lib/telephony/g711.js'

export const TWILIO_AUTH_TOKEN = 'bench-twilio-auth-token'
export const PUBLIC_URL = 'https://voice.example.test'
const WEBHOOK_PATH = '/telephony/twilio/voice'
/** Bytes of one 20 ms μ-law message at 8 kHz. */
export const MESSAGE_BYTES = 160

/** A server's media message is late (a stall) when it leaves more than this after its due time, 20 ms after the one before. */
export const LATE_MESSAGE_MS = 20

/** The server's telephony options these calls need. */
export const telephonyOptions = { twilio: { authToken: TWILIO_AUTH_TOKEN }, publicUrl: PUBLIC_URL }

export class TwilioCall {
  readonly socket: WebSocket
  readonly callSid: string
  readonly streamSid: string
  /** Each outbound `media` message of the server: its μ-law payload and when it arrived (performance.now()). */
  onMedia: (payload: Buffer, at: number) => void = () => {}
  #sequence = 1
  #chunk = 0

  private constructor (socket: WebSocket, callSid: string) {
    this.socket = socket
    this.callSid = callSid
    this.streamSid = 'MZ' + callSid
    socket.on('message', (data) => {
      const at = performance.now()
      const message = JSON.parse(data.toString()) as { event: string, media?: { payload: string }, mark?: { name: string } }
      if (message.event === 'media') this.onMedia(Buffer.from(message.media?.payload ?? '', 'base64'), at)
      // Twilio echoes a mark once the audio sent before it has played; here at once (no playout buffer).
      else if (message.event === 'mark') this.#send({ event: 'mark', sequenceNumber: String(++this.#sequence), streamSid: this.streamSid, mark: message.mark })
    })
  }

  /** Posts the signed webhook to `base` (host:port), opens the media stream and sends `connected` + `start`. */
  static async dial (base: string, callSid: string): Promise<TwilioCall> {
    const fields = { AccountSid: 'AC0000', CallSid: callSid, From: '+15550100', To: '+15550199', CallStatus: 'ringing', Direction: 'inbound' }
    const signature = twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, `${PUBLIC_URL}${WEBHOOK_PATH}`, fields)
    const response = await fetch(`http://${base}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(fields).toString()
    })
    const xml = await response.text()
    const url = /<Stream url="([^"]+)"/.exec(xml)?.[1]
    const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1]
    if (response.status !== 200 || url === undefined || token === undefined) throw new Error(`webhook answered ${response.status}: ${xml}`)
    const socket = new WebSocket(url.replace(PUBLIC_URL.replace('https', 'wss'), `ws://${base}`))
    const call = new TwilioCall(socket, callSid)
    await once(socket, 'open')
    call.#send({ event: 'connected', protocol: 'Call', version: '1.0.0' })
    call.#send({
      event: 'start',
      sequenceNumber: String(++call.#sequence),
      start: {
        accountSid: 'AC0000',
        streamSid: call.streamSid,
        callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: { token }
      },
      streamSid: call.streamSid
    })
    return call
  }

  /** One inbound `media` message: 20 ms of the caller's μ-law (`payload`, 160 bytes). */
  sendAudio (payload: Uint8Array): void {
    const n = this.#chunk++
    this.#send({
      event: 'media',
      sequenceNumber: String(++this.#sequence),
      media: { track: 'inbound', chunk: String(n + 1), timestamp: String(n * 20), payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64') },
      streamSid: this.streamSid
    })
  }

  /** Twilio's `stop`, then the socket closed. */
  async hangUp (): Promise<void> {
    this.#send({ event: 'stop', sequenceNumber: String(++this.#sequence), streamSid: this.streamSid, stop: { accountSid: 'AC0000', callSid: this.callSid } })
    if (this.socket.readyState === WebSocket.CLOSED) return
    const closed = once(this.socket, 'close')
    this.socket.close()
    await closed
  }

  #send (message: object): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }
}

const mulaw = g711SampleCodec('mulaw')

/** The loudest sample of a μ-law payload. */
export function mulawPeak (payload: Uint8Array): number {
  let peak = 0
  for (const byte of payload) peak = Math.max(peak, Math.abs(mulaw.decode(byte)))
  return peak
}
