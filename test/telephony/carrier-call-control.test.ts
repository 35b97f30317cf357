import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto'
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { startPlivoRestMock } from '../mocks/plivo-rest-mock.js'
import { startTelnyxRestMock } from '../mocks/telnyx-rest-mock.js'
import { PUBLIC_URL } from './simulated-carrier.js'

// Telnyx and Plivo call control wired into the plugin: outbound calls through their real SDKs, against
// the loopback mocks of their REST APIs, with our webhooks as the answer URLs.

const TELNYX_PUBLIC_KEY = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64')
const providers = (): { llm: ScriptedLLM, stt: ScriptedSTT, tts: ScriptedTTS } => ({ llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })

t.test('Telnyx: call() dials through the TeXML application with our Telnyx webhook and AMD callback', async t => {
  const rest = await startTelnyxRestMock()
  t.teardown(async () => { await rest.close() })
  const app = await buildApp(t, {
    webrtc: false,
    providers: providers(),
    telephony: { telnyx: { publicKey: TELNYX_PUBLIC_KEY, apiKey: rest.apiKey, accountSid: 'ACtelnyx', applicationId: '1773070540731319841', apiBaseUrl: rest.baseUrl }, publicUrl: PUBLIC_URL }
  })
  const placed = await app.llmrtc.telephony.call({ to: '+14155550111', from: '+15550199', machineDetection: true })
  t.equal(placed.carrier, 'telnyx', 'the only carrier with call control is the default')
  t.ok(placed.callId !== '', 'the call_sid Telnyx gave')
  const create = rest.requests.at(-1)
  t.match(create?.path, /\/texml\/calls\/1773070540731319841$/)
  const url = new URL(String(create?.fields.Url))
  t.equal(`${url.origin}${url.pathname}`, `${PUBLIC_URL}/telephony/telnyx/voice`, 'Url is our Telnyx webhook')
  t.ok((url.searchParams.get('outbound') ?? '').length >= 20, 'with a one-time id')
  t.equal(create?.fields.AsyncAmdStatusCallback, `${PUBLIC_URL}/telephony/telnyx/amd`, 'detection results come to our AMD route')
  const unsigned = await app.inject({ method: 'POST', url: '/telephony/telnyx/amd', payload: { CallSid: placed.callId, AnsweredBy: 'human' } })
  t.equal(unsigned.statusCode, 403, 'the AMD route checks the signature')
})

