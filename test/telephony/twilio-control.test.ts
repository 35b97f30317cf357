import t, { type Test } from 'tap'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import { createTwilioControl, parseTwilioMachineDetection } from '../../lib/telephony/twilio-control.js'
import { startTwilioRestMock, type TwilioRestMock } from '../mocks/twilio-rest-mock.js'

// The real twilio SDK against a loopback mock of Twilio's REST API.

const ACCOUNT_SID = 'AC' + '0'.repeat(32)
const AUTH_TOKEN = 'twilio-rest-test-token-0123456789abcdef'

async function mockFor (t: Test): Promise<TwilioRestMock> {
  const mock = await startTwilioRestMock({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN })
  t.teardown(async () => { await mock.close() })
  return mock
}

t.test('hangup posts Status=completed to the call, with Basic auth', async t => {
  const mock = await mockFor(t)
  mock.addCall('CA1')
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: mock.url })
  t.equal(control.carrier, 'twilio')
  await control.hangup('CA1')
  t.equal(mock.requests.length, 1)
  t.match(mock.requests[0], { method: 'POST', path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/CA1.json`, callSid: 'CA1', authorized: true, params: { Status: 'completed' }, status: 200 })
  t.equal(mock.calls.get('CA1')?.status, 'completed', 'the call is completed')
})

t.test('transfer to a number replaces the TwiML with <Dial><Number>', async t => {
  const mock = await mockFor(t)
  mock.addCall('CA2')
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: mock.url })
  await control.transfer('CA2', '+14155550100')
  const twiml = mock.requests[0]?.params.Twiml ?? ''
  t.match(twiml, /<Response><Dial><Number>\+14155550100<\/Number><\/Dial><\/Response>/)
  t.equal(mock.requests[0]?.params.Status, undefined, 'the call is not hung up')
})

t.test('transfer to a SIP URI uses <Sip>, its XML escaped', async t => {
  const mock = await mockFor(t)
  mock.addCall('CA3')
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: mock.url })
  await control.transfer('CA3', 'sip:desk@pbx.example.com;transport=tls&x=<1>')
  const twiml = mock.requests[0]?.params.Twiml ?? ''
  t.match(twiml, /<Dial><Sip>sip:desk@pbx\.example\.com;transport=tls&amp;x=&lt;1&gt;<\/Sip><\/Dial>/)
  t.notMatch(twiml, /<1>/, 'no raw markup from the target')
})

t.test('dial creates the call with our answer URL, POST, and asynchronous AMD when asked', async t => {
  const mock = await mockFor(t)
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: mock.url })
  const plain = await control.dial({ to: '+14155550101', from: '+14155550199', answerUrl: 'https://voice.example.test/telephony/twilio/voice?outbound=abc' })
  t.match(plain.callId, /^CA[0-9a-f]{32}$/, 'the new call\'s sid')
  t.match(mock.requests[0], { path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`, status: 201, params: { To: '+14155550101', From: '+14155550199', Url: 'https://voice.example.test/telephony/twilio/voice?outbound=abc', Method: 'POST' } })
  t.equal(mock.requests[0]?.params.MachineDetection, undefined, 'no detection unless asked')

  const detected = await control.dial({ to: '+14155550102', from: '+14155550199', answerUrl: 'https://voice.example.test/v', machineDetectionUrl: 'https://voice.example.test/telephony/twilio/amd' })
  t.not(detected.callId, plain.callId)
  t.match(mock.requests[1]?.params, { MachineDetection: 'DetectMessageEnd', AsyncAmd: 'true', AsyncAmdStatusCallback: 'https://voice.example.test/telephony/twilio/amd', AsyncAmdStatusCallbackMethod: 'POST' })
})

