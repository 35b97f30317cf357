import { generateKeyPairSync, sign } from 'node:crypto'
import t from 'tap'
import { decodeWav } from '../../lib/audio/wav.js'
import { decodeG711 } from '../../lib/telephony/g711.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { callApp, peak, PUBLIC_URL, SimulatedStream, streamOf, type CarrierWire } from './simulated-carrier.js'

// A simulated Telnyx (TeXML application): a voice webhook signed with ed25519 over `${timestamp}|${body}`,
// then the bidirectional media WebSocket (`bidirectionalMode="rtp"`) with μ-law speech in real time; marks
// are echoed once the audio before them has played.

const WEBHOOK_PATH = '/telephony/telnyx/voice'
const { publicKey: publicKeyObject, privateKey } = generateKeyPairSync('ed25519')
// Mission Control shows the raw 32 bytes in base64: the end of the SPKI DER.
const PUBLIC_KEY = publicKeyObject.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64')
const other = generateKeyPairSync('ed25519')

const telnyxWire: CarrierWire = {
  start: (callId, streamId, token) => ({
    event: 'start',
    sequence_number: '1',
    start: {
      user_id: 'u-1',
      call_control_id: callId,
      call_session_id: 'session-' + callId,
      from: '+18005550100',
      to: '+18005550199',
      media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
      custom_parameters: { token }
    },
    stream_id: streamId
  }),
  media: (streamId, payload, n) => ({ event: 'media', sequence_number: String(n + 2), media: { track: 'inbound', chunk: String(n + 1), timestamp: String(n * 20), payload }, stream_id: streamId }),
  echo: (message, streamId) => message.event === 'mark' ? { event: 'mark', sequence_number: '9', stream_id: streamId, mark: message.mark } : undefined,
  audio: (message) => message.event === 'media' ? (message.media as { payload: string }).payload : undefined
}

function callFields (callSid: string): Record<string, string> {
  return { AccountSid: 'f5586561-8ff0-4291-a51b-c7dfe4139ff9', CallSid: callSid, From: '+18005550100', To: '+18005550199', CallStatus: 'ringing', Direction: 'inbound' }
}

/** Posts the TeXML voice webhook as Telnyx does: form fields, signed over the raw body. */
async function postWebhook (base: string, body: string, key = privateKey, contentType = 'application/x-www-form-urlencoded'): Promise<Response> {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const signature = sign(null, Buffer.from(`${timestamp}|${body}`), key).toString('base64')
  return await fetch(`http://${base}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp },
    body
  })
}

function form (fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

function tokenOf (xml: string): string {
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1]
  if (token === undefined) throw new Error(`no token in: ${xml}`)
  return token
}

const telephony = { telnyx: { publicKey: PUBLIC_KEY }, publicUrl: PUBLIC_URL }

t.test('a Telnyx call: signed webhook, TeXML with a token, speech in, the answer spoken back with marks', async t => {
  const llm = new ScriptedLLM([['Hello caller, how can I help?']])
  const stt = new ScriptedSTT(['I would like to book a table.'])
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS() }, telephony)

  const response = await postWebhook(base, form(callFields('v3:call-1')))
  t.equal(response.status, 200, 'the webhook is answered')
  t.match(response.headers.get('content-type'), /xml/)
  const xml = await response.text()
  t.match(xml, /<Connect><Stream [^>]*bidirectionalMode="rtp"/, 'a bidirectional RTP stream')
  const { url } = streamOf(xml)
  const token = tokenOf(xml)
  t.equal(url, 'wss://voice.example.test/telephony/telnyx/media', 'the Telnyx stream URL')
  t.ok(token.length >= 32, 'a long random per-call token')
  t.equal(app.llmrtcSessions.list().length, 1, 'the call has a session')
  const session = app.llmrtcSessions.list()[0]
  t.match(session?.data.call, { carrier: 'telnyx', callId: 'v3:call-1', from: '+18005550100' })

  const stream = new SimulatedStream(telnyxWire, url.replace('wss://voice.example.test', `ws://${base}`), 'v3:call-1')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(token)
  const speech = await synthesizeSpeech('I would like to book a table.', 8000)
  await stream.speak(concat(silence(300, 8000), speech, silence(1200, 8000)))

  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.equal(stt.calls.length, 1, 'the caller\'s speech was transcribed once')
  t.ok((stt.calls[0]?.length ?? 0) > speech.length, 'the STT got the whole utterance')
  t.match(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'I would like to book a table.' }, 'the LLM got the transcript')
  const heard = stream.heard()
  t.ok(heard.length > 8000 * 0.2, `the answer was streamed as μ-law media (${heard.length} samples)`)
  t.ok(peak(heard) > 1000, 'the answer is not silence')
  const medias = stream.messages.filter(m => m.event === 'media')
  t.ok(medias.every(m => m.stream_id === undefined && m.streamSid === undefined), 'outbound media carries no stream id (Telnyx knows the socket)')
  const events = stream.messages.map(m => m.event)
  t.ok(events.lastIndexOf('mark') > events.lastIndexOf('media'), 'a mark follows the last audio of the answer')
  t.match(session?.history.messages.at(-1), { role: 'assistant', content: 'Hello caller, how can I help?' }, 'the turn completed')

  stream.send({ event: 'stop', sequence_number: '99', stop: { call_control_id: 'v3:call-1' }, stream_id: stream.streamId })
  await stream.closed
  t.equal(app.llmrtcSessions.list().length, 0, 'stop ended the session')
  t.equal(app.llmrtcPipeline.size, 0, 'and its pipeline')
})