t.test('Plivo: call() fires the call with our Plivo webhook; transfer XML is served only to signed requests', async t => {
  const rest = await startPlivoRestMock()
  t.teardown(async () => { await rest.close() })
  const app = await buildApp(t, {
    webrtc: false,
    providers: providers(),
    telephony: { plivo: { authToken: rest.authToken, authId: rest.authId, apiBaseUrl: rest.baseUrl }, publicUrl: PUBLIC_URL }
  })
  const placed = await app.llmrtc.telephony.call({ carrier: 'plivo', to: '+14155550111', from: '+15550199', machineDetection: true })
  t.equal(placed.carrier, 'plivo')
  const create = rest.requests.at(-1)
  t.match(create, { method: 'POST', path: `/v1/Account/${rest.authId}/Call/` })
  const url = new URL(String(create?.fields.answer_url))
  t.equal(`${url.origin}${url.pathname}`, `${PUBLIC_URL}/telephony/plivo/voice`, 'answer_url is our Plivo webhook')
  t.equal(create?.fields.machine_detection_url, `${PUBLIC_URL}/telephony/plivo/amd`)
  const unsigned = await app.inject({ method: 'POST', url: '/telephony/plivo/transfer?id=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'CallUUID=x' })
  t.equal(unsigned.statusCode, 403, 'the transfer XML route checks the signature')
})

t.test('without their API credentials, Telnyx and Plivo calls have no call control', async t => {
  const app = await buildApp(t, { webrtc: false, providers: providers(), telephony: { telnyx: { publicKey: TELNYX_PUBLIC_KEY }, plivo: { authToken: 'plivo-token' }, publicUrl: PUBLIC_URL } })
  await t.rejects(app.llmrtc.telephony.call({ to: '+14155550111', from: '+15550199' }), { code: 'LLMRTC_ERR_CALL_CONTROL' })
  const amd = await app.inject({ method: 'POST', url: '/telephony/plivo/amd', payload: {} })
  t.equal(amd.statusCode, 404, 'no AMD route without call control')
  await t.rejects(buildApp(t, { webrtc: false, providers: providers(), telephony: { telnyx: { publicKey: TELNYX_PUBLIC_KEY, apiKey: 'k', accountSid: '' as never, bogus: 1 } as never, publicUrl: PUBLIC_URL } }), /telephony\.telnyx\.bogus/, 'unknown Telnyx keys are refused')
})

/** Plivo's signature V3 (as test/telephony/plivo-call.test.ts writes it): HMAC-SHA256 of the URL, the sorted fields and the nonce. */
function plivoHeaders (authToken: string, url: string, params: Record<string, string>): Record<string, string> {
  const nonce = randomBytes(10).toString('hex')
  const fields = Object.keys(params).sort().map((name) => `${name}${params[name]}`).join('')
  const signed = fields === '' ? url : `${url}?${fields}`
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-plivo-signature-v3': createHmac('sha256', authToken).update(`${signed}.${nonce}`).digest('base64'),
    'x-plivo-signature-v3-nonce': nonce
  }
}

t.test('Plivo: transfer(sessionId, to) points the call at a one-time URL that answers the <Dial> XML', async t => {
  const rest = await startPlivoRestMock()
  t.teardown(async () => { await rest.close() })
  const app = await buildApp(t, {
    webrtc: false,
    providers: providers(),
    telephony: { plivo: { authToken: rest.authToken, authId: rest.authId, apiBaseUrl: rest.baseUrl }, publicUrl: PUBLIC_URL }
  })
  const fields = { CallUUID: 'uuid-1', From: '14155550100', To: '14155550199', Direction: 'inbound', CallStatus: 'ringing', Event: 'StartApp' }
  const answered = await app.inject({ method: 'POST', url: '/telephony/plivo/voice', headers: plivoHeaders(rest.authToken, `${PUBLIC_URL}/telephony/plivo/voice`, fields), payload: new URLSearchParams(fields).toString() })
  t.equal(answered.statusCode, 200, 'the call is answered')
  const session = app.llmrtcSessions.list()[0]
  await app.llmrtc.telephony.transfer(session?.id ?? '', '+14155550123')
  const transfer = rest.requests.at(-1)
  t.match(transfer, { method: 'POST', path: `/v1/Account/${rest.authId}/Call/uuid-1/` })
  const alegUrl = String(transfer?.fields.aleg_url)
  t.match(alegUrl, new RegExp(`^${PUBLIC_URL.replace(/\./g, '\\.')}/telephony/plivo/transfer\\?id=`), 'the A leg fetches our transfer URL')
  t.equal(app.llmrtcSessions.list().length, 0, 'the call left llmrtc')

  const path = alegUrl.slice(PUBLIC_URL.length)
  const dial = await app.inject({ method: 'POST', url: path, headers: plivoHeaders(rest.authToken, alegUrl, {}), payload: '' })
  t.equal(dial.statusCode, 200)
  t.match(dial.body, /<Response><Dial><Number>14155550123<\/Number><\/Dial><\/Response>/, 'Plivo gets the dial to the target')
  const unknown = await app.inject({ method: 'POST', url: '/telephony/plivo/transfer?id=never', headers: plivoHeaders(rest.authToken, `${PUBLIC_URL}/telephony/plivo/transfer?id=never`, {}), payload: '' })
  t.equal(unknown.statusCode, 404, 'an id never issued')
})
