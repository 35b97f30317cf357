import t, { type Test } from 'tap'
import twilio from 'twilio'
import WebSocket from 'ws'
import type { LLMRTCPluginOptions } from '../../plugins/llmrtc/index.js'
import { buildApp } from '../helpers/app.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { callApp, PUBLIC_URL } from './simulated-carrier.js'

// Twilio signs the media WebSocket's upgrade request: X-Twilio-Signature over the stream's wss: URL.

const AUTH_TOKEN = 'twilio-test-auth-token'
const STREAM_URL = 'wss://voice.example.test/telephony/twilio/media'

async function app (t: Test, twilioOptions: Record<string, unknown> = {}): Promise<string> {
  const telephony = { twilio: { authToken: AUTH_TOKEN, ...twilioOptions }, publicUrl: PUBLIC_URL } as LLMRTCPluginOptions['telephony']
  const { base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, telephony)
  return base
}

/** Opens the media socket with these headers: 'open', or the HTTP status the upgrade was refused with. */
async function upgrade (base: string, headers: Record<string, string>): Promise<'open' | number> {
  const socket = new WebSocket(`ws://${base}/telephony/twilio/media`, { headers })
  return await new Promise(resolve => {
    socket.on('open', () => { socket.close(); resolve('open') })
    socket.on('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0); socket.terminate() })
    socket.on('error', () => { resolve(0) })
  })
}

const good = twilio.getExpectedTwilioSignature(AUTH_TOKEN, STREAM_URL, {})
const wrongKey = twilio.getExpectedTwilioSignature('someone-elses-token', STREAM_URL, {})
const wrongUrl = twilio.getExpectedTwilioSignature(AUTH_TOKEN, 'wss://elsewhere.example.test/telephony/twilio/media', {})

t.test('by default a bad signature on the upgrade is refused; a good or missing one is let through to the token check', async t => {
  const base = await app(t)
  t.equal(await upgrade(base, { 'x-twilio-signature': wrongKey }), 403, 'signed with another account\'s token: 403')
  t.equal(await upgrade(base, { 'x-twilio-signature': wrongUrl }), 403, 'signed for another URL: 403')
  t.equal(await upgrade(base, { 'x-twilio-signature': 'garbage' }), 403, 'not a signature: 403')
  t.equal(await upgrade(base, { 'x-twilio-signature': good }), 'open', 'the right signature: upgraded')
  t.equal(await upgrade(base, {}), 'open', 'no signature: upgraded (the per-call token still guards the stream)')
})

t.test('requireStreamSignature: a missing signature is refused too', async t => {
  const base = await app(t, { requireStreamSignature: true })
  t.equal(await upgrade(base, {}), 403, 'no signature: 403')
  t.equal(await upgrade(base, { 'x-twilio-signature': wrongKey }), 403, 'a bad one: 403')
  t.equal(await upgrade(base, { 'x-twilio-signature': good }), 'open', 'the right one: upgraded')
})

t.test('requireStreamSignature must be a boolean', async t => {
  await t.rejects(buildApp(t, { webrtc: false, vad: false, telephony: { twilio: { authToken: AUTH_TOKEN, requireStreamSignature: 'yes' as never }, publicUrl: PUBLIC_URL } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /requireStreamSignature/ })
})
