import Fastify from 'fastify'
import t from 'tap'
import llmrtc from '../../plugins/llmrtc/index.js'
import llmrtcProviderBedrock from '../../plugins/providers/bedrock/index.js'
import { providerPluginAlone } from '../helpers/app.js'
import { connect } from '../helpers/ws-client.js'
import { BEDROCK_MOCK_REPLY, startBedrockMock } from '../mocks/bedrock-mock.js'

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYPLUGINSECRET'
const TOKEN = 'FwoGZXIvYXdzPLUGINSESSIONTOKEN'
const MODEL = 'us.anthropic.claude-3-5-haiku-20241022-v1:0'

t.test('with BEDROCK_MODEL a text turn is answered by Bedrock, signed with the AWS_* credentials in BEDROCK_REGION, never logging a secret', async t => {
  const mock = await startBedrockMock()
  t.teardown(() => mock.close())
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    demoPage: false,
    env: { BEDROCK_MODEL: MODEL, BEDROCK_REGION: 'eu-central-1', AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'AKIDPLUGIN', AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN },
    bedrock: { endpoint: mock.endpoint }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.llm.name, 'bedrock')
  t.equal(app.llmrtcProviders.reasons.llm, 'BEDROCK_MODEL is set')

  const client = await connect(app)
  t.teardown(() => { client.ws.terminate() })
  await client.next('ready')
  client.send({ type: 'text', text: 'Hello there' })
  t.same(await client.next('llm'), { type: 'llm', text: BEDROCK_MOCK_REPLY })
  const request = mock.requests[0]
  t.equal(request?.modelId, MODEL)
  t.match(request?.headers.authorization, /Credential=AKIDPLUGIN\/\d{8}\/eu-central-1\/bedrock\/aws4_request/, 'BEDROCK_REGION wins over AWS_REGION')
  t.equal(request?.headers['x-amz-security-token'], TOKEN)
  t.match(request?.body, { messages: [{ role: 'user', content: [{ text: 'Hello there' }] }] })
  client.ws.terminate()
  await app.close()
  t.notOk(lines.some(line => line.includes(SECRET) || line.includes(TOKEN)), 'no log line holds the secret key or the session token')
})

t.test('the umbrella\'s bedrock option gives model, region and credentials, winning over the variables', async t => {
  const mock = await startBedrockMock()
  t.teardown(() => mock.close())
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { BEDROCK_MODEL: 'from-env', AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret' },
    bedrock: { model: 'anthropic.claude-3-haiku-20240307-v1:0', region: 'ap-southeast-2', credentials: { accessKeyId: 'AKIDOPTION', secretAccessKey: SECRET }, endpoint: mock.endpoint }
  })
  await app.ready()
  const result = await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })
  t.equal(result.fullText, BEDROCK_MOCK_REPLY)
  t.equal(mock.requests[0]?.modelId, 'anthropic.claude-3-haiku-20240307-v1:0')
  t.match(mock.requests[0]?.headers.authorization, /Credential=AKIDOPTION\/\d{8}\/ap-southeast-2\/bedrock\//)
  t.notOk(mock.requests[0]?.headers['x-amz-security-token'], 'no session token')
})

t.test('a model option alone selects Bedrock; AWS_REGION is the region without BEDROCK_REGION', async t => {
  const mock = await startBedrockMock()
  t.teardown(() => mock.close())
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, {
    webrtc: false,
    env: { AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret' },
    bedrock: { model: MODEL, endpoint: mock.endpoint }
  })
  await app.ready()
  t.equal(app.llmrtcProviders.llm.name, 'bedrock')
  await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })
  t.match(mock.requests[0]?.headers.authorization, /Credential=AKIDENV\/\d{8}\/us-west-2\/bedrock\//)
})

t.test('LLM_PROVIDER=bedrock without a model fails ready() and names BEDROCK_MODEL', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { LLM_PROVIDER: 'bedrock' } })
  await t.rejects(async () => { await app.ready() }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /BEDROCK_MODEL/ })
})

t.test('without BEDROCK_MODEL or a model option Bedrock is not chosen', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: 'us-east-1' } })
  await app.ready()
  t.not(app.llmrtcProviders.llm.name, 'bedrock')
})

t.test('unknown keys of the bedrock option, and of its credentials, are refused', async t => {
  for (const [bedrock, key] of [[{ modle: MODEL }, 'bedrock.modle'], [{ model: MODEL, credentials: { accessKeyId: 'a', secretAccessKey: 'b', token: 'c' } }, 'bedrock.credentials.token']] as const) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await t.rejects(async () => {
      await app.register(llmrtc, { webrtc: false, env: {}, bedrock: bedrock as never })
      await app.ready()
    }, { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: new RegExp(key.replace(/\./g, '\\.')) })
  }
})

t.test('registered alone with only its declared dependencies, the plugin answers from its options', async t => {
  const mock = await startBedrockMock()
  t.teardown(() => mock.close())
  const app = await providerPluginAlone(t, llmrtcProviderBedrock, { model: MODEL, region: 'us-east-1', credentials: { accessKeyId: 'AKIDALONE', secretAccessKey: SECRET }, endpoint: mock.endpoint })
  t.equal(app.llmrtcProviders.llm.name, 'bedrock')
  const result = await app.llmrtcProviders.llm.complete({ messages: [{ role: 'user', content: 'Hi' }] })
  t.equal(result.fullText, BEDROCK_MOCK_REPLY)
})
