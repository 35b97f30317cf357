import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import t from 'tap'
import { createTelnyxAdapter } from '../../lib/telephony/telnyx-adapter.js'
import type { WebhookRequest } from '../../lib/telephony/carrier.js'

/** A fresh ed25519 key pair, the public key as Mission Control shows it (base64 of the 32 raw bytes). */
function keyPair (): { publicKey: string, privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  // An ed25519 SPKI DER ends with the 32 raw key bytes.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  return { publicKey: raw.toString('base64'), privateKey }
}

const body = JSON.stringify({
  data: {
    event_type: 'call.initiated',
    id: '0ccc7b54-4df3-4bca-a65a-3da1ecc777f0',
    payload: { call_control_id: 'v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ', from: '+18005550100', to: '+18005550199' },
    record_type: 'event'
  }
})

/** A webhook Telnyx would post, signed as Telnyx signs: ed25519 over `${timestamp}|${rawBody}`. */
function signedRequest (privateKey: KeyObject, rawBody: string, timestamp = Math.floor(Date.now() / 1000)): WebhookRequest {
  const signature = sign(null, Buffer.from(`${timestamp}|${rawBody}`), privateKey).toString('base64')
  return {
    url: 'https://voice.example.com/telephony/telnyx/voice',
    headers: { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': String(timestamp), 'content-type': 'application/json' },
    rawBody: Buffer.from(rawBody),
    params: JSON.parse(rawBody)
  }
}

t.test('verifyWebhook: ed25519 over timestamp|body with the account key, fresh timestamps only', async t => {
  const { publicKey, privateKey } = keyPair()
  const adapter = createTelnyxAdapter({ publicKey })
  t.equal(adapter.name, 'telnyx')

  const good = signedRequest(privateKey, body)
  t.equal(await adapter.verifyWebhook(good), true, 'a correctly signed webhook is accepted')

  t.equal(await adapter.verifyWebhook({ ...good, rawBody: Buffer.from(body.replace('+18005550100', '+18005550666')) }), false, 'a tampered body is refused')

  const other = keyPair()
  t.equal(await createTelnyxAdapter({ publicKey: other.publicKey }).verifyWebhook(good), false, 'another account key refuses it')
  t.equal(await adapter.verifyWebhook(signedRequest(other.privateKey, body)), false, 'a signature by another key is refused')

  const noSignature = { ...good, headers: { ...good.headers, 'telnyx-signature-ed25519': undefined } }
  t.equal(await adapter.verifyWebhook(noSignature), false, 'a missing signature header is refused')
  const noTimestamp = { ...good, headers: { ...good.headers, 'telnyx-timestamp': undefined } }
  t.equal(await adapter.verifyWebhook(noTimestamp), false, 'a missing timestamp header is refused')

  const stale = signedRequest(privateKey, body, Math.floor(Date.now() / 1000) - 10 * 60)
  t.equal(await adapter.verifyWebhook(stale), false, 'a correctly signed webhook 10 minutes old is refused (replay)')
  const recent = signedRequest(privateKey, body, Math.floor(Date.now() / 1000) - 60)
  t.equal(await adapter.verifyWebhook(recent), true, 'one a minute old is within the 300 s window')

  const shifted = { ...good, headers: { ...good.headers, 'telnyx-timestamp': String(Number(good.headers['telnyx-timestamp']) - 1) } }
  t.equal(await adapter.verifyWebhook(shifted), false, 'the timestamp is covered by the signature')

  const garbage = { ...good, headers: { ...good.headers, 'telnyx-signature-ed25519': 'not base64!' } }
  t.equal(await adapter.verifyWebhook(garbage), false, 'a malformed signature is refused, not thrown')

  const arrayHeaders = { ...good, headers: { ...good.headers, 'telnyx-signature-ed25519': [good.headers['telnyx-signature-ed25519'] as string] } }
  t.equal(await adapter.verifyWebhook(arrayHeaders), true, 'a repeated header takes its first value')
})

t.test('createTelnyxAdapter refuses a public key that is not 32 bytes of base64, and an unknown law', async t => {
  t.throws(() => createTelnyxAdapter({ publicKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => createTelnyxAdapter({ publicKey: Buffer.alloc(16).toString('base64') }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => createTelnyxAdapter({ publicKey: 'KEY017A4E1F2B3C4D5E6F7A8B9C0D1E2F3' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => createTelnyxAdapter({ publicKey: keyPair().publicKey, law: 'opus' as 'mulaw' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
})

t.test('answer: TeXML <Connect><Stream> bidirectional RTP to the URL, the token as an escaped <Parameter>', async t => {
  const adapter = createTelnyxAdapter({ publicKey: keyPair().publicKey })
  const { contentType, body } = adapter.answer('wss://voice.example.com/telephony/telnyx/media?a=1&b=2', { token: 'ab"c<d>&e\'f' })
  t.equal(contentType, 'application/xml')
  t.equal(body,
    '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>' +
    '<Stream url="wss://voice.example.com/telephony/telnyx/media?a=1&amp;b=2" track="inbound_track" codec="PCMU" bidirectionalMode="rtp" bidirectionalCodec="PCMU">' +
    '<Parameter name="token" value="ab&quot;c&lt;d&gt;&amp;e&apos;f"/></Stream></Connect></Response>')

  const alaw = createTelnyxAdapter({ publicKey: keyPair().publicKey, law: 'alaw' }).answer('wss://x.example/m', {}).body
  t.match(alaw, /<Stream url="wss:\/\/x\.example\/m" track="inbound_track" codec="PCMA" bidirectionalMode="rtp" bidirectionalCodec="PCMA"><\/Stream>/, 'A-law asks PCMA both ways')
})

t.test('parse: the documented media WebSocket messages', async t => {
  const adapter = createTelnyxAdapter({ publicKey: keyPair().publicKey })

  t.equal(adapter.parse(JSON.stringify({ event: 'connected', version: '1.0.0' })), undefined, 'connected is not used')

  const start = adapter.parse(JSON.stringify({
    event: 'start',
    sequence_number: '1',
    start: {
      user_id: '3E6F995F-85F7-4705-9741-53B116D28237',
      call_control_id: 'v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ',
      call_session_id: 'b0e6141e-c81c-11f0-abac-02420aef93a0',
      client_state: 'aGF2ZSBhIG5pY2UgZGF5ID1d',
      from: '+18005550100',
      to: '+18005550199',
      media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
      custom_parameters: { token: 'tok-123' }
    },
    stream_id: '32DE0DEA-53CB-4B21-89A4-9E1819C043BC'
  }))
  t.same(start, {
    type: 'start',
    callId: 'v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ',
    streamId: '32DE0DEA-53CB-4B21-89A4-9E1819C043BC',
    law: 'mulaw',
    sampleRateHz: 8000,
    parameters: { token: 'tok-123' }
  })

  const pcma = adapter.parse(JSON.stringify({
    event: 'start',
    stream_id: 's-2',
    start: { call_control_id: 'v3:c2', media_format: { encoding: 'PCMA', sample_rate: 8000, channels: 1 }, custom_parameters: [{ name: 'token', value: 'tok-9' }] }
  }))
  t.same(pcma, { type: 'start', callId: 'v3:c2', streamId: 's-2', law: 'alaw', sampleRateHz: 8000, parameters: { token: 'tok-9' } }, 'PCMA is A-law; the Call Control list form of custom parameters is read too')

  t.throws(() => adapter.parse(JSON.stringify({ event: 'start', stream_id: 's', start: { media_format: { encoding: 'L16', sample_rate: 16000 } } })),
    { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' }, 'an encoding that is not G.711 is refused')

  const audio = Buffer.from([0xff, 0x7f, 0x00, 0x80, 0x12])
  const media = adapter.parse(JSON.stringify({
    event: 'media',
    sequence_number: '4',
    media: { track: 'inbound', chunk: '2', timestamp: '5', payload: audio.toString('base64') },
    stream_id: '32DE0DEA-53CB-4B21-89A4-9E1819C043BC'
  }))
  t.same(media, { type: 'media', payload: audio }, 'inbound media is the decoded payload')
  t.equal(adapter.parse(JSON.stringify({ event: 'media', media: { track: 'outbound', payload: audio.toString('base64') }, stream_id: 's' })), undefined, 'our own outbound track is not caller audio')

  t.same(adapter.parse(JSON.stringify({ event: 'mark', sequence_number: '7', stream_id: 's', mark: { name: 'turn-3-chunk-9' } })), { type: 'mark', name: 'turn-3-chunk-9' })
  t.same(adapter.parse(JSON.stringify({ event: 'dtmf', sequence_number: '8', stream_id: 's', occurred_at: '2026-12-03T12:00:00Z', dtmf: { digit: '#' } })), { type: 'dtmf', digit: '#' })
  t.same(adapter.parse(JSON.stringify({ event: 'stop', sequence_number: '9', stream_id: 's', stop: { user_id: 'u', call_control_id: 'v3:c' } })), { type: 'stop' })
  t.equal(adapter.parse(JSON.stringify({ event: 'error', stream_id: 's', payload: { code: 100003, title: 'malformed_frame', detail: 'Malformed frame' } })), undefined, 'error is not a CarrierEvent')
  t.equal(adapter.parse(JSON.stringify({ event: 'something_new' })), undefined, 'an unknown event is ignored')
  t.equal(adapter.parse('[1,2]'), undefined, 'JSON that is not an object is ignored')

  t.throws(() => adapter.parse('{"event":"media",'), SyntaxError, 'malformed JSON throws')
})

t.test('media, mark and clear: the documented outbound messages', async t => {
  const adapter = createTelnyxAdapter({ publicKey: keyPair().publicKey })
  const backing = new Uint8Array([9, 9, 0xff, 0x00, 0x7f, 9])
  const payload = backing.subarray(2, 5)
  t.same(JSON.parse(adapter.media('s-1', payload)), { event: 'media', media: { payload: Buffer.from([0xff, 0x00, 0x7f]).toString('base64') } }, 'only the view\'s bytes, base64')
  t.same(JSON.parse(adapter.mark('s-1', 'turn-1')), { event: 'mark', mark: { name: 'turn-1' } })
  t.same(JSON.parse(adapter.clear('s-1')), { event: 'clear' })
})
