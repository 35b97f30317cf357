import t from 'tap'
import twilio from 'twilio'
import { createTwilioAdapter } from '../../lib/telephony/twilio-adapter.js'

const adapter = createTwilioAdapter({ authToken: 'secret-token' })
const URL = 'https://voice.example.test/telephony/twilio/voice?x=1'
const PARAMS = { CallSid: 'CA1', AccountSid: 'AC1', From: '+15550100' }

function request (signature: string | undefined, params: Record<string, string> = PARAMS, url = URL): Parameters<typeof adapter.verifyWebhook>[0] {
  return { url, headers: signature === undefined ? {} : { 'x-twilio-signature': signature }, rawBody: Buffer.from(new URLSearchParams(params).toString()), params }
}

t.test('verifyWebhook: the SDK\'s X-Twilio-Signature check over the URL and form fields', async t => {
  const good = twilio.getExpectedTwilioSignature('secret-token', URL, PARAMS)
  t.equal(await adapter.verifyWebhook(request(good)), true, 'a valid signature')
  t.equal(await adapter.verifyWebhook(request(undefined)), false, 'no signature')
  t.equal(await adapter.verifyWebhook(request('')), false, 'an empty signature')
  t.equal(await adapter.verifyWebhook(request(twilio.getExpectedTwilioSignature('other', URL, PARAMS))), false, 'another account\'s token')
  t.equal(await adapter.verifyWebhook(request(good, { ...PARAMS, From: '+15550666' })), false, 'a changed field')
  t.equal(await adapter.verifyWebhook(request(good, PARAMS, 'https://evil.example/telephony/twilio/voice?x=1')), false, 'another URL')
  t.equal(await createTwilioAdapter({ authToken: '' }).verifyWebhook(request(good)), false, 'no auth token: nothing verifies')
})

t.test('answer: <Connect><Stream> TwiML with the parameters, escaped', async t => {
  const { contentType, body } = adapter.answer('wss://voice.example.test/media?a=1&b=2', { token: 'a"b<c>&\'' })
  t.equal(contentType, 'text/xml')
  t.equal(body, '<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://voice.example.test/media?a=1&amp;b=2"><Parameter name="token" value="a&quot;b&lt;c&gt;&amp;&apos;"/></Stream></Connect></Response>')
})

t.test('parse: Twilio\'s Media Streams messages', async t => {
  t.equal(adapter.parse(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' })), undefined, 'connected is not used')
  t.same(adapter.parse(JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    start: { accountSid: 'AC1', streamSid: 'MZ1', callSid: 'CA1', tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: { token: 'tok' } },
    streamSid: 'MZ1'
  })), { type: 'start', callId: 'CA1', streamId: 'MZ1', law: 'mulaw', sampleRateHz: 8000, parameters: { token: 'tok' } })
  const media = adapter.parse(JSON.stringify({ event: 'media', sequenceNumber: '3', media: { track: 'inbound', chunk: '1', timestamp: '5', payload: Buffer.from([1, 2, 255]).toString('base64') }, streamSid: 'MZ1' }))
  t.same(media, { type: 'media', payload: Buffer.from([1, 2, 255]) })
  t.same(adapter.parse(JSON.stringify({ event: 'mark', sequenceNumber: '4', streamSid: 'MZ1', mark: { name: 'm1' } })), { type: 'mark', name: 'm1' })
  t.same(adapter.parse(JSON.stringify({ event: 'dtmf', streamSid: 'MZ1', sequenceNumber: '5', dtmf: { track: 'inbound_track', digit: '7' } })), { type: 'dtmf', digit: '7' })
  t.same(adapter.parse(JSON.stringify({ event: 'stop', sequenceNumber: '6', streamSid: 'MZ1', stop: { accountSid: 'AC1', callSid: 'CA1' } })), { type: 'stop' })
  t.throws(() => adapter.parse('{not json'), 'malformed JSON throws')
})

t.test('outbound messages: media, mark and clear as Twilio takes them', async t => {
  t.same(JSON.parse(adapter.media('MZ1', new Uint8Array([0, 127, 255]))), { event: 'media', streamSid: 'MZ1', media: { payload: Buffer.from([0, 127, 255]).toString('base64') } })
  const view = new Uint8Array([9, 9, 1, 2, 9]).subarray(2, 4)
  t.same(JSON.parse(adapter.media('MZ1', view)).media.payload, Buffer.from([1, 2]).toString('base64'), 'a view: only its bytes')
  t.same(JSON.parse(adapter.mark('MZ1', 'm1')), { event: 'mark', streamSid: 'MZ1', mark: { name: 'm1' } })
  t.same(JSON.parse(adapter.clear('MZ1')), { event: 'clear', streamSid: 'MZ1' })
})