t.test('a wrong token: 401 becomes LLMRTC_ERR_CALL_CONTROL with the status, and no credential in it', async t => {
  const mock = await mockFor(t)
  mock.addCall('CA4')
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: 'wrong-token-that-is-secret-9999', baseUrl: mock.url })
  const err = await control.hangup('CA4').then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof LLMRTC_ERR_CALL_CONTROL, 'typed')
  const message = (err as Error).message
  t.match(message, /^Call control through twilio failed: status 401 \(code 20003\): Authenticate$/)
  t.notMatch(message, /wrong-token/, 'the token is not in the message')
  t.notMatch(JSON.stringify(err), /wrong-token/, 'nor in its serialisation')
  t.ok((err as Error).cause !== undefined, 'the SDK error is the cause')
  t.equal(mock.calls.get('CA4')?.status, 'in-progress', 'the call was not touched')
})

t.test('an unknown call: 404 with Twilio\'s message', async t => {
  const mock = await mockFor(t)
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: mock.url })
  const err = await control.transfer('CA404', '+14155550100').then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((err as Error).message, /status 404 \(code 20404\): The requested resource/)
})

t.test('a 500 and an unreachable API are typed too', async t => {
  const mock = await mockFor(t)
  mock.addCall('CA5')
  mock.fail({ kind: 'status', status: 500, code: 20500, message: 'Internal Server Error' })
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: mock.url })
  const failed = await control.hangup('CA5').then(() => undefined, (e: unknown) => e)
  t.match((failed as Error).message, /status 500/)
  t.equal(mock.requests.length, 1, 'no automatic retry')
  const url = mock.url
  await mock.close()
  const unreachable = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: url })
  const err = await unreachable.hangup('CA5').then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((err as Error).message, /the API was not reached/)
})

t.test('abort cancels the request on the wire and rejects with the signal\'s reason', async t => {
  const mock = await mockFor(t)
  mock.addCall('CA6')
  mock.fail({ kind: 'hang' })
  const control = createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: mock.url })
  const controller = new AbortController()
  const pending = control.hangup('CA6', controller.signal).then(() => undefined, (e: unknown) => e)
  const [request] = await mock.waitForRequests(1)
  const reason = new Error('caller gone')
  controller.abort(reason)
  t.equal(await pending, reason, 'rejects with the abort reason, not a call-control error')
  t.equal(await request?.finished, 'aborted', 'the mock saw the connection close')
  const already = await control.hangup('CA6', AbortSignal.abort(reason)).then(() => undefined, (e: unknown) => e)
  t.equal(already, reason, 'an already aborted signal sends nothing')
  t.equal(mock.requests.length, 1)
})

t.test('bad options are refused when the control is made', async t => {
  t.throws(() => createTwilioControl({ accountSid: 'SK123', authToken: AUTH_TOKEN }), LLMRTC_ERR_OPTIONS_INVALID)
  t.throws(() => createTwilioControl({ accountSid: ACCOUNT_SID, authToken: '' }), LLMRTC_ERR_OPTIONS_INVALID)
  t.throws(() => createTwilioControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: 'ftp://x' }), LLMRTC_ERR_OPTIONS_INVALID)
})

t.test('AsyncAmdStatusCallback fields become an answering-machine result', async t => {
  t.same(parseTwilioMachineDetection({ CallSid: 'CA7', AnsweredBy: 'machine_end_beep', MachineDetectionDuration: '4200' }), { callId: 'CA7', answeredBy: 'machine', detail: 'machine_end_beep' })
  t.same(parseTwilioMachineDetection({ CallSid: 'CA7', AnsweredBy: 'human' }), { callId: 'CA7', answeredBy: 'human', detail: 'human' })
  t.same(parseTwilioMachineDetection({ CallSid: 'CA7', AnsweredBy: 'fax' })?.answeredBy, 'fax')
  t.same(parseTwilioMachineDetection({ CallSid: 'CA7', AnsweredBy: 'unknown' })?.answeredBy, 'unknown')
  t.equal(parseTwilioMachineDetection({ CallSid: 'CA7' }), undefined, 'not a detection result')
})
