import t, { type Test } from 'tap'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import { createPlivoControl, parsePlivoMachineDetection, plivoTransferXml } from '../../lib/telephony/plivo-control.js'
import { startPlivoRestMock, type PlivoRestMock } from '../mocks/plivo-rest-mock.js'

const CALL = '55309cee-821d-11e4-9a73-498d468c930b'

async function mock (t: Test): Promise<PlivoRestMock> {
  const server = await startPlivoRestMock()
  t.teardown(server.close)
  return server
}

function control (server: PlivoRestMock, authToken = server.authToken) {
  return createPlivoControl({
    authId: server.authId,
    authToken,
    baseUrl: server.baseUrl,
    transferUrl: (target, callId) => `https://voice.example.com/telephony/plivo/transfer/${callId}?to=${encodeURIComponent(target)}`
  })
}

t.test('hangup: the SDK Call resource sends DELETE Call/{uuid}/ with Basic auth', async t => {
  const server = await mock(t)
  await control(server).hangup(CALL)
  t.equal(server.requests.length, 1)
  const [request] = server.requests
  t.equal(request?.method, 'DELETE')
  t.equal(request?.path, `/v1/Account/${server.authId}/Call/${CALL}/`)
  t.equal(request?.authorization, `Basic ${Buffer.from(`${server.authId}:${server.authToken}`).toString('base64')}`)
  t.same(request?.fields, {}, 'no is_voice_request or other field on the wire')
})

t.test('transfer to a number points the A leg at the transfer XML URL', async t => {
  const server = await mock(t)
  await control(server).transfer(CALL, '+14155550100')
  const [request] = server.requests
  t.equal(request?.method, 'POST')
  t.equal(request?.path, `/v1/Account/${server.authId}/Call/${CALL}/`)
  t.match(request?.contentType, /application\/json/)
  t.same(request?.fields, { legs: 'aleg', aleg_url: `https://voice.example.com/telephony/plivo/transfer/${CALL}?to=%2B14155550100`, aleg_method: 'POST' })
  t.equal(plivoTransferXml('+14155550100'), '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Number>14155550100</Number></Dial></Response>')
})

t.test('transfer to a SIP URI: the URL names it, the XML dials a <User>', async t => {
  const server = await mock(t)
  await control(server).transfer(CALL, 'sip:agent@phone.plivo.com')
  t.equal(server.requests[0]?.fields.aleg_url, `https://voice.example.com/telephony/plivo/transfer/${CALL}?to=sip%3Aagent%40phone.plivo.com`)
  t.equal(plivoTransferXml('sip:agent@phone.plivo.com'), '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><User>sip:agent@phone.plivo.com</User></Dial></Response>')
  t.equal(plivoTransferXml('sip:a@b.example?x=1&y=<2>'), '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><User>sip:a@b.example?x=1&amp;y=&lt;2&gt;</User></Dial></Response>')
})

t.test('transfer without a transfer URL is refused before any request', async t => {
  const server = await mock(t)
  const noUrl = createPlivoControl({ authId: server.authId, authToken: server.authToken, baseUrl: server.baseUrl })
  await t.rejects(noUrl.transfer(CALL, '+1'), LLMRTC_ERR_OPTIONS_INVALID)
  t.equal(server.requests.length, 0)
})

t.test('dial with machine detection: POST Call/ with the answer URL and async detection; the request_uuid is the id', async t => {
  const server = await mock(t)
  const placed = await control(server).dial({ to: '+14155550100', from: '+14155550199', answerUrl: 'https://voice.example.com/telephony/plivo/voice', machineDetectionUrl: 'https://voice.example.com/telephony/plivo/amd' })
  t.match(placed.callId, /^[0-9a-f-]{36}$/)
  const [request] = server.requests
  t.equal(request?.method, 'POST')
  t.equal(request?.path, `/v1/Account/${server.authId}/Call/`)
  t.same(request?.fields, {
    from: '14155550199',
    to: '14155550100',
    answer_url: 'https://voice.example.com/telephony/plivo/voice',
    answer_method: 'POST',
    machine_detection: 'true',
    machine_detection_url: 'https://voice.example.com/telephony/plivo/amd',
    machine_detection_method: 'POST'
  })
})

