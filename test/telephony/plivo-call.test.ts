import { createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { callApp, peak, PUBLIC_URL, SimulatedStream, streamOf, type CarrierWire } from './simulated-carrier.js'

// A simulated Plivo: the answer URL's webhook signed with X-Plivo-Signature-V3, then the bidirectional
// audio stream with μ-law speech in real time; checkpoints are answered with playedStream once the audio
// before them has played. Plivo sends no stop on the socket: hanging up closes it.

const AUTH_TOKEN = 'ZDZlNzI4ZmI5YjQzNzEzNTk2MDM3MjJjNWQ2Mzc1'
const WEBHOOK_PATH = '/telephony/plivo/voice'

/**
 * Plivo's signature V3 as its documentation describes it, independent of the SDK: HMAC-SHA256 (base64,
 * keyed with the auth token) of `${url}?${sorted body fields as name+value}.${nonce}` for a POST with
 * fields and no query.
 */
function signatureV3 (authToken: string, url: string, params: Record<string, string>, nonce: string): string {
  const fields = Object.keys(params).sort().map((name) => `${name}${params[name]}`).join('')
  const signed = fields === '' ? url : `${url}?${fields}`
  return createHmac('sha256', authToken).update(`${signed}.${nonce}`).digest('base64')
}

/** The `name=value,...` of the answer's extraHeaders, as the object Plivo puts in the start's extra_headers. */
function extraHeadersOf (xml: string): Record<string, string> {
  const attribute = /extraHeaders="([^"]*)"/.exec(xml)?.[1] ?? ''
  return Object.fromEntries(attribute.split(',').filter(pair => pair !== '').map(pair => pair.split('=') as [string, string]))
}

const plivoWire: CarrierWire = {
  // The token field here is the extraHeaders value the answer asked for (hex): Plivo passes it through.
  start: (callId, streamId, token) => ({
    event: 'start',
    sequenceNumber: 0,
    start: { callId, streamId, accountId: 'MA0000', tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 } },
    extra_headers: JSON.stringify({ token })
  }),
  media: (streamId, payload, n) => ({ event: 'media', sequenceNumber: n + 1, streamId, media: { track: 'inbound', timestamp: String(n * 20), chunk: n + 1, payload } }),
  echo: (message, streamId) => message.event === 'checkpoint' ? { event: 'playedStream', sequenceNumber: 99, streamId, name: message.name } : undefined,
  audio: (message) => message.event === 'playAudio' ? (message.media as { payload: string }).payload : undefined
}

function answerFields (callUuid: string): Record<string, string> {
  return { CallUUID: callUuid, From: '14155550100', To: '14155550199', Direction: 'inbound', CallStatus: 'ringing', Event: 'StartApp' }
}

/** Posts the answer webhook as Plivo does: form fields, signed with V3 and a nonce. */
async function postWebhook (base: string, fields: Record<string, string>, signWith = AUTH_TOKEN, signedFields = fields): Promise<Response> {
  const nonce = randomBytes(10).toString('hex')
  return await fetch(`http://${base}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-plivo-signature-v3': signatureV3(signWith, `${PUBLIC_URL}${WEBHOOK_PATH}`, signedFields, nonce),
      'x-plivo-signature-v3-nonce': nonce
    },
    body: new URLSearchParams(fields).toString()
  })
}

const telephony = { plivo: { authToken: AUTH_TOKEN }, publicUrl: PUBLIC_URL }

t.test('a Plivo call: signed webhook, Plivo XML with a token, speech in, the answer played back with checkpoints', async t => {
  const llm = new ScriptedLLM([['Hello caller, how can I help?']])
  const stt = new ScriptedSTT(['I would like to book a table.'])
  const { app, base } = await callApp(t, { llm, stt, tts: new ScriptedTTS() }, telephony)

  const response = await postWebhook(base, answerFields('uuid-1'))
  t.equal(response.status, 200, 'the webhook is answered')
  t.match(response.headers.get('content-type'), /xml/)
  const xml = await response.text()
  t.match(xml, /<Stream bidirectional="true"[^>]*keepCallAlive="true"/, 'a bidirectional stream that holds the call')
  const { url } = streamOf(xml)
  const headerToken = extraHeadersOf(xml).token
  t.equal(url, 'wss://voice.example.test/telephony/plivo/media', 'the Plivo stream URL')
  t.ok(headerToken !== undefined && /^[0-9a-f]{64,}$/.test(headerToken), 'the token travels as alphanumeric extraHeaders')
  const session = app.llmrtcSessions.list()[0]
  t.match(session?.data.call, { carrier: 'plivo', callId: 'uuid-1', from: '14155550100' })

  const stream = new SimulatedStream(plivoWire, url.replace('wss://voice.example.test', `ws://${base}`), 'uuid-1')
  t.teardown(() => { stream.socket.terminate() })
  await stream.open(headerToken ?? '')
  const speech = await synthesizeSpeech('I would like to book a table.', 8000)
  await stream.speak(concat(silence(300, 8000), speech, silence(1200, 8000)))

  await stream.waitFor('checkpoint')
  await app.llmrtcPipeline.idle()
  t.equal(stt.calls.length, 1, 'the caller\'s speech was transcribed once')
  t.ok((stt.calls[0]?.length ?? 0) > speech.length, 'the STT got the whole utterance')
  t.match(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'I would like to book a table.' }, 'the LLM got the transcript')
  const heard = stream.heard()
  t.ok(heard.length > 8000 * 0.2, `the answer was played as μ-law playAudio (${heard.length} samples)`)
  t.ok(peak(heard) > 1000, 'the answer is not silence')
  const plays = stream.messages.filter(m => m.event === 'playAudio')
  t.ok(plays.every(m => (m.media as { contentType: string, sampleRate: number }).contentType === 'audio/x-mulaw' && (m.media as { sampleRate: number }).sampleRate === 8000), 'playAudio names μ-law at 8 kHz')
  const checkpoints = stream.messages.filter(m => m.event === 'checkpoint')
  t.ok(checkpoints.every(m => m.streamId === 'stream-uuid-1'), 'checkpoints carry the streamId')
  const events = stream.messages.map(m => m.event)
  t.ok(events.lastIndexOf('checkpoint') > events.lastIndexOf('playAudio'), 'a checkpoint follows the last audio of the answer')
  t.match(session?.history.messages.at(-1), { role: 'assistant', content: 'Hello caller, how can I help?' }, 'the turn completed')

  // Plivo sends no stop: the caller hanging up closes the socket, which ends the call.
  stream.socket.close()
  await stream.closed
  for (let i = 0; i < 50 && app.llmrtcSessions.list().length > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(app.llmrtcSessions.list().length, 0, 'the socket closing ended the session')
  t.equal(app.llmrtcPipeline.size, 0, 'and its pipeline')
})