t.test('an A-law (PCMA) Telnyx stream (telephony.telnyx.law): the caller heard and answered in A-law', async t => {
  const llm = new ScriptedLLM([['Bonjour, que puis-je faire pour vous?']])
  const stt = new ScriptedSTT(['Je voudrais réserver une table.'])
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS() }, { ...telephony, telnyx: { publicKey: PUBLIC_KEY, law: 'alaw' } })
  const xml = await (await postWebhook(base, form(callFields('v3:call-alaw')))).text()
  t.match(xml, /codec="PCMA" bidirectionalMode="rtp" bidirectionalCodec="PCMA"/, 'telephony.telnyx.law asks Telnyx for PCMA both ways')
  const { url } = streamOf(xml)
  // Asked for PCMA, Telnyx's start says so, and the audio follows it both ways.
  const alawWire: CarrierWire = {
    ...telnyxWire,
    start: (callId, streamId, token) => {
      const start = telnyxWire.start(callId, streamId, token)
      return { ...start, start: { ...(start.start as Record<string, unknown>), media_format: { encoding: 'PCMA', sample_rate: 8000, channels: 1 } } }
    }
  }
  const stream = new SimulatedStream(alawWire, url.replace('wss://voice.example.test', `ws://${base}`), 'v3:call-alaw', 'stream-alaw', 'alaw')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(tokenOf(xml))
  const speech = await synthesizeSpeech('Je voudrais réserver une table.', 8000)
  await stream.speak(concat(silence(300, 8000), speech, silence(1200, 8000)))

  await stream.waitFor('mark')
  await app.llmrtcPipeline.idle()
  t.equal(stt.calls.length, 1, 'the A-law speech was heard as one utterance')
  const heardByStt = decodeWav(stt.calls[0] as Buffer)
  const sttPeak = peak(heardByStt.samples)
  t.ok(sttPeak > peak(speech) * 0.7 && sttPeak < peak(speech) * 1.3, `the STT got the speech at its level (peak ${sttPeak} for ${peak(speech)} sent): A-law decoded as A-law`)
  const heard = stream.heard()
  t.ok(heard.length > 8000 * 0.2, `the answer was streamed (${heard.length} samples)`)
  // The scripted voice is a constant 3000: decoded as A-law the payloads must give it back.
  const level = heard.filter(sample => Math.abs(sample - 3000) <= 100).length
  t.ok(level > heard.length * 0.8, `the answer's bytes are A-law (${level} of ${heard.length} samples at the voice's level)`)
  const asMulaw = decodeG711('mulaw', Buffer.concat(stream.audioPayloads()))
  t.ok(asMulaw.filter(sample => Math.abs(sample - 3000) <= 100).length < heard.length * 0.2, 'and not μ-law')
  t.match(app.llmrtcSessions.list()[0]?.history.messages.at(-1), { role: 'assistant', content: 'Bonjour, que puis-je faire pour vous?' }, 'the turn completed')
})