t.test('dial without detection asks for none; a SIP callee keeps its URI', async t => {
  const server = await mock(t)
  await control(server).dial({ to: 'sip:bob@phone.plivo.com', from: '+14155550199', answerUrl: 'https://voice.example.com/a' })
  t.same(server.requests[0]?.fields, { from: '14155550199', to: 'sip:bob@phone.plivo.com', answer_url: 'https://voice.example.com/a', answer_method: 'POST' })
})

t.test('a refused token is a typed error with the status and Plivo error, never the token', async t => {
  const server = await mock(t)
  const wrong = 'ZWRkZjFmMzQtwrongPlivoTokenValue0123456789'
  const error = await control(server, wrong).hangup(CALL).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  const message = (error as Error).message
  t.match(message, /plivo/)
  t.match(message, /status 401: Authentication failed/)
  t.notOk(message.includes(wrong), 'the token is not in the message')
  t.notOk(message.includes(Buffer.from(`${server.authId}:${wrong}`).toString('base64')), 'nor the Basic credentials')
  t.equal(server.requests.length, 1)
})

t.test('a 5xx is a typed error and is not retried (a retried create could place two calls)', async t => {
  const server = await mock(t)
  server.fail({ kind: 'status', status: 500, error: 'internal error' })
  const error = await control(server).dial({ to: '+1', from: '+2', answerUrl: 'https://a.example' }).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((error as Error).message, /status 500: internal error/)
  t.equal(server.requests.length, 1)
})

t.test('a 404 (a call that already ended) is a typed error', async t => {
  const server = await mock(t)
  server.fail({ kind: 'status', status: 404, error: 'not found' })
  const error = await control(server).hangup(CALL).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((error as Error).message, /status 404: not found/)
})

t.test('an unreachable API is a typed error', async t => {
  const server = await mock(t)
  await server.close()
  const error = await control(server).hangup(CALL).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((error as Error).message, /not reached/)
})

t.test('abort: the request is cancelled, the mock sees the connection close, the signal reason is thrown', async t => {
  const server = await mock(t)
  server.fail({ kind: 'hang' })
  const controller = new AbortController()
  const pending = control(server).transfer(CALL, '+14155550100', controller.signal)
  while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve))
  const reason = new Error('the turn was cancelled')
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
  t.throws(() => createPlivoControl({ authId: '', authToken: 't' }), LLMRTC_ERR_OPTIONS_INVALID)
  t.throws(() => createPlivoControl({ authId: 'MA', authToken: '' }), LLMRTC_ERR_OPTIONS_INVALID)
  t.equal(createPlivoControl({ authId: 'MA', authToken: 't' }).carrier, 'plivo')
})

t.test('machine detection results from the machine_detection_url callback', async t => {
  const callback = { From: '14155550199', To: '14155550100', RequestUUID: 'r-1', CallUUID: CALL, Direction: 'outbound', Event: 'MachineDetection', CallStatus: 'in-progress', IfMachine: 'continue' }
  t.same(parsePlivoMachineDetection({ ...callback, Machine: 'true' }), { callId: CALL, answeredBy: 'machine', detail: 'Machine=true' })
  t.same(parsePlivoMachineDetection({ ...callback, Machine: 'false' }), { callId: CALL, answeredBy: 'human', detail: 'Machine=false' })
  t.equal(parsePlivoMachineDetection({ ...callback }), undefined, 'no Machine field')
  t.equal(parsePlivoMachineDetection({ ...callback, Machine: 'true', Event: 'Hangup' }), undefined, 'another event')
})
