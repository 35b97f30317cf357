import t, { type Test } from 'tap'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import { createTelnyxControl, parseTelnyxMachineDetection, telnyxTransferTexml } from '../../lib/telephony/telnyx-control.js'
import { startTelnyxRestMock, type TelnyxRestMock } from '../mocks/telnyx-rest-mock.js'

const ACCOUNT = 'f5586561-8ff0-4291-a51b-c7dfe4139ff9'
const CALL = 'v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ'

async function mock (t: Test): Promise<TelnyxRestMock> {
  const server = await startTelnyxRestMock()
  t.teardown(server.close)
  return server
}

function control (server: TelnyxRestMock, apiKey = server.apiKey) {
  return createTelnyxControl({ apiKey, accountSid: ACCOUNT, applicationId: '1773070540731319841', baseUrl: server.baseUrl })
}

t.test('hangup: the real SDK posts Status=completed to the TeXML call, with the Bearer key', async t => {
  const server = await mock(t)
  await control(server).hangup(CALL)
  t.equal(server.requests.length, 1)
  const [request] = server.requests
  t.equal(request?.method, 'POST')
  t.equal(request?.path, `/v2/texml/Accounts/${ACCOUNT}/Calls/${CALL}`)
  t.equal(request?.authorization, `Bearer ${server.apiKey}`)
  t.match(request?.contentType, /application\/x-www-form-urlencoded/)
  t.same(request?.fields, { Status: 'completed' })
})

t.test('transfer to a number replaces the TeXML with a <Dial><Number>', async t => {
  const server = await mock(t)
  await control(server).transfer(CALL, '+14155550100')
  const [request] = server.requests
  t.equal(request?.path, `/v2/texml/Accounts/${ACCOUNT}/Calls/${CALL}`)
  t.same(request?.fields, { Texml: '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Number>+14155550100</Number></Dial></Response>' })
})

t.test('transfer to a SIP URI dials a <Sip> noun, escaped', async t => {
  const server = await mock(t)
  await control(server).transfer(CALL, 'sip:agent@example.com;transport=tls&x=1')
  t.same(server.requests[0]?.fields, { Texml: '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Sip>sip:agent@example.com;transport=tls&amp;x=1</Sip></Dial></Response>' })
  t.equal(telnyxTransferTexml('sips:a@b.example'), '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Sip>sips:a@b.example</Sip></Dial></Response>')
})

t.test('dial with answering-machine detection places a TeXML call through the application and returns its call_sid', async t => {
  const server = await mock(t)
  const placed = await control(server).dial({ to: '+14155550100', from: '+14155550199', answerUrl: 'https://voice.example.com/telephony/telnyx/voice', machineDetectionUrl: 'https://voice.example.com/telephony/telnyx/amd' })
  t.match(placed.callId, /^v3:/)
  const [request] = server.requests
  t.equal(request?.path, '/v2/texml/calls/1773070540731319841')
  t.match(request?.contentType, /application\/json/)
  t.same(request?.fields, {
    From: '+14155550199',
    To: '+14155550100',
    Url: 'https://voice.example.com/telephony/telnyx/voice',
    Method: 'POST',
    MachineDetection: 'Enable',
    AsyncAmd: true,
    AsyncAmdStatusCallback: 'https://voice.example.com/telephony/telnyx/amd',
    AsyncAmdStatusCallbackMethod: 'POST'
  })
})

t.test('dial without detection asks for none', async t => {
  const server = await mock(t)
  await control(server).dial({ to: 'sip:bob@example.com', from: '+14155550199', answerUrl: 'https://voice.example.com/a' })
  t.same(server.requests[0]?.fields, { From: '+14155550199', To: 'sip:bob@example.com', Url: 'https://voice.example.com/a', Method: 'POST' })
})

t.test('dial without an application id is refused before any request', async t => {
  const server = await mock(t)
  const noApp = createTelnyxControl({ apiKey: server.apiKey, accountSid: ACCOUNT, baseUrl: server.baseUrl })
  await t.rejects(noApp.dial({ to: '+1', from: '+2', answerUrl: 'https://a.example' }), LLMRTC_ERR_OPTIONS_INVALID)
  t.equal(server.requests.length, 0)
})

t.test('a refused key is a typed error with the status and Telnyx detail, never the key', async t => {
  const server = await mock(t)
  const wrongKey = 'KEY0123456789abcdefWRONGtelnyxKEY0123456789'
  const error = await control(server, wrongKey).hangup(CALL).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  const message = (error as Error).message
  t.match(message, /telnyx/)
  t.match(message, /status 401/)
  t.match(message, /The API key is not valid\. \(code 10009\)/)
  t.notOk(message.includes(wrongKey), 'the key is not in the message')
  t.equal(server.requests.length, 1, 'a 401 is not retried')
})

