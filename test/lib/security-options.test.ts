import t from 'tap'
import { resolveOptions } from '../../lib/config/options.js'

t.test('security defaults: no authentication, any origin, limits on', async t => {
  const o = resolveOptions({}, {})
  t.match(o, { authenticate: undefined, jwt: undefined, allowedOrigins: '*', cors: false, maxMessagesPerSecond: 50, messageBurst: 100, maxSessionsPerClient: 10, maxAudioBytes: 3145728, maxAudioMs: 60000, rateLimit: { max: 100, timeWindow: 60000 } })
})

t.test('the environment supplies JWT, origins and limits', async t => {
  const o = resolveOptions({}, { JWT_SECRET: 's3cret', JWT_ISSUER: 'a, b', JWT_AUDIENCE: 'voice', ALLOWED_ORIGINS: 'https://App.example.com,https://b.example.com:8443', MAX_SESSIONS_PER_CLIENT: 0, MAX_MESSAGES_PER_SECOND: 0, MESSAGE_BURST: 5, MAX_AUDIO_BYTES: 2048, MAX_AUDIO_MS: 5000, RATE_LIMIT_MAX: 7 })
  t.same(o.jwt, { secret: 's3cret', issuer: ['a', 'b'], audience: ['voice'], algorithms: undefined, principalClaim: 'sub' })
  t.same(o.allowedOrigins, ['https://app.example.com', 'https://b.example.com:8443'])
  t.equal(o.cors, true, 'listed origins turn CORS on')
  t.match(o, { maxSessionsPerClient: 0, maxMessagesPerSecond: 0, messageBurst: 5, maxAudioBytes: 2048, maxAudioMs: 5000, rateLimit: { max: 7, timeWindow: 60000 } })
})

t.test('a jwt option takes its missing secret from JWT_SECRET; jwt: false and authenticate turn it off', async t => {
  t.equal(resolveOptions({ jwt: { audience: 'voice' } }, { JWT_SECRET: 'env-secret' }).jwt?.secret, 'env-secret')
  t.equal(resolveOptions({ jwt: false }, { JWT_SECRET: 'env-secret' }).jwt, undefined)
  const authenticate = (): string => 'p'
  const o = resolveOptions({ authenticate }, { JWT_SECRET: 'env-secret' })
  t.equal(o.jwt, undefined, 'authenticate wins over JWT_SECRET')
  t.equal(o.authenticate, authenticate)
})

t.test('bad security options fail at register time, never echoing a secret', async t => {
  t.throws(() => resolveOptions({ jwt: {} }, {}), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: 'Missing JWT secret: set the option "jwt.secret" or the environment variable JWT_SECRET' })
  t.throws(() => resolveOptions({ jwt: { secret: 42 as never } }, {}), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"jwt.secret": expected .*instead got a number$/ })
  t.throws(() => resolveOptions({ jwt: { secret: '' } }, {}), { message: /"jwt.secret".*instead got an empty string$/ })
  t.throws(() => resolveOptions({ jwt: { secret: 's', issuer: [] } }, {}), { message: /"jwt.issuer"/ })
  t.throws(() => resolveOptions({ authenticate: () => 'x', jwt: { secret: 's' } }, {}), { message: /"jwt": expected no jwt option when authenticate is set/ })
  t.throws(() => resolveOptions({ authenticate: 'yes' as never }, {}), { message: /"authenticate": expected a function/ })
  t.throws(() => resolveOptions({ allowedOrigins: ['https://app.example.com/'] }, {}), { message: /"allowedOrigins": expected origins such as/ })
  t.throws(() => resolveOptions({ allowedOrigins: [] }, {}), { message: /"allowedOrigins": expected "\*" or a non-empty array/ })
  t.throws(() => resolveOptions({ cors: 'on' as never }, {}), { message: /"cors": expected a boolean/ })
  t.throws(() => resolveOptions({ messageBurst: 0 }, {}), { message: /"messageBurst": expected an integer >= 1/ })
  t.throws(() => resolveOptions({ maxSessionsPerClient: -1 }, {}), { message: /"maxSessionsPerClient"/ })
  t.throws(() => resolveOptions({ maxAudioMs: 10 }, {}), { message: /"maxAudioMs": expected an integer >= 1000/ })
  t.throws(() => resolveOptions({ rateLimit: { max: 0 } }, {}), { message: /"rateLimit.max": expected an integer >= 1/ })
  t.throws(() => resolveOptions({ rateLimit: { max: 5, timeWindow: '' } }, {}), { message: /"rateLimit.timeWindow"/ })
  t.throws(() => resolveOptions({ rateLimit: true as never }, {}), { message: /"rateLimit": expected \{ max, timeWindow\? \} or false/ })
})
