import t from 'tap'
import { resolveOptions } from '../../../lib/config/options.js'
import { iceServersFor } from '../../../lib/transport/ice-servers.js'
import { createTurnCredentials } from '../../../lib/transport/turn-credentials.js'

// Expected credentials computed independently: printf '%s' "$username" | openssl dgst -sha1 -hmac "$secret" -binary | base64
t.test('TURN credentials follow the coturn REST scheme: expiry:user and base64 HMAC-SHA1', async t => {
  t.same(createTurnCredentials({ secret: 'north', urls: ['turn:turn.example.com:3478'], ttlSeconds: 3600 }, 'alice', 1_700_000_000_000), {
    urls: 'turn:turn.example.com:3478',
    username: '1700003600:alice',
    credential: 'wjwSXO2ch1B6VaLTLMy2Avn5O9o='
  })
  t.same(createTurnCredentials({ secret: 's3cr3t', urls: ['turn:a:3478', 'turns:a:5349'], ttlSeconds: 86_400 }, 'user', 999), {
    urls: ['turn:a:3478', 'turns:a:5349'],
    username: '86400:user',
    credential: 'gb6I+a6ygKex+NTDliBFJmJFKwI='
  }, 'expiry rounds the current time down to whole seconds')
})

t.test('ice servers are the static list until a TURN secret is set, then gain fresh credentials per call', async t => {
  const stun = { urls: 'stun:stun.example.com' }
  t.same(iceServersFor({ iceServers: [stun], turnSecret: undefined, turnUrls: [], turnTtlSeconds: 60 }, 'c1', 0), [stun])
  const settings = { iceServers: [stun], turnSecret: 'north', turnUrls: ['turn:t:3478'], turnTtlSeconds: 3600 }
  const first = iceServersFor(settings, 'c1', 1_700_000_000_000)
  const later = iceServersFor(settings, 'c2', 1_700_000_060_000)
  t.same(first[0], stun)
  t.equal(first[1]?.username, '1700003600:c1')
  t.equal(later[1]?.username, '1700003660:c2')
  t.not(first[1]?.credential, later[1]?.credential)
  t.equal(settings.iceServers.length, 1, 'the configured list is not modified')
})

t.test('TURN options come from options or the environment and are validated at startup', async t => {
  const fromEnv = resolveOptions({}, { TURN_SECRET: 'north', TURN_URLS: 'turn:a:3478, turns:a:5349', TURN_TTL_SECONDS: 600 })
  t.same([fromEnv.turnSecret, fromEnv.turnUrls, fromEnv.turnTtlSeconds], ['north', ['turn:a:3478', 'turns:a:5349'], 600])
  const defaults = resolveOptions({}, {})
  t.same([defaults.turnSecret, defaults.turnUrls, defaults.turnTtlSeconds], [undefined, [], 86_400])
  t.equal(resolveOptions({ turnSecret: 'x', turnUrls: ['turn:b'] }, { TURN_SECRET: 'north', TURN_URLS: 'turn:a' }).turnUrls[0], 'turn:b', 'options win over the environment')

  t.throws(() => resolveOptions({ turnSecret: 'north' }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /turnUrls/ })
  t.throws(() => resolveOptions({ turnUrls: ['turn:a'] }, {}), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /TURN_SECRET/ })
  t.throws(() => resolveOptions({ turnSecret: 'north', turnUrls: ['stun:a'] }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /turn: or turns:/ })
  t.throws(() => resolveOptions({ turnSecret: 'north', turnUrls: ['turn:a'], turnTtlSeconds: 5 }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /turnTtlSeconds/ })
  t.throws(() => resolveOptions({ turnSecret: '' }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /turnSecret/ })
  const err = t.throws(() => resolveOptions({ turnSecret: 'hunter2', turnUrls: 'turn:a' as unknown as string[] }, {})) as Error
  t.notMatch(err.message, /hunter2/, 'the secret never appears in an error')
})
