import t from 'tap'
import { LLMRTC_ERR_AGENT_SELECTION, LLMRTC_ERR_CALL_CONTROL } from '../../lib/errors.js'
import type { AnsweringMachineResult } from '../../lib/telephony/carrier-control.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { peak, PUBLIC_URL } from './simulated-carrier.js'
import { ACCOUNT_SID, answerCall, controlledCallApp, postSigned } from './twilio-simulator.js'

// fastify.llmrtc.telephony.call(): the real twilio SDK creates the call on a mock of Twilio's REST API;
// the simulated Twilio then requests the answer URL it was given, signed, and streams the call.

const CALLEE = '+14155550111'
const CALLER_ID = '+15550199'

t.test('an outbound call: created with our webhook as its Url, answered into a session with the given agent', async t => {
  const llm = new ScriptedLLM([['Hi, I am calling to confirm your appointment tomorrow.']])
  const { app, base, rest } = await controlledCallApp(t, { llm, stt: new ScriptedSTT(['Hello?']), tts: new ScriptedTTS() })

  const placed = await app.llmrtc.telephony.call({ to: CALLEE, from: CALLER_ID, agent: { systemPrompt: 'You confirm dental appointments for Dr. Smile.' } })
  t.equal(placed.carrier, 'twilio')
  t.match(placed.callId, /^CA[0-9a-f]{32}$/, 'the CallSid Twilio gave')
  t.equal(rest.requests.length, 1)
  const create = rest.requests[0]
  t.match(create, { method: 'POST', path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`, authorized: true, params: { To: CALLEE, From: CALLER_ID, Method: 'POST' } })
  const answerUrl = new URL(create?.params.Url ?? '')
  t.equal(`${answerUrl.origin}${answerUrl.pathname}`, `${PUBLIC_URL}/telephony/twilio/voice`, 'Url is our voice webhook, public')
  const outboundId = answerUrl.searchParams.get('outbound') ?? ''
  t.ok(outboundId.length >= 20, 'with a one-time id')
  t.equal(create?.params.MachineDetection, undefined, 'no detection unless asked')
  t.equal(app.llmrtcSessions.list().length, 0, 'no session before the callee answers')

  // Someone else's call cannot use the id.
  const stolen = await postSigned(base, `/telephony/twilio/voice?outbound=${outboundId}`, { AccountSid: ACCOUNT_SID, CallSid: 'CAother', From: CALLER_ID, To: CALLEE, Direction: 'outbound-api' })
  t.equal(stolen.status, 404, 'the id is bound to the placed call')

  const stream = await answerCall(t, base, placed.callId, `/telephony/twilio/voice?outbound=${outboundId}`, 'outbound-api')
  t.equal(app.llmrtcSessions.list().length, 1, 'the answered call is a session')
  t.match(app.llmrtcSessions.list()[0]?.data.call, { carrier: 'twilio', callId: placed.callId })
  const speech = await synthesizeSpeech('Hello?', 8000)
  await stream.speak(concat(silence(300, 8000), speech, silence(1200, 8000)))
  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.match(llm.requests[0]?.messages[0], { role: 'system', content: /Dr\. Smile/ }, 'the LLM got the call\'s agent\'s system prompt')
  t.ok(peak(stream.heard()) > 1000, 'the answer was spoken on the call')

  const replay = await postSigned(base, `/telephony/twilio/voice?outbound=${outboundId}`, { AccountSid: ACCOUNT_SID, CallSid: 'CAlate', From: CALLER_ID, To: CALLEE, Direction: 'outbound-api' })
  t.equal(replay.status, 404, 'the id is used once')
  const unknown = await postSigned(base, '/telephony/twilio/voice?outbound=never-issued', { AccountSid: ACCOUNT_SID, CallSid: 'CAx', From: CALLER_ID, To: CALLEE, Direction: 'outbound-api' })
  t.equal(unknown.status, 404, 'an id never issued')
  t.equal(app.llmrtcSessions.list().length, 1, 'no session for them')
})

t.test('answering-machine detection: AMD parameters on create, the signed callback runs onAnsweringMachine', async t => {
  const results: Array<{ sessionId: string, result: AnsweringMachineResult }> = []
  const { app, base, rest } = await controlledCallApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, {}, {
    hooks: { onAnsweringMachine: (sessionId, result) => { results.push({ sessionId, result }) } }
  })
  const placed = await app.llmrtc.telephony.call({ to: CALLEE, from: CALLER_ID, machineDetection: true })
  t.match(rest.requests[0]?.params, { MachineDetection: 'DetectMessageEnd', AsyncAmd: 'true', AsyncAmdStatusCallback: `${PUBLIC_URL}/telephony/twilio/amd`, AsyncAmdStatusCallbackMethod: 'POST' })
  const outboundId = new URL(rest.requests[0]?.params.Url ?? '').searchParams.get('outbound') ?? ''
  await answerCall(t, base, placed.callId, `/telephony/twilio/voice?outbound=${outboundId}`, 'outbound-api')
  const session = app.llmrtcSessions.list()[0]

  const amd = { AccountSid: ACCOUNT_SID, CallSid: placed.callId, AnsweredBy: 'machine_end_beep', MachineDetectionDuration: '4100' }
  const forged = await postSigned(base, '/telephony/twilio/amd', amd, 'not-the-token')
  t.equal(forged.status, 403, 'a bad signature is refused')
  t.equal(results.length, 0, 'and runs no hook')
  const response = await postSigned(base, '/telephony/twilio/amd', amd)
  t.equal(response.status, 204)
  t.same(results, [{ sessionId: session?.id, result: { callId: placed.callId, answeredBy: 'machine', detail: 'machine_end_beep' } }], 'the hook got the call\'s session and the result')
  const notAResult = await postSigned(base, '/telephony/twilio/amd', { AccountSid: ACCOUNT_SID, CallSid: placed.callId })
  t.equal(notAResult.status, 400, 'a callback without AnsweredBy')
})

t.test('call() refuses a bad target or agent before dialling, and types Twilio\'s refusal', async t => {
  const { app, rest } = await controlledCallApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  const badTarget = await app.llmrtc.telephony.call({ to: '0800 123', from: CALLER_ID }).then(() => undefined, (e: unknown) => e)
  t.ok(badTarget instanceof LLMRTC_ERR_CALL_CONTROL, 'a target that is not E.164 or SIP')
  const badAgent = await app.llmrtc.telephony.call({ to: CALLEE, from: CALLER_ID, agent: { systemPrompt: 42 } as never }).then(() => undefined, (e: unknown) => e)
  t.ok(badAgent instanceof LLMRTC_ERR_AGENT_SELECTION, 'an invalid agent')
  const otherCarrier = await app.llmrtc.telephony.call({ to: CALLEE, from: CALLER_ID, carrier: 'plivo' }).then(() => undefined, (e: unknown) => e)
  t.ok(otherCarrier instanceof LLMRTC_ERR_CALL_CONTROL, 'a carrier without call control here')
  t.equal(rest.requests.length, 0, 'nothing was dialled')

  rest.fail({ kind: 'status', status: 400, code: 21211, message: "The 'To' number +14155550111 is not a valid phone number." })
  const refused = await app.llmrtc.telephony.call({ to: CALLEE, from: CALLER_ID }).then(() => undefined, (e: unknown) => e)
  t.ok(refused instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((refused as Error).message, /status 400 \(code 21211\)/)

  const controller = new AbortController()
  controller.abort(new Error('changed my mind'))
  const aborted = await app.llmrtc.telephony.call({ to: CALLEE, from: CALLER_ID, signal: controller.signal }).then(() => undefined, (e: unknown) => e)
  t.match(aborted, { message: 'changed my mind' }, 'an aborted dial rejects with the reason')
  t.equal(rest.requests.length, 1, 'and sends nothing')
})
