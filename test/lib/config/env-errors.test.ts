import t from 'tap'
import { expectedOf, readEnvValue } from '../../../lib/config/env-errors.js'
import { parseIceServers } from '../../../lib/config/options.js'

t.test('a bad variable names itself, its value and what is expected, in the style of option errors', async t => {
  t.throws(() => readEnvValue('PORT', 'http'), { code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV', message: 'Invalid environment variable PORT: expected an integer from 0 to 65535, instead got "http"' })
  t.throws(() => readEnvValue('MAX_SESSIONS', '0'), { message: 'Invalid environment variable MAX_SESSIONS: expected an integer >= 1, instead got "0"' })
  t.throws(() => readEnvValue('STREAMING_TTS', 'yes'), { message: 'Invalid environment variable STREAMING_TTS: expected true or false, instead got "yes"' })
  t.throws(() => readEnvValue('INTERRUPTION_MODE', 'loud'), { message: 'Invalid environment variable INTERRUPTION_MODE: expected one of pause, confirm, off, instead got "loud"' })
  t.throws(() => readEnvValue('HISTORY_LIMIT', '1.5'), { message: /HISTORY_LIMIT: expected an integer >= 0, instead got "1.5"$/ })
  t.throws(() => readEnvValue('HISTORY_LIMIT', 'x'.repeat(60)), { message: /instead got a long string$/ }, 'a long value is not echoed')
})

t.test('a good variable is coerced as @fastify/env would, and an empty one is unset', async t => {
  t.equal(readEnvValue('PORT', '8080'), 8080)
  t.equal(readEnvValue('STREAMING_TTS', 'false'), false)
  t.equal(readEnvValue('LOG_LEVEL', 'warn'), 'warn')
  t.equal(readEnvValue('PORT', ''), undefined)
  t.equal(readEnvValue('PORT', undefined), undefined)
  t.equal(expectedOf('SYSTEM_PROMPT'), 'a string')
})

t.test('ICE_SERVERS=\'[bad\' puts the JSON parser\'s reason where the value belongs, without echoing the value', async t => {
  t.throws(() => parseIceServers('[bad'), {
    code: 'LLMRTC_ERR_OPTIONS_INVALID_ENV',
    message: 'Invalid environment variable ICE_SERVERS: expected a JSON array of RTCIceServer or comma-separated URLs, instead got malformed JSON (Unexpected token \'b\')'
  })
  const err = t.throws(() => parseIceServers('[{"urls":"turn:a","credential":"hunter2" "username":"u"}]')) as Error
  // Node 22 and later add "(line 1 column N)" to the parser's reason.
  t.match(err.message, /instead got malformed JSON \(Expected ',' or '}' after property value in JSON at position \d+( \(line \d+ column \d+\))?\)$/)
  t.notMatch(err.message, /hunter2/, 'a credential in the value never reaches the message')
})
