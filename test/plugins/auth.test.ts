import { createHmac } from 'node:crypto'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import t from 'tap'
import { loggerOptions } from '../../lib/logger.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { LLMRTCServer } from '../../server/llmrtc-server.js'
import { buildApp } from '../helpers/app.js'
import { refusedUpgrade } from '../helpers/upgrade.js'
import { connect, connectOverNetwork } from '../helpers/ws-client.js'

const SECRET = 'test-secret-that-is-long-enough-0123456789'

/** An HS256 JWT, signed by hand so that the test does not share code with the server. */
function sign (payload: Record<string, unknown>, secret = SECRET): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const data = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`
}

const now = (): number => Math.floor(Date.now() / 1000)
const valid = (sub = 'alice', extra: Record<string, unknown> = {}): string => sign({ sub, iat: now(), exp: now() + 600, ...extra })

t.test('with jwt on, an upgrade without a token gets 401 UNAUTHORIZED and no session', async t => {
  const app = await buildApp(t, { jwt: { secret: SECRET } })
  const refused = await refusedUpgrade(app)
  t.equal(refused.status, 401)
  t.same(refused.body, { code: 'UNAUTHORIZED', message: 'Unauthorized: a token is required: an "Authorization: Bearer <token>" header or a "token" query parameter' })
  t.match(refused.headers['content-type'], /^application\/json/)
  t.equal(refused.headers['www-authenticate'], 'Bearer')
  t.equal(app.llmrtcSessions.size, 0)
})

t.test('a valid token in the Authorization header opens a session owned by its subject', async t => {
  const seen: Array<string | null> = []
  const app = await buildApp(t, { jwt: { secret: SECRET } }, (app) => {
    app.addHook('preHandler', async (request) => { seen.push(request.llmrtcPrincipal) })
  })
  const client = await connect(app, '/', { authorization: `Bearer ${valid('alice')}` })
  const { id } = await client.next('ready')
  t.equal(app.llmrtcSessions.get(id as string)?.principal, 'alice')
  t.same(seen, ['alice'], 'the request is decorated with the principal')
  client.ws.terminate()
})

t.test('a valid token in the token query parameter works too, as browsers send it', async t => {
  const app = await buildApp(t, { jwt: { secret: SECRET } })
  const client = await connectOverNetwork(app, `/?token=${valid('bob')}`)
  const { id } = await client.next('ready')
  t.equal(app.llmrtcSessions.get(id as string)?.principal, 'bob')
  client.ws.terminate()
})

t.test('invalid, malformed and expired tokens get 401 with the reason, in the header and in the query', async t => {
  const app = await buildApp(t, { jwt: { secret: SECRET } })
  const expired = sign({ sub: 'alice', iat: now() - 600, exp: now() - 60 })
  const cases: Array<[string, string, RegExp]> = [
    ['another secret', sign({ sub: 'alice', exp: now() + 600 }, 'another-secret-0123456789-0123456789'), /signature is invalid/],
    ['malformed', 'not-a-jwt', /malformed/],
    ['expired', expired, /^Unauthorized: the token has expired$/],
    ['no subject', sign({ name: 'alice', exp: now() + 600 }), /the token has no "sub" claim/]
  ]
  for (const [what, token, message] of cases) {
    const byHeader = await refusedUpgrade(app, '/', { authorization: `Bearer ${token}` })
    t.match(byHeader, { status: 401, body: { code: 'UNAUTHORIZED', message } }, `${what} (header)`)
    const byQuery = await refusedUpgrade(app, `/?token=${encodeURIComponent(token)}`)
    t.match(byQuery, { status: 401, body: { code: 'UNAUTHORIZED', message } }, `${what} (query)`)
  }
  t.match(await refusedUpgrade(app, '/', { authorization: 'Basic YWxpY2U6cHc=' }), { status: 401, body: { message: /expected an "Authorization: Bearer <token>" header/ } })
  t.equal(app.llmrtcSessions.size, 0)
})

t.test('issuer, audience and the principal claim are configurable', async t => {
  const app = await buildApp(t, { jwt: { secret: SECRET, issuer: 'https://auth.example.com', audience: 'voice', principalClaim: 'uid' } })
  const wrongIssuer = valid('x', { iss: 'https://evil.example.com', aud: 'voice', uid: 'u1' })
  t.match(await refusedUpgrade(app, '/', { authorization: `Bearer ${wrongIssuer}` }), { status: 401, body: { message: /not issued for this server/ } })
  const wrongAudience = valid('x', { iss: 'https://auth.example.com', aud: 'other', uid: 'u1' })
  t.match(await refusedUpgrade(app, '/', { authorization: `Bearer ${wrongAudience}` }), { status: 401 })
  const right = valid('x', { iss: 'https://auth.example.com', aud: 'voice', uid: 'u1' })
  const client = await connect(app, '/', { authorization: `Bearer ${right}` })
  const { id } = await client.next('ready')
  t.equal(app.llmrtcSessions.get(id as string)?.principal, 'u1')
  client.ws.terminate()
})

t.test('JWT_SECRET in the environment turns JWT authentication on', async t => {
  const app = await buildApp(t, { env: { JWT_SECRET: SECRET, JWT_AUDIENCE: 'voice' } })
  t.equal(app.llmrtcAuth.enabled, true)
  t.match(await refusedUpgrade(app), { status: 401 })
  const client = await connect(app, '/', { authorization: `Bearer ${valid('carol', { aud: 'voice' })}` })
  await client.next('ready')
  client.ws.terminate()
})

t.test('the voice page and /health stay reachable without a token', async t => {
  const app = await buildApp(t, { jwt: { secret: SECRET } })
  const page = await app.inject({ method: 'GET', url: '/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
})

t.test('authenticate: a string or { principal } admits, null or false refuses, a throw refuses', async t => {
  const app = await buildApp(t, {
    authenticate: async (request) => {
      const user = request.headers['x-user']
      if (user === 'boom') throw new Error('database down')
      if (user === 'nobody') return null
      if (user === 'no') return false
      if (user === 'object') return { principal: 'tenant-7' }
      return typeof user === 'string' ? user : null
    }
  })
  const alice = await connect(app, '/', { 'x-user': 'alice' })
  t.equal(app.llmrtcSessions.get((await alice.next('ready')).id as string)?.principal, 'alice')
  const tenant = await connect(app, '/', { 'x-user': 'object' })
  t.equal(app.llmrtcSessions.get((await tenant.next('ready')).id as string)?.principal, 'tenant-7')
  t.match(await refusedUpgrade(app, '/', { 'x-user': 'nobody' }), { status: 401, body: { code: 'UNAUTHORIZED', message: 'Unauthorized: the credentials were refused' } })
  t.match(await refusedUpgrade(app, '/', { 'x-user': 'no' }), { status: 401 })
  const thrown = await refusedUpgrade(app, '/', { 'x-user': 'boom' })
  t.match(thrown, { status: 401, body: { code: 'UNAUTHORIZED', message: 'Unauthorized: authentication failed' } })
  t.notMatch(JSON.stringify(thrown.body), /database/, 'the thrown error stays on the server')
  t.equal(thrown.headers['www-authenticate'], undefined, 'no Bearer challenge outside JWT mode')
  t.equal(app.llmrtcSessions.size, 2)
  alice.ws.terminate()
  tenant.ws.terminate()
})

t.test('reconnect resumes only a session of the same principal', async t => {
  const app = await buildApp(t, { authenticate: (request) => request.headers['x-user'] as string | undefined })
  const first = await connect(app, '/', { 'x-user': 'alice' })
  const { id: aliceSession } = await first.next('ready')

  const mallory = await connect(app, '/', { 'x-user': 'mallory' })
  const { id: mallorySession } = await mallory.next('ready')
  mallory.send({ type: 'reconnect', sessionId: aliceSession })
  t.same(await mallory.next('reconnect-ack'), { type: 'reconnect-ack', success: false, sessionId: mallorySession, historyRecovered: false })
  t.match(await mallory.next('error'), { code: 'SESSION_NOT_FOUND' }, 'another principal\'s session is reported as not found')
  t.equal(app.llmrtcSessions.get(aliceSession as string)?.connection !== undefined, true, 'alice keeps her session')

  const again = await connect(app, '/', { 'x-user': 'alice' })
  await again.next('ready')
  again.send({ type: 'reconnect', sessionId: aliceSession })
  t.match(await again.next('reconnect-ack'), { success: true, sessionId: aliceSession, historyRecovered: true })
  t.same(await first.closed, { code: 4001, reason: 'session resumed elsewhere' })
  mallory.ws.terminate()
  again.ws.terminate()
})

t.test('an upgrade from an origin outside allowedOrigins gets 403; allowed and absent origins pass', async t => {
  const app = await buildApp(t, { allowedOrigins: ['https://app.example.com'] })
  const refused = await refusedUpgrade(app, '/', { origin: 'https://evil.example.com' })
  t.same(refused, { status: 403, headers: refused.headers, body: { code: 'UNAUTHORIZED', message: 'Origin https://evil.example.com is not allowed' } })
  const allowed = await connectOverNetwork(app, '/', { origin: 'https://APP.example.com' })
  await allowed.next('ready')
  const noOrigin = await connectOverNetwork(app)
  await noOrigin.next('ready')
  t.equal(app.llmrtcSessions.size, 2)
  allowed.ws.terminate()
  noOrigin.ws.terminate()
})

t.test('ALLOWED_ORIGINS is read from the environment; the origin is checked before the token', async t => {
  const app = await buildApp(t, { env: { ALLOWED_ORIGINS: 'https://a.example.com, https://b.example.com', JWT_SECRET: SECRET } })
  t.same(app.llmrtcConfig.allowedOrigins, ['https://a.example.com', 'https://b.example.com'])
  t.match(await refusedUpgrade(app, '/', { origin: 'https://c.example.com' }), { status: 403 })
  t.match(await refusedUpgrade(app, '/', { origin: 'https://b.example.com' }), { status: 401 })
})

t.test('CORS headers on /health follow allowedOrigins; cors: false leaves CORS to the app', async t => {
  const app = await buildApp(t, { allowedOrigins: ['https://app.example.com'] })
  const allowed = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://app.example.com' } })
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com')
  const other = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example.com' } })
  t.equal(other.headers['access-control-allow-origin'], undefined)
  const preflight = await app.inject({ method: 'OPTIONS', url: '/health', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } })
  t.equal(preflight.statusCode, 204)

  const off = await buildApp(t, { allowedOrigins: ['https://app.example.com'], cors: false })
  t.equal((await off.inject({ method: 'GET', url: '/health', headers: { origin: 'https://app.example.com' } })).headers['access-control-allow-origin'], undefined)
  const byDefault = await buildApp(t)
  t.equal((await byDefault.inject({ method: 'GET', url: '/health', headers: { origin: 'https://app.example.com' } })).headers['access-control-allow-origin'], undefined, 'no CORS unless origins are listed')
})

t.test('an app that registered @fastify/cors itself keeps it', async t => {
  const { default: cors } = await import('@fastify/cors')
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(cors, { origin: 'https://mine.example.com' })
  await app.register(llmrtc, { env: false, allowedOrigins: ['https://app.example.com'] })
  const response = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://mine.example.com' } })
  t.equal(response.headers['access-control-allow-origin'], 'https://mine.example.com')
})

t.test('logs carry no token, key or secret: not in URLs, headers or objects', async t => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  const token = valid('alice')
  const server = new LLMRTCServer({ env: false, port: 0, host: '127.0.0.1', webrtc: false, logger: { level: 'trace', stream }, jwt: { secret: SECRET } })
  t.teardown(() => server.stop())
  const app = server.getApp()
  await server.start()
  const client = await connectOverNetwork(app, `/?token=${token}&lang=en`)
  await client.next('ready')
  const refused = await refusedUpgrade(app, '/?token=forged.token.value')
  t.equal(refused.status, 401)
  await app.inject({ method: 'GET', url: '/health', headers: { authorization: `Bearer ${token}` } })
  app.log.info({ provider: { name: 'openai', apiKey: 'sk-live-123456' }, authorization: `Bearer ${token}`, req: { headers: { authorization: `Bearer ${token}` } } }, 'an app logging carelessly')
  app.log.info({ env: { OPENAI_API_KEY: 'sk-env-123456', JWT_SECRET: SECRET } }, 'the environment')
  client.ws.terminate()
  await server.stop()
  const text = lines.join('')
  t.match(text, /"url":"\/\?token=\[Redacted\]&lang=en"/, 'the URL is logged without its token')
  for (const secret of [token, 'forged.token.value', 'sk-live-123456', 'sk-env-123456', SECRET]) {
    t.notOk(text.includes(secret), `${secret.slice(0, 12)}... is not in the logs`)
  }
  t.match(text, /"apiKey":"\[Redacted\]"/)
})

t.test('loggerOptions redact a Fastify app of your own too', async t => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  const app = Fastify({ logger: { ...loggerOptions, level: 'info', stream } })
  t.teardown(() => app.close())
  app.get('/x', async () => ({ ok: true }))
  await app.inject({ method: 'GET', url: '/x?access_token=abc123secret' })
  t.notOk(lines.join('').includes('abc123secret'))
})
