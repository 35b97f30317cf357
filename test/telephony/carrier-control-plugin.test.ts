import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { LLMRTC_ERR_CALL_CONTROL } from '../../lib/errors.js'
import type { AnsweringMachineResult } from '../../lib/telephony/carrier-control.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { startPlivoRestMock, type PlivoRestMock } from '../mocks/plivo-rest-mock.js'
import { startTelnyxRestMock, type TelnyxRestMock } from '../mocks/telnyx-rest-mock.js'
import { callApp, PUBLIC_URL } from './simulated-carrier.js'

// Telnyx and Plivo call control wired into the telephony plugin (test/telephony/{telnyx,plivo}-control.test.ts
// test the controls alone): calls controlled by server code through the real SDKs against the REST mocks.

const ACCOUNT = 'f5586561-8ff0-4291-a51b-c7dfe4139ff9'
const CALL = 'v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ'
const PLIVO_CALL = '55309cee-821d-11e4-9a73-498d468c930b'

async function telnyxMock (t: Test): Promise<TelnyxRestMock> {
  const server = await startTelnyxRestMock()
  t.teardown(server.close)
  return server
}

async function plivoMock (t: Test): Promise<PlivoRestMock> {
  const server = await startPlivoRestMock()
  t.teardown(server.close)
  return server
}

// Wired into the plugin: a live Telnyx call (signed TeXML webhook) controlled by server code, and the
// AMD callback of a running call reaching the onAnsweringMachine hook.

const { publicKey: webhookKey, privateKey: webhookSigner } = generateKeyPairSync('ed25519')
const WEBHOOK_PUBLIC_KEY = webhookKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64')

