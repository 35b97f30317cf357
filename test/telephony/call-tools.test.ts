import t from 'tap'
import { LLMRTC_ERR_CALL_CONTROL, LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import { isCallTarget } from '../../lib/telephony/call-tools.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { buildApp } from '../helpers/app.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { peak, PUBLIC_URL } from './simulated-carrier.js'
import { ACCOUNT_SID, AUTH_TOKEN, answerCall, controlledCallApp, type TwilioStream } from './twilio-simulator.js'

// end_call and transfer_call on a simulated Twilio call: the LLM calls the tool, the goodbye is spoken and
// heard (marks echoed), then the real twilio SDK hangs up or transfers through a mock of Twilio's REST API.

const ALLOWED = '+14155550123'
const SIP_DESK = 'sip:desk@pbx.example.com'

async function say (stream: TwilioStream, phrase: string): Promise<void> {
  const speech = await synthesizeSpeech(phrase, 8000)
  await stream.speak(concat(silence(300, 8000), speech, silence(1200, 8000)))
}

/** The call-control tools the LLM was offered (a call offers others too, e.g. collect_digits). */
function toolNames (llm: ScriptedLLM, request = 0): string[] {
  return (llm.requests[request]?.tools ?? []).map(tool => tool.name).filter(name => name === 'end_call' || name === 'transfer_call').sort()
}

t.test('end_call: the goodbye is spoken and heard, then the call is hung up through the REST API', async t => {
  const llm = new ScriptedLLM([
    { chunks: [], toolCalls: [{ callId: 'c1', name: 'end_call', arguments: { reason: 'caller is done' } }] },
    ['Goodbye, and thank you for calling!']
  ])
  const { app, base, rest } = await controlledCallApp(t, { llm, stt: new ScriptedSTT(['That is all, bye.']), tts: new ScriptedTTS() })
  rest.addCall('CA10')
  const stream = await answerCall(t, base, 'CA10')
  // What the caller had received when the hang-up reached Twilio.
  let seenAtHangup: string[] = []
  rest.onRequest = () => { seenAtHangup = stream.messages.map(m => m.event) }
  await say(stream, 'That is all, bye.')
  t.equal(await stream.closed, 1000, 'the media socket is closed once the call is hung up')

  t.same(toolNames(llm), ['end_call'], 'end_call is offered on the call; transfer_call is not, without transferTargets')
  t.equal(rest.requests.length, 1, 'one REST request')
  t.match(rest.requests[0], { method: 'POST', path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/CA10.json`, authorized: true, params: { Status: 'completed' } })
  t.equal(rest.calls.get('CA10')?.status, 'completed', 'Twilio has the call completed')
  t.match(JSON.stringify(llm.requests[1]?.messages.at(-1)), /goodbye/i, 'the tool told the LLM to say goodbye')
  const heard = stream.heard()
  t.ok(heard.length > 8000 * 0.2 && peak(heard) > 1000, 'the goodbye was streamed to the caller')
  t.ok(seenAtHangup.includes('media'), 'the goodbye audio was sent before the hang-up')
  t.equal(seenAtHangup.lastIndexOf('mark') > seenAtHangup.lastIndexOf('media'), true, 'and its last mark too: all of it had played (echoed) when the hang-up came')
  t.equal(seenAtHangup.length, stream.messages.length, 'nothing was sent after the hang-up')
  t.equal(app.llmrtcSessions.list().length, 0, 'the call\'s session ended')
})

t.test('transfer_call to an allowed number: <Dial><Number> TwiML through the REST API, and the call leaves llmrtc', async t => {
  const llm = new ScriptedLLM([
    { chunks: [], toolCalls: [{ callId: 'c1', name: 'transfer_call', arguments: { to: ALLOWED, announcement: 'Putting you through to billing.' } }] },
    ['Putting you through to billing.']
  ])
  const { app, base, rest } = await controlledCallApp(t, { llm, stt: new ScriptedSTT(['Billing please.']), tts: new ScriptedTTS() }, { transferTargets: [ALLOWED, SIP_DESK] })
  rest.addCall('CA11')
  const stream = await answerCall(t, base, 'CA11')
  await say(stream, 'Billing please.')
  await stream.closed

  t.same(toolNames(llm), ['end_call', 'transfer_call'])
  const transfer = llm.requests[0]?.tools?.find(tool => tool.name === 'transfer_call')
  t.match(transfer?.description, /\+14155550123, sip:desk@pbx\.example\.com/, 'the LLM is told the possible targets')
  t.match(JSON.stringify(llm.requests[1]?.messages.at(-1)), /Putting you through to billing/, 'the announcement goes back to the LLM to say')
  t.equal(rest.requests.length, 1)
  t.match(rest.requests[0], { callSid: 'CA11', authorized: true })
  t.match(rest.requests[0]?.params.Twiml, /<Response><Dial><Number>\+14155550123<\/Number><\/Dial><\/Response>/, 'the new TwiML dials the target')
  t.equal(rest.requests[0]?.params.Status, undefined, 'not a hang-up')
  t.ok(peak(stream.heard()) > 1000, 'the announcement was heard')
  t.equal(app.llmrtcSessions.list().length, 0, 'the call\'s session ended')
})

t.test('transfer_call to a target not in the allowlist: a tool error, no REST request, the call goes on', async t => {
  const llm = new ScriptedLLM([
    { chunks: [], toolCalls: [{ callId: 'c1', name: 'transfer_call', arguments: { to: '+19005550199' } }] },
    ['Sorry, I cannot transfer you there.'],
    { chunks: [], toolCalls: [{ callId: 'c2', name: 'transfer_call', arguments: { to: 'tel:12345' } }] },
    ['Sorry.']
  ])
  const { app, base, rest } = await controlledCallApp(t, { llm, stt: new ScriptedSTT(['Call my friend.', 'Call this.']), tts: new ScriptedTTS() }, { transferTargets: [ALLOWED] })
  rest.addCall('CA12')
  const stream = await answerCall(t, base, 'CA12')
  await say(stream, 'Call my friend.')
  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()
  const toolMessage = JSON.stringify(llm.requests[1]?.messages.at(-1))
  t.match(toolMessage, /not a transfer target of this line/, 'the LLM is told why')
  t.match(toolMessage, /\+14155550123/, 'and which targets exist')
  stream.messages.length = 0
  await say(stream, 'Call this.')
  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.match(JSON.stringify(llm.requests[3]?.messages.at(-1)), /E\.164/, 'a malformed target is refused too')
  t.equal(rest.requests.length, 0, 'Twilio was never asked')
  t.equal(app.llmrtcSessions.list().length, 1, 'the call goes on')
  t.equal(stream.closeCode, undefined, 'its media socket is open')
})

t.test('server code: hangup(sessionId) when Twilio refuses still closes the media socket, and reports the error', async t => {
  const errors: Error[] = []
  const { app, base, rest } = await controlledCallApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, {}, {
    hooks: { onError: (err) => { errors.push(err) } }
  })
  // Twilio does not know CA13: 404.
  const stream = await answerCall(t, base, 'CA13')
  await stream.waitFor('mark').catch(() => undefined)
  const session = app.llmrtcSessions.list()[0]
  t.ok(session !== undefined)
  const err = await app.llmrtc.telephony.hangup(session?.id ?? '').then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof LLMRTC_ERR_CALL_CONTROL, 'rejects with the typed error')
  t.match((err as Error).message, /twilio failed: status 404/)
  t.equal(await stream.closed, 1000, 'the media socket was closed anyway')
  t.equal(app.llmrtcSessions.list().length, 0, 'and the session ended')
  t.equal(rest.requests[0]?.params.Status, 'completed')
  t.ok(errors.some(e => e instanceof LLMRTC_ERR_CALL_CONTROL), 'onError heard of it')

  const notACall = await app.llmrtc.telephony.hangup('no-such-session').then(() => undefined, (e: unknown) => e)
  t.ok(notACall instanceof LLMRTC_ERR_CALL_CONTROL, 'a session that is not a call is refused')
})

t.test('server code: transfer(sessionId, sip:) sends <Sip> TwiML, any valid target, and refuses a malformed one', async t => {
  const { app, base, rest } = await controlledCallApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() })
  rest.addCall('CA14')
  const stream = await answerCall(t, base, 'CA14')
  const session = app.llmrtcSessions.list()[0]
  const bad = await app.llmrtc.telephony.transfer(session?.id ?? '', '555-0100').then(() => undefined, (e: unknown) => e)
  t.ok(bad instanceof LLMRTC_ERR_CALL_CONTROL, 'not E.164: refused')
  t.equal(rest.requests.length, 0)
  await app.llmrtc.telephony.transfer(session?.id ?? '', SIP_DESK)
  t.match(rest.requests[0]?.params.Twiml, /<Dial><Sip>sip:desk@pbx\.example\.com<\/Sip><\/Dial>/)
  t.equal(await stream.closed, 1000, 'the stream ends with the transfer')
})

t.test('without an account SID there is no call control: no tools, and the API rejects', async t => {
  const llm = new ScriptedLLM([['Hello.']])
  const app = await buildApp(t, { webrtc: false, providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, telephony: { twilio: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL, transferTargets: [ALLOWED] } })
  const err = await app.llmrtc.telephony.call({ to: ALLOWED, from: '+15550199' }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof LLMRTC_ERR_CALL_CONTROL)
  t.match((err as Error).message, /no carrier with call control/)
  const off = await buildApp(t, { webrtc: false, providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() } })
  const none = await off.llmrtc.telephony.hangup('x').then(() => undefined, (e: unknown) => e)
  t.ok(none instanceof LLMRTC_ERR_CALL_CONTROL, 'without telephony, fastify.llmrtc.telephony exists and rejects')
})

t.test('transferTargets must be E.164 numbers or SIP URIs', async t => {
  const providers = { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }
  const telephony = { twilio: { authToken: AUTH_TOKEN, accountSid: ACCOUNT_SID }, publicUrl: PUBLIC_URL }
  await t.rejects(buildApp(t, { webrtc: false, providers, telephony: { ...telephony, transferTargets: ['555-0100'] } }), LLMRTC_ERR_OPTIONS_INVALID)
  await t.rejects(buildApp(t, { webrtc: false, providers, telephony: { ...telephony, transferTargets: [] } }), LLMRTC_ERR_OPTIONS_INVALID)
  await t.rejects(buildApp(t, { webrtc: false, providers, telephony: { ...telephony, twilio: { ...telephony.twilio, unknown: 1 } as never } }), /telephony\.twilio\.unknown/)
  t.ok(isCallTarget('+14155550100') && isCallTarget('sip:a@b.example') && isCallTarget('sips:b.example'))
  t.notOk(isCallTarget('+0123') || isCallTarget('tel:+14155550100') || isCallTarget('sip:a b') || isCallTarget('sip:<x>'))
})