t.test('a 5xx is a typed error, not retried (a retried dial could place two calls)', async t => {
  const server = await mock(t)
  server.fail({ kind: 'status', status: 503, code: '90015', title: 'Service unavailable', detail: 'Try again later' })
  const error = await control(server).dial({ to: '+1', from: '+2', answerUrl: 'https://a.example' }).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((error as Error).message, /status 503: Try again later \(code 90015\)/)
  t.equal(server.requests.length, 1)
})

t.test('a 404 (a call that already ended) is a typed error', async t => {
  const server = await mock(t)
  server.fail({ kind: 'status', status: 404, code: '10005', title: 'Resource not found', detail: 'Call not found' })
  await t.rejects(control(server).transfer(CALL, '+14155550100'), LLMRTC_ERR_CALL_CONTROL)
})

t.test('an unreachable API is a typed error', async t => {
  const server = await mock(t)
  const baseUrl = server.baseUrl
  await server.close()
  const gone = createTelnyxControl({ apiKey: 'k', accountSid: ACCOUNT, baseUrl })
  const error = await gone.hangup(CALL).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((error as Error).message, /not reached/)
})

t.test('abort: the request is cancelled, the mock sees the connection close, the signal reason is thrown', async t => {
  const server = await mock(t)
  server.fail({ kind: 'hang' })
  const controller = new AbortController()
  const pending = control(server).hangup(CALL, controller.signal)
  while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve))
  const reason = new Error('caller hung up first')
  controller.abort(reason)
  const error = await pending.then(() => undefined, (e: unknown) => e)
  t.equal(error, reason)
  t.equal(await server.requests[0]?.finished, 'aborted')
})

t.test('an already aborted signal sends nothing', async t => {
  const server = await mock(t)
  const controller = new AbortController()
  controller.abort()
  await t.rejects(control(server).hangup(CALL, controller.signal))
  t.equal(server.requests.length, 0)
})

t.test('options are checked', async t => {
  t.throws(() => createTelnyxControl({ apiKey: '', accountSid: ACCOUNT }), LLMRTC_ERR_OPTIONS_INVALID)
  t.throws(() => createTelnyxControl({ apiKey: 'k', accountSid: '' }), LLMRTC_ERR_OPTIONS_INVALID)
  t.throws(() => createTelnyxControl({ apiKey: 'k', accountSid: ACCOUNT, applicationId: '' }), LLMRTC_ERR_OPTIONS_INVALID)
  t.equal(createTelnyxControl({ apiKey: 'k', accountSid: ACCOUNT }).carrier, 'telnyx')
})

t.test('machine detection results: TeXML AsyncAmdStatusCallback and Call Control webhooks', async t => {
  t.same(parseTelnyxMachineDetection({ AccountSid: ACCOUNT, AnsweredBy: 'human', CallSid: CALL, MachineDetectionDuration: '2500' }), { callId: CALL, answeredBy: 'human', detail: 'human' })
  t.same(parseTelnyxMachineDetection({ AnsweredBy: 'machine_end_beep', CallSid: CALL }), { callId: CALL, answeredBy: 'machine', detail: 'machine_end_beep' })
  t.same(parseTelnyxMachineDetection({ AnsweredBy: 'fax', CallSid: CALL }), { callId: CALL, answeredBy: 'fax', detail: 'fax' })
  t.same(parseTelnyxMachineDetection({ AnsweredBy: 'unknown', CallSid: CALL }), { callId: CALL, answeredBy: 'unknown', detail: 'unknown' })
  const event = (type: string, result: string) => ({ data: { event_type: type, payload: { call_control_id: CALL, result } } })
  t.same(parseTelnyxMachineDetection(event('call.machine.detection.ended', 'machine')), { callId: CALL, answeredBy: 'machine', detail: 'machine' })
  t.same(parseTelnyxMachineDetection(event('call.machine.detection.ended', 'not_sure')), { callId: CALL, answeredBy: 'unknown', detail: 'not_sure' })
  t.same(parseTelnyxMachineDetection(event('call.machine.premium.detection.ended', 'human_business')), { callId: CALL, answeredBy: 'human', detail: 'human_business' })
  t.same(parseTelnyxMachineDetection(event('call.machine.premium.detection.ended', 'fax_detected')), { callId: CALL, answeredBy: 'fax', detail: 'fax_detected' })
  t.equal(parseTelnyxMachineDetection(event('call.hangup', 'x')), undefined)
  t.equal(parseTelnyxMachineDetection({ CallSid: CALL, CallStatus: 'completed' }), undefined)
})
