import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { AcmeError, AcmeLLM, AcmeSTT, AcmeTTS, type AcmeOptions } from '../../examples/custom-providers.js'
import { isRetryableError } from '../../lib/providers/retry.js'
import { llmConformance, sttConformance, ttsConformance } from '../../testing/provider-conformance.js'
import { tone } from '../../testing/audio.js'

/*
 * The providers of docs/custom-providers.md (examples/custom-providers.ts) against a loopback mock of their
 * imaginary service: they pass the conformance suite the page tells readers to run.
 */

async function read (request: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of request) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

async function acme (t: Test, status = 200): Promise<AcmeOptions> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const body = await read(request)
      if (request.headers.authorization !== 'Bearer test-key' || status !== 200) {
        response.writeHead(status === 200 ? 401 : status).end()
        return
      }
      if (request.url === '/transcribe') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: body.subarray(0, 4).toString() === 'RIFF' ? 'hello' : '', confidence: 0.9 }))
      } else if (request.url === '/chat') {
        response.writeHead(200, { 'content-type': 'application/x-ndjson' })
        for (const delta of ['Hello ', 'from ', 'Acme.']) response.write(JSON.stringify({ delta }) + '\n')
        response.end(JSON.stringify({ done: true }) + '\n')
      } else if (request.url === '/speak') {
        const pcm = Buffer.from(tone(300, { sampleRateHz: 24_000 }).buffer)
        response.writeHead(200, { 'content-type': 'audio/pcm' })
        // Odd-sized writes: the provider must still yield whole samples.
        for (let i = 0; i < pcm.length; i += 999) response.write(pcm.subarray(i, i + 999))
        response.end()
      } else {
        response.writeHead(404).end()
      }
    })()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'test-key' }
}

t.test('the custom LLM passes the conformance suite', async t => {
  await llmConformance(t, new AcmeLLM(await acme(t)))
})

t.test('the custom STT passes the conformance suite', async t => {
  await sttConformance(t, new AcmeSTT(await acme(t)), tone(1000), /hello/)
})

t.test('the custom TTS passes the conformance suite', async t => {
  await ttsConformance(t, new AcmeTTS(await acme(t)))
})

t.test('a failed call carries its status: 503 may be retried, 401 not', async t => {
  const down = new AcmeLLM(await acme(t, 503))
  const err = await down.complete({ messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error)
  t.ok(err instanceof AcmeError)
  t.match(err, { status: 503, message: 'Acme /chat answered 503' })
  t.equal(isRetryableError(err), true)
  const refused = new AcmeSTT({ ...(await acme(t)), apiKey: 'wrong' })
  const denied = await refused.transcribe(Buffer.from('RIFF')).catch((error: unknown) => error)
  t.match(denied, { status: 401 })
  t.equal(isRetryableError(denied), false)
  t.notMatch(String((denied as Error).message), /wrong/, 'the key stays out of the message')
})
