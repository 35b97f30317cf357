import { createServer } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { serializeError } from '../../lib/logger.js'
import { callSignal, classifyProviderError } from '../../lib/pipeline/provider-call.js'
import { DeepgramSTT } from '../../lib/providers/deepgram/index.js'
import { OpenAILLM } from '../../lib/providers/openai/index.js'
import llmrtc from '../../plugins/llmrtc/index.js'
import { connect } from '../helpers/ws-client.js'

/** A loopback port nothing listens on: connecting to it is refused. */
async function refusedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return port
}

t.test('a refused connection is logged with each cause stated once, through the real SDKs', async t => {
  const port = await refusedPort()
  const turn = new AbortController()
  const llm = new OpenAILLM({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 })
  const llmError = await llm.complete({ messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e)
  const classified = classifyProviderError('llm', llm.name, llmError, callSignal(turn.signal, 5000), turn.signal, 5000)
  t.equal(classified?.message, 'LLM provider "openai-llm" failed: Connection error.', 'the client\'s message names the first cause')
  t.match(serializeError(classified as Error), {
    type: 'FastifyError',
    code: 'LLMRTC_ERR_LLM',
    message: `LLM provider "openai-llm" failed: Connection error.: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`,
    stack: /caused by: Error: Connection error\.[^]*caused by: TypeError: fetch failed[^]*caused by: Error: connect ECONNREFUSED/
  })

  // The Deepgram SDK wraps undici's "fetch failed" in an error with the same message: said once.
  const stt = new DeepgramSTT({ apiKey: 'dg-test', baseUrl: `http://127.0.0.1:${port}`, maxRetries: 0 })
  const sttError = await stt.transcribe(encodeWav(new Int16Array(1600), 16_000)).catch((e: unknown) => e)
  t.equal(serializeError(sttError as Error).message,
    `Speech-to-text provider "deepgram" failed: connection failed (ECONNREFUSED): fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`)
})

t.test('in a host app with its own logger, a failed turn\'s log line states each cause once', async t => {
  const port = await refusedPort()
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(llmrtc, { webrtc: false, env: false, openai: { apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 } })
  await app.ready()
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encodeWav(new Int16Array(16 * 600).fill(1000), 16_000).toString('base64') })
  t.match(await client.next('error'), { code: 'STT_ERROR', message: 'Speech-to-text provider "openai-stt" failed: Connection error.' })
  client.ws.terminate()
  const failed = lines.map(line => JSON.parse(line) as { msg: string, err?: { message: string } }).find(line => line.msg === 'turn failed')
  t.equal(failed?.err?.message, `Speech-to-text provider "openai-stt" failed: Connection error.: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`)
})
