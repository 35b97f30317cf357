import { createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import { createPlivoAdapter } from '../../lib/telephony/plivo-adapter.js'
import type { WebhookRequest } from '../../lib/telephony/carrier.js'

const AUTH_TOKEN = 'ZDZlNzI4ZmI5YjQzNzEzNTk2MDM3MjJjNWQ2Mzc1'

/**
 * Plivo's signature V3, written from its documentation and independent of the SDK: HMAC-SHA256 (base64,
 * keyed with the auth token) of `${url}?${sorted query k=v joined by &}${'.' when both}${sorted body
 * fields as name+value}.${nonce}` for a POST; for a POST with no fields or a GET, the URL with its sorted
 * query, then `.${nonce}`.
 */
function signatureV3 (authToken: string, url: string, params: Record<string, string>, nonce: string): string {
  const parsed = new URL(url)
  const query = [...parsed.searchParams.entries()].map(([k, v]) => `${k}=${v}`).sort().join('&')
  const base = `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  const fields = Object.keys(params).sort().map((name) => `${name}${params[name]}`).join('')
  let signed: string
  if (fields === '') signed = query === '' ? base : `${base}?${query}`
  else signed = `${base}?${query}${query === '' ? '' : '.'}${fields}`
  return createHmac('sha256', authToken).update(`${signed}.${nonce}`).digest('base64')
}

/** The answer-URL webhook Plivo posts for an incoming call (form fields), signed with V3. */
function signedRequest (url: string, params: Record<string, string>, authToken = AUTH_TOKEN): WebhookRequest {
  const nonce = randomBytes(10).toString('hex')
  const rawBody = new URLSearchParams(params).toString()
  return {
    url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-plivo-signature-v3': signatureV3(authToken, url, params, nonce),
      'x-plivo-signature-v3-nonce': nonce
    },
    rawBody: Buffer.from(rawBody),
    params
  }
}

const answerFields = {
  CallUUID: '46c6c38a-9f2e-11ee-8b1a-0242ac120002',
  From: '14155550100',
  To: '14155550199',
  Direction: 'inbound',
  CallStatus: 'ringing',
  Event: 'StartApp'
}

t.test('verifyWebhook: X-Plivo-Signature-V3 over the URL, the sorted fields and the nonce', async t => {
  const adapter = createPlivoAdapter({ authToken: AUTH_TOKEN })
  t.equal(adapter.name, 'plivo')
  const url = 'https://voice.example.com/telephony/plivo/answer'

  const good = signedRequest(url, answerFields)
  t.equal(await adapter.verifyWebhook(good), true, 'a correctly signed webhook is accepted')
  t.equal(await adapter.verifyWebhook(signedRequest(`${url}?agent=support&b=2`, answerFields)), true, 'with a query string in the URL too')

  const tampered = { ...good, params: { ...answerFields, From: '14155550666' }, rawBody: Buffer.from(new URLSearchParams({ ...answerFields, From: '14155550666' }).toString()) }
  t.equal(await adapter.verifyWebhook(tampered), false, 'a tampered field is refused')
  t.equal(await adapter.verifyWebhook({ ...good, url: 'https://evil.example.com/telephony/plivo/answer' }), false, 'another URL is refused')
  t.equal(await adapter.verifyWebhook({ ...good, headers: { ...good.headers, 'x-plivo-signature-v3-nonce': 'another-nonce' } }), false, 'the nonce is covered')

  t.equal(await createPlivoAdapter({ authToken: 'another-token' }).verifyWebhook(good), false, 'another auth token refuses it')
  t.equal(await adapter.verifyWebhook(signedRequest(url, answerFields, 'another-token')), false, 'a signature with another token is refused')

  t.equal(await adapter.verifyWebhook({ ...good, headers: { ...good.headers, 'x-plivo-signature-v3': undefined } }), false, 'a missing signature header is refused')
  t.equal(await adapter.verifyWebhook({ ...good, headers: { ...good.headers, 'x-plivo-signature-v3-nonce': undefined } }), false, 'a missing nonce header is refused')

  const rotated = { ...good, headers: { ...good.headers, 'x-plivo-signature-v3': `c29tZXRoaW5nIGVsc2U=,${good.headers['x-plivo-signature-v3'] as string}` } }
  t.equal(await adapter.verifyWebhook(rotated), true, 'one matching signature in the comma-separated list is enough')

  const get = signedRequest(`${url}?CallUUID=46c6&From=14155550100`, {})
  t.equal(await adapter.verifyWebhook({ ...get, params: { CallUUID: '46c6', From: '14155550100' } }), true, 'a GET (no body) signs the URL with its query alone')
})

t.test('createPlivoAdapter refuses a missing auth token', async t => {
  t.throws(() => createPlivoAdapter({ authToken: '' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => createPlivoAdapter({} as { authToken: string }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
})

t.test('answer: Plivo XML <Stream> bidirectional μ-law, the URL escaped, the token as extraHeaders', async t => {
  const adapter = createPlivoAdapter({ authToken: AUTH_TOKEN })
  const token = 'Zx-9_a.b~c'
  const { contentType, body } = adapter.answer('wss://voice.example.com/telephony/plivo/media?a=1&b=<2>', { token })
  t.equal(contentType, 'application/xml')
  const hex = Buffer.from(token).toString('hex')
  t.equal(body,
    '<?xml version="1.0" encoding="UTF-8"?><Response>' +
    `<Stream bidirectional="true" audioTrack="inbound" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000" extraHeaders="token=${hex}">` +
    'wss://voice.example.com/telephony/plivo/media?a=1&amp;b=&lt;2&gt;</Stream></Response>')
  t.match(hex, /^[A-Za-z0-9]+$/, 'the value is within the letters and digits Plivo allows')

  t.notMatch(adapter.answer('wss://x.example/m', {}).body, /extraHeaders/, 'no parameters, no extraHeaders')
  t.throws(() => adapter.answer('wss://x.example/m', { 'call-token': 'x' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' }, 'a name Plivo cannot pass is refused')
  t.throws(() => adapter.answer('wss://x.example/m', { token: 'x'.repeat(300) }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' }, 'more than 512 bytes of extraHeaders is refused')
})

t.test('parse: the documented audio stream messages, the token round-trips from answer()', async t => {
  const adapter = createPlivoAdapter({ authToken: AUTH_TOKEN })
  const token = 'Zx-9_a.b~c'
  const markup = adapter.answer('wss://x.example/m', { token, agent: 'support' }).body
  const sent = /extraHeaders="([^"]*)"/.exec(markup)?.[1] ?? ''
  // Plivo hands the extraHeaders back in the start message as a JSON object in a string.
  const echoed = JSON.stringify(Object.fromEntries(sent.split(',').map((pair) => pair.split('='))))

  const start = adapter.parse(JSON.stringify({
    sequenceNumber: 0,
    event: 'start',
    start: {
      callId: '46c6c38a-9f2e-11ee-8b1a-0242ac120002',
      streamId: '20170ada-f610-433b-8758-c02a2aab3662',
      accountId: 'MAXXXXXXXXXXXXXXXXXX',
      tracks: ['inbound'],
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 }
    },
    extra_headers: echoed
  }))
  t.same(start, {
    type: 'start',
    callId: '46c6c38a-9f2e-11ee-8b1a-0242ac120002',
    streamId: '20170ada-f610-433b-8758-c02a2aab3662',
    law: 'mulaw',
    sampleRateHz: 8000,
    parameters: { token, agent: 'support' }
  })

  const attributeForm = adapter.parse(JSON.stringify({ event: 'start', start: { callId: 'c', streamId: 's', mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 } }, extra_headers: sent }))
  t.same(attributeForm?.type === 'start' && attributeForm.parameters, { token, agent: 'support' }, 'the name=value,... form is read too')
  const prefixed = adapter.parse(JSON.stringify({ event: 'start', start: { callId: 'c', streamId: 's', mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 } }, extra_headers: { 'X-PH-token': Buffer.from(token).toString('hex') } }))
  t.same(prefixed?.type === 'start' && prefixed.parameters, { token }, 'an X-PH- prefix is dropped')

  t.throws(() => adapter.parse(JSON.stringify({ event: 'start', start: { callId: 'c', streamId: 's', mediaFormat: { encoding: 'audio/x-l16', sampleRate: 16000 } } })),
    { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' }, 'linear PCM is not what answer() asked for')

  const audio = Buffer.from([0xff, 0x7e, 0x01, 0x80])
  t.same(adapter.parse(JSON.stringify({
    sequenceNumber: 3,
    streamId: '20170ada-f610-433b-8758-c02a2aab3662',
    event: 'media',
    media: { track: 'inbound', timestamp: '1703140440460', chunk: 2, payload: audio.toString('base64') },
    extra_headers: '{}'
  })), { type: 'media', payload: audio })
  t.equal(adapter.parse(JSON.stringify({ event: 'media', media: { track: 'outbound', payload: audio.toString('base64') } })), undefined, 'the outbound track is not caller audio')

  t.same(adapter.parse(JSON.stringify({ event: 'playedStream', streamId: '20170ada-f610-433b-8758-c02a2aab3662', name: 'turn-2-chunk-4' })), { type: 'mark', name: 'turn-2-chunk-4' }, 'playedStream is the checkpoint echo')
  t.equal(adapter.parse(JSON.stringify({ event: 'clearedAudio', streamId: 's', sequenceNumber: 9 })), undefined, 'clearedAudio is not used')
  t.same(adapter.parse(JSON.stringify({ event: 'dtmf', streamId: 's', sequenceNumber: 5, dtmf: { digit: '7', track: 'inbound' } })), { type: 'dtmf', digit: '7' })
  t.same(adapter.parse(JSON.stringify({ event: 'stop', streamId: 's' })), { type: 'stop' })
  t.equal(adapter.parse(JSON.stringify({ event: 'something_new' })), undefined, 'an unknown event is ignored')
  t.throws(() => adapter.parse('{"event":'), SyntaxError, 'malformed JSON throws')
})

t.test('media, mark and clear: playAudio, checkpoint and clearAudio', async t => {
  const adapter = createPlivoAdapter({ authToken: AUTH_TOKEN })
  const payload = new Uint8Array([1, 0xff, 0x00, 0x7f, 2]).subarray(1, 4)
  t.same(JSON.parse(adapter.media('st-1', payload)), {
    event: 'playAudio',
    media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: Buffer.from([0xff, 0x00, 0x7f]).toString('base64') }
  })
  t.same(JSON.parse(adapter.mark('st-1', 'turn-1')), { event: 'checkpoint', streamId: 'st-1', name: 'turn-1' })
  t.same(JSON.parse(adapter.clear('st-1')), { event: 'clearAudio', streamId: 'st-1' })
})