t.test('Plivo: a bad or missing signature gets 403 and no session', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, telephony)
  const wrongKey = await postWebhook(base, answerFields('uuid-2'), 'someone-elses-token')
  t.equal(wrongKey.status, 403, 'signed with another token')
  t.notMatch(await wrongKey.text(), /Stream/, 'no Plivo XML')
  const unsigned = await fetch(`http://${base}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(answerFields('uuid-2')).toString() })
  t.equal(unsigned.status, 403, 'unsigned')
  const tampered = await postWebhook(base, answerFields('uuid-3'), AUTH_TOKEN, answerFields('uuid-2'))
  t.equal(tampered.status, 403, 'fields changed after signing')
  t.equal(app.llmrtcSessions.list().length, 0, 'no session was created')
})

t.test('Plivo: a wrong token closes the media socket and starts no call', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, telephony)
  const headerToken = extraHeadersOf(await (await postWebhook(base, answerFields('uuid-4'))).text()).token ?? ''
  t.equal(app.llmrtcSessions.list().length, 1)
  const streamUrl = `ws://${base}/telephony/plivo/media`
  const wrong = new SimulatedStream(plivoWire, streamUrl, 'uuid-4')
  await wrong.open(Buffer.from('not-the-token').toString('hex'))
  t.equal(await wrong.closed, 1008, 'a wrong token: closed with 1008')
  t.equal(app.llmrtcSessions.list().length, 1, 'no session was created by the socket')
  t.equal(app.llmrtcPipeline.size, 0, 'no call media reached the pipeline')

  const real = new SimulatedStream(plivoWire, streamUrl, 'uuid-4')
  t.teardown(() => { real.socket.terminate() })
  await real.open(headerToken)
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(real.closeCode, undefined, 'the right token is taken')
  t.equal(app.llmrtcPipeline.size, 1, 'and the call reached the pipeline')
})

t.test('all three carriers at once, each on its own routes, from the environment', async t => {
  const { app, base } = await callApp(t, { llm: new ScriptedLLM([]), stt: new ScriptedSTT([]), tts: new ScriptedTTS() }, undefined, {
    env: { PLIVO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_AUTH_TOKEN: 'twilio-token', TELNYX_PUBLIC_KEY: Buffer.alloc(32, 7).toString('base64'), TELEPHONY_PUBLIC_URL: PUBLIC_URL }
  })
  t.equal((await postWebhook(base, answerFields('uuid-5'))).status, 200, 'Plivo from PLIVO_AUTH_TOKEN')
  t.equal((await fetch(`http://${base}/telephony/twilio/voice`, { method: 'POST' })).status, 403, 'Twilio answers its route (unsigned: 403)')
  t.equal((await fetch(`http://${base}/telephony/telnyx/voice`, { method: 'POST' })).status, 403, 'Telnyx answers its route (unsigned: 403)')
  t.equal(app.llmrtcSessions.list().length, 1, 'one call, Plivo\'s')
})