t.test('a JSON webhook body is checked over its raw bytes too', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, telephony)
  // Spacing a re-serialisation would not keep: the signature covers these exact bytes.
  const body = '{ "CallSid":  "v3:call-json", "From": "+18005550100", "To": "+18005550199" }'
  const response = await postWebhook(base, body, privateKey, 'application/json')
  t.equal(response.status, 200)
  t.match(app.llmrtcSessions.list()[0]?.data.call, { carrier: 'telnyx', callId: 'v3:call-json' })
})

t.test('Telnyx: a bad or missing signature gets 403 and no session', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, telephony)
  const wrongKey = await postWebhook(base, form(callFields('v3:call-2')), other.privateKey)
  t.equal(wrongKey.status, 403, 'signed with another account\'s key')
  t.notMatch(await wrongKey.text(), /Stream/, 'no TeXML')
  const unsigned = await fetch(`http://${base}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(callFields('v3:call-2')) })
  t.equal(unsigned.status, 403, 'unsigned')
  const timestamp = String(Math.floor(Date.now() / 1000))
  const signature = sign(null, Buffer.from(`${timestamp}|${form(callFields('v3:call-2'))}`), privateKey).toString('base64')
  const tampered = await fetch(`http://${base}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp }, body: form(callFields('v3:call-3')) })
  t.equal(tampered.status, 403, 'a body changed after signing')
  t.equal(app.llmrtcSessions.list().length, 0, 'no session was created')
})

t.test('Telnyx: a wrong token closes the media socket and starts no call', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, telephony)
  const token = tokenOf(await (await postWebhook(base, form(callFields('v3:call-4')))).text())
  t.equal(app.llmrtcSessions.list().length, 1)
  const streamUrl = `ws://${base}/telephony/telnyx/media`
  const wrong = new SimulatedStream(telnyxWire, streamUrl, 'v3:call-4')
  await wrong.open('not-the-token')
  t.equal(await wrong.closed, 1008, 'a wrong token: closed with 1008')
  // A Twilio route does not exist here: only the configured carrier answers.
  t.equal((await fetch(`http://${base}/telephony/twilio/voice`, { method: 'POST' })).status, 404, 'no Twilio route without a Twilio token')
  t.equal(app.llmrtcSessions.list().length, 1, 'no session was created by the socket')
  t.equal(app.llmrtcPipeline.size, 0, 'no call media reached the pipeline')

  const real = new SimulatedStream(telnyxWire, streamUrl, 'v3:call-4')
  t.teardown(() => { real.socket.terminate() })
  await real.open(token)
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(real.closeCode, undefined, 'the right token is taken')
  t.equal(app.llmrtcPipeline.size, 1, 'and the call reached the pipeline')
})

t.test('Telnyx and Plivo options: a key that is not one fails at start, unknown keys are refused', async t => {
  const providers = { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }
  await t.rejects(callApp(t, providers, { telnyx: { publicKey: 'not-a-key' }, publicUrl: PUBLIC_URL }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /publicKey/ })
  await t.rejects(callApp(t, providers, { telnyx: { publicKey: PUBLIC_KEY, codec: 'PCMA' } as never, publicUrl: PUBLIC_URL }), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN' })
  await t.rejects(callApp(t, providers, { telnyx: { publicKey: PUBLIC_KEY, law: 'ulaw' as never }, publicUrl: PUBLIC_URL }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /telnyx\.law/ })
  await t.rejects(callApp(t, providers, { plivo: { authToken: 'x', subaccount: 'SA0000' } as never, publicUrl: PUBLIC_URL }), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN' })
  await t.rejects(callApp(t, providers, { telnyx: { publicKey: PUBLIC_KEY } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /telephony\.publicUrl/ })
})
