import t from 'tap'
import { parseClientMessage } from '../../lib/protocol/parse-client-message.js'
import { isSignalingMessage } from '../../lib/protocol/server-messages.js'

function invalid (text: string): string {
  const result = parseClientMessage(text)
  if (result.kind !== 'invalid') throw new Error(`expected invalid, got ${result.kind}`)
  return result.error.message
}

t.test('every client message of protocol v1 parses', async t => {
  const valid = [
    { type: 'ping', timestamp: 1 },
    { type: 'offer', signal: { type: 'offer', sdp: 'v=0' } },
    { type: 'signal', signal: { type: 'offer', sdp: 'v=0' } },
    { type: 'reconnect', sessionId: 'abc' },
    { type: 'audio', data: 'UklGRg==' },
    { type: 'audio', data: 'UklGRg==', attachments: [{ data: 'data:image/png;base64,AA==', mimeType: 'image/png' }] },
    { type: 'attachments', attachments: [{ data: 'https://example.invalid/a.png', alt: 'a' }] },
    { type: 'ice', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
    { type: 'ice', candidate: null }
  ]
  for (const message of valid) {
    const result = parseClientMessage(JSON.stringify(message))
    t.equal(result.kind, 'message', message.type)
    if (result.kind === 'message') t.same(result.message, message)
  }
})

t.test('extra fields from newer clients are accepted', async t => {
  t.equal(parseClientMessage(JSON.stringify({ type: 'ping', timestamp: 1, rtt: 3 })).kind, 'message')
})

t.test('an unknown type is reported as unknown, not invalid', async t => {
  t.same(parseClientMessage('{"type":"future-thing","x":1}'), { kind: 'unknown', type: 'future-thing' })
})

t.test('malformed input is invalid with a clear message', async t => {
  t.equal(invalid('{not json'), 'Message is not valid JSON')
  t.equal(invalid(''), 'Message is not valid JSON')
  t.equal(invalid('[1,2]'), 'Message must be a JSON object with a string "type"')
  t.equal(invalid('null'), 'Message must be a JSON object with a string "type"')
  t.equal(invalid('"ping"'), 'Message must be a JSON object with a string "type"')
  t.equal(invalid('{"timestamp":1}'), 'Message must be a JSON object with a string "type"')
  t.equal(invalid('{"type":7}'), 'Message must be a JSON object with a string "type"')
  t.equal(invalid('{"type":"ping"}'), 'Invalid "ping" message: timestamp: Expected required property')
  t.equal(invalid('{"type":"ping","timestamp":"now"}'), 'Invalid "ping" message: timestamp: Expected number')
  t.match(invalid('{"type":"offer","signal":{"type":"answer","sdp":"x"}}'), /^Invalid "offer" message: signal\/type/)
  t.match(invalid('{"type":"offer","signal":{"type":"offer","sdp":""}}'), /^Invalid "offer" message: signal\/sdp/)
  t.match(invalid('{"type":"reconnect","sessionId":42}'), /^Invalid "reconnect" message: sessionId/)
  t.match(invalid(JSON.stringify({ type: 'reconnect', sessionId: 'x'.repeat(201) })), /^Invalid "reconnect" message: sessionId/)
  t.match(invalid('{"type":"audio","data":""}'), /^Invalid "audio" message: data/)
  t.match(invalid('{"type":"attachments","attachments":[{"mimeType":"image/png"}]}'), /^Invalid "attachments" message: attachments\/0/)
  t.match(invalid('{"type":"ice","candidate":{"sdpMLineIndex":-1}}'), /^Invalid "ice" message: candidate/)
})

t.test('invalid messages never echo the client\'s values back', async t => {
  const message = invalid(JSON.stringify({ type: 'ping', timestamp: 'secret-token-123' }))
  t.notMatch(message, /secret-token-123/)
})

t.test('signaling messages are told apart from payload events', async t => {
  t.ok(isSignalingMessage({ type: 'ready', id: 'x', protocolVersion: 1 }))
  t.ok(isSignalingMessage({ type: 'signal', signal: { type: 'answer', sdp: 'x' } }))
  t.notOk(isSignalingMessage({ type: 'speech-start' }))
  t.notOk(isSignalingMessage({ type: 'tts-paused' }), 'llmrtc\'s pause and resume travel with the payload events')
  t.notOk(isSignalingMessage({ type: 'tts-resumed' }))
  t.notOk(isSignalingMessage({ type: 'error', code: 'INVALID_MESSAGE', message: 'x' }))
})