/** Posts form fields to a Telnyx route as Telnyx does: ed25519 over `${timestamp}|${body}`. */
async function postTelnyx (base: string, path: string, fields: Record<string, string>): Promise<Response> {
  const body = new URLSearchParams(fields).toString()
  const timestamp = String(Math.floor(Date.now() / 1000))
  const signature = sign(null, Buffer.from(`${timestamp}|${body}`), webhookSigner).toString('base64')
  return await fetch(`http://${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp },
    body
  })
}

async function telnyxApp (t: Test, server: TelnyxRestMock, results: AnsweringMachineResult[] = []): Promise<{ app: FastifyInstance, base: string }> {
  return await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, {
    telnyx: { publicKey: WEBHOOK_PUBLIC_KEY, apiKey: server.apiKey, accountSid: ACCOUNT, applicationId: '1773070540731319841', apiBaseUrl: server.baseUrl },
    publicUrl: PUBLIC_URL
  }, { hooks: { onAnsweringMachine: (_sessionId, result) => { results.push(result) } } })
}

const inbound = (callSid: string): Record<string, string> => ({ AccountSid: ACCOUNT, CallSid: callSid, From: '+18005550100', To: '+18005550199', CallStatus: 'ringing', Direction: 'inbound' })

t.test('plugin: hangup(sessionId) of a Telnyx call completes it through TeXML REST and ends the session', async t => {
  const server = await telnyxMock(t)
  const { app, base } = await telnyxApp(t, server)
  t.equal((await postTelnyx(base, '/telephony/telnyx/voice', inbound(CALL))).status, 200)
  const session = app.llmrtcSessions.list()[0]
  await app.llmrtc.telephony.hangup(session?.id ?? '')
  t.match(server.requests.at(-1), { method: 'POST', path: `/v2/texml/Accounts/${ACCOUNT}/Calls/${CALL}`, fields: { Status: 'completed' } })
  t.equal(app.llmrtcSessions.list().length, 0, 'the call\'s session ended')
})

t.test('plugin: transfer(sessionId, sip:…) of a Telnyx call replaces its TeXML with a <Dial><Sip>', async t => {
  const server = await telnyxMock(t)
  const { app, base } = await telnyxApp(t, server)
  await postTelnyx(base, '/telephony/telnyx/voice', inbound('v3:transfer-me'))
  const session = app.llmrtcSessions.list()[0]
  await app.llmrtc.telephony.transfer(session?.id ?? '', 'sip:desk@pbx.example.com')
  t.match(server.requests.at(-1), { path: `/v2/texml/Accounts/${ACCOUNT}/Calls/v3:transfer-me`, fields: { Texml: /<Dial><Sip>sip:desk@pbx\.example\.com<\/Sip><\/Dial>/ } })
  t.equal(app.llmrtcSessions.list().length, 0, 'the call left llmrtc')
})

t.test('plugin: a refused Telnyx hang-up rejects with the typed error, the key nowhere in it', async t => {
  const server = await telnyxMock(t)
  const { app, base } = await telnyxApp(t, server)
  await postTelnyx(base, '/telephony/telnyx/voice', inbound('v3:gone'))
  server.fail({ kind: 'status', status: 422, code: '90018', title: 'Call has already ended', detail: 'Call has already ended' })
  const error = await app.llmrtc.telephony.hangup(app.llmrtcSessions.list()[0]?.id ?? '').then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((error as Error).message, /status 422: Call has already ended/)
  t.notOk((error as Error).message.includes(server.apiKey))
})

t.test('plugin: a signed AsyncAmdStatusCallback for a running Telnyx call reaches onAnsweringMachine', async t => {
  const server = await telnyxMock(t)
  const results: AnsweringMachineResult[] = []
  const { base } = await telnyxApp(t, server, results)
  await postTelnyx(base, '/telephony/telnyx/voice', inbound('v3:amd-call'))
  const amd = await postTelnyx(base, '/telephony/telnyx/amd', { AccountSid: ACCOUNT, AnsweredBy: 'machine_end_beep', CallSid: 'v3:amd-call', CallSidLegacy: 'v3:amd-call', ConnectionId: '1773070540731319841', MachineDetectionDuration: '2500' })
  t.ok(amd.status >= 200 && amd.status < 300, `the callback is accepted (${amd.status})`)
  t.same(results, [{ callId: 'v3:amd-call', answeredBy: 'machine', detail: 'machine_end_beep' }])
})

// Wired into the plugin: a live Plivo call hung up by server code, an outbound call whose answer webhook
// is matched by RequestUUID (Plivo's create answers request_uuid; the live call is a new CallUUID), and
// the machine_detection_url callback reaching the onAnsweringMachine hook.

/**
 * Plivo's signature V3 headers: HMAC-SHA256 (auth token) of the URL with its query sorted, then (a POST
 * with fields) the sorted fields as name+value, after `.` when the URL has a query, else after `?`; then
 * `.nonce`.
 */
function plivoHeaders (authToken: string, url: string, params: Record<string, string>): Record<string, string> {
  const nonce = randomBytes(10).toString('hex')
  const parsed = new URL(url)
  const query = [...parsed.searchParams].map(([name, value]) => `${name}=${value}`).sort().join('&')
  const base = `${parsed.origin}${parsed.pathname}${query === '' ? '' : `?${query}`}`
  const fields = Object.keys(params).sort().map((name) => `${name}${params[name]}`).join('')
  const signed = fields === '' ? base : `${base}${query === '' ? '?' : '.'}${fields}`
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-plivo-signature-v3': createHmac('sha256', authToken).update(`${signed}.${nonce}`).digest('base64'),
    'x-plivo-signature-v3-nonce': nonce
  }
}

async function postPlivo (app: FastifyInstance, authToken: string, url: string, fields: Record<string, string>): Promise<number> {
  const response = await app.inject({ method: 'POST', url: url.slice(PUBLIC_URL.length), headers: plivoHeaders(authToken, url, fields), payload: new URLSearchParams(fields).toString() })
  return response.statusCode
}

async function plivoApp (t: Test, server: PlivoRestMock, results: AnsweringMachineResult[] = []): Promise<FastifyInstance> {
  const { app } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, {
    plivo: { authToken: server.authToken, authId: server.authId, apiBaseUrl: server.baseUrl },
    publicUrl: PUBLIC_URL
  }, { hooks: { onAnsweringMachine: (_sessionId, result) => { results.push(result) } } })
  return app
}

t.test('plugin: hangup(sessionId) of a Plivo call sends DELETE Call/{CallUUID}/ and ends the session', async t => {
  const server = await plivoMock(t)
  const app = await plivoApp(t, server)
  const fields = { CallUUID: PLIVO_CALL, From: '14155550100', To: '14155550199', Direction: 'inbound', CallStatus: 'ringing', Event: 'StartApp' }
  t.equal(await postPlivo(app, server.authToken, `${PUBLIC_URL}/telephony/plivo/voice`, fields), 200)
  await app.llmrtc.telephony.hangup(app.llmrtcSessions.list()[0]?.id ?? '')
  t.match(server.requests.at(-1), { method: 'DELETE', path: `/v1/Account/${server.authId}/Call/${PLIVO_CALL}/` })
  t.equal(app.llmrtcSessions.list().length, 0)
})

t.test('plugin: an outbound Plivo call is answered when its RequestUUID is the dial\'s request_uuid, and its AMD result reaches the hook', async t => {
  const server = await plivoMock(t)
  const results: AnsweringMachineResult[] = []
  const app = await plivoApp(t, server, results)
  const placed = await app.llmrtc.telephony.call({ carrier: 'plivo', to: '+14155550100', from: '+14155550199', machineDetection: true })
  const create = server.requests.at(-1)
  const answerUrl = String(create?.fields.answer_url)
  const answer = { CallUUID: 'live-call-uuid', RequestUUID: placed.callId, From: '14155550199', To: '14155550100', Direction: 'outbound', CallStatus: 'in-progress', Event: 'StartApp' }

  t.equal(await postPlivo(app, server.authToken, answerUrl, { ...answer, CallUUID: 'other-call', RequestUUID: 'another-request' }), 404, 'a call the dial did not place is refused')
  t.equal(app.llmrtcSessions.list().length, 0)
  t.equal(await postPlivo(app, server.authToken, answerUrl, answer), 200, 'the dialled call is answered')
  t.match(app.llmrtcSessions.list()[0]?.data.call, { carrier: 'plivo', callId: 'live-call-uuid' }, 'keyed by its CallUUID, the id its stream carries')

  const detection = { CallUUID: 'live-call-uuid', RequestUUID: placed.callId, Machine: 'true', IfMachine: 'continue', Direction: 'outbound', Event: 'MachineDetection', CallStatus: 'in-progress', From: '14155550199', To: '14155550100' }
  const status = await postPlivo(app, server.authToken, String(create?.fields.machine_detection_url), detection)
  t.ok(status >= 200 && status < 300, `the detection callback is accepted (${status})`)
  t.same(results, [{ callId: 'live-call-uuid', answeredBy: 'machine', detail: 'Machine=true' }])
})
