import t, { type Test } from 'tap'
import { decodeWav, isWav } from '../../lib/audio/wav.js'
import { DeepgramTTS, type DeepgramOptions } from '../../lib/providers/deepgram/index.js'
import { startDeepgramMock, type DeepgramMock, type DeepgramMockOptions } from '../mocks/deepgram-mock.js'
import { ttsConformance } from '../helpers/provider-conformance.js'

async function setup (t: Test, mockOptions: DeepgramMockOptions = {}, options: Partial<DeepgramOptions> = {}): Promise<{ mock: DeepgramMock, tts: DeepgramTTS }> {
  const mock = await startDeepgramMock(mockOptions)
  t.teardown(mock.close)
  const tts = new DeepgramTTS({ apiKey: mock.apiKey, baseUrl: mock.url, retryBaseDelayMs: 1, ...options })
  return { mock, tts }
}

async function collect (chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = []
  for await (const chunk of chunks) all.push(chunk)
  return all
}

t.test('DeepgramTTS passes the TTS conformance suite against the mock', async t => {
  const { tts } = await setup(t)
  await ttsConformance(t, tts)
})

t.test('speakStream asks Aura for raw linear16 at 24 kHz and yields whole samples as they arrive', async t => {
  const { mock, tts } = await setup(t, { ttsChunkBytes: 1201, ttsMsPerChar: 20 })
  t.equal(tts.pcmSampleRate, 24000)
  const text = 'Hello there, how are you?'
  const chunks = await collect(tts.speakStream(text))
  const request = mock.requests[0]
  t.same(Object.fromEntries(request?.query ?? []), { model: 'aura-2-thalia-en', encoding: 'linear16', container: 'none', sample_rate: '24000' })
  t.same(JSON.parse(request?.body.toString('utf8') ?? ''), { text })
  t.equal(request?.authorization, `Token ${mock.apiKey}`)
  t.ok(chunks.length > 10, 'streamed in many chunks')
  t.ok(chunks.every(c => c.length % 2 === 0), 'every chunk holds whole samples, though the mock splits them')
  const total = chunks.reduce((sum, c) => sum + c.length, 0)
  t.equal(total, Math.round(24000 * text.length * 20 / 1000) * 2, 'no byte lost or added (no WAV header)')
})

t.test('speak() returns a WAV by default and raw PCM when asked; voice and speed reach Aura', async t => {
  const { mock, tts } = await setup(t, {}, { ttsModel: 'aura-2-orion-en', ttsSampleRateHz: 16000 })
  const wav = await tts.speak('Hello.')
  t.equal(wav.format, 'wav')
  t.ok(isWav(wav.audio))
  t.equal(decodeWav(wav.audio).sampleRateHz, 16000)
  t.equal(mock.requests[0]?.query.get('container'), 'wav')
  t.equal(mock.requests[0]?.query.get('model'), 'aura-2-orion-en')
  const pcm = await tts.speak('Hello.', { format: 'pcm', voice: 'aura-2-luna-en', speed: 1.2 })
  t.same({ format: pcm.format, sampleRate: pcm.sampleRate, wav: isWav(pcm.audio) }, { format: 'pcm', sampleRate: 16000, wav: false })
  t.same(Object.fromEntries(mock.requests[1]?.query ?? []), { model: 'aura-2-luna-en', encoding: 'linear16', container: 'none', sample_rate: '16000', speed: '1.2' })
})

t.test('an aborted stream ends quietly and the request is abandoned', async t => {
  const { mock, tts } = await setup(t, { ttsChunkIntervalMs: 10 })
  const controller = new AbortController()
  const chunks: Buffer[] = []
  for await (const chunk of tts.speakStream('A long sentence that would take several seconds to speak in full.', { signal: controller.signal })) {
    chunks.push(chunk)
    controller.abort()
  }
  t.equal(chunks.length, 1)
  t.equal(await mock.requests[0]?.finished, 'aborted')
})

t.test('a consumer that stops reading abandons the request', async t => {
  const { mock, tts } = await setup(t, { ttsChunkIntervalMs: 10 })
  for await (const chunk of tts.speakStream('Another long sentence that takes a while to speak.')) {
    t.ok(chunk.length > 0)
    break
  }
  t.equal(await mock.requests[0]?.finished, 'aborted')
})

t.test('a refused key fails with TTS_ERROR naming HTTP 401, without retrying', async t => {
  const { mock } = await setup(t)
  const tts = new DeepgramTTS({ apiKey: 'wrong-key', baseUrl: mock.url, retryBaseDelayMs: 1 })
  await t.rejects(collect(tts.speakStream('Hello.')), { code: 'LLMRTC_ERR_TTS', message: 'Text-to-speech provider "deepgram" failed: HTTP 401 INVALID_AUTH: Invalid credentials.', cause: { statusCode: 401 } })
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS' })
  t.same(mock.requests.map(r => r.status), [401, 401])
})

t.test('a 429 is retried and then the audio streams', async t => {
  const { mock, tts } = await setup(t)
  mock.fail('speak', { kind: 'status', status: 429 })
  t.ok((await collect(tts.speakStream('Hello.'))).length > 0)
  t.same(mock.requests.map(r => r.status), [429, 200])
})

t.test('a 500 on every attempt fails with TTS_ERROR after the retries', async t => {
  const { mock, tts } = await setup(t, {}, { maxRetries: 1 })
  mock.fail('speak', { kind: 'status', status: 500 }, 2)
  await t.rejects(collect(tts.speakStream('Hello.')), { code: 'LLMRTC_ERR_TTS', message: /HTTP 500/ })
  t.same(mock.requests.map(r => r.status), [500, 500])
})

t.test('Aura never answering ends with TTS_TIMEOUT', async t => {
  const { mock, tts } = await setup(t, {}, { requestTimeoutMs: 100 })
  mock.fail('speak', { kind: 'hang' })
  await t.rejects(collect(tts.speakStream('Hello.')), { code: 'LLMRTC_ERR_TTS_TIMEOUT', message: 'Text-to-speech provider "deepgram" did not answer within 100 ms' })
  t.equal(await mock.requests[0]?.finished, 'aborted')
})

t.test('the timeout covers the wait for the first byte, not a long sentence\'s whole audio', async t => {
  const { tts } = await setup(t, { ttsChunkIntervalMs: 25, ttsChunkBytes: 4800 }, { requestTimeoutMs: 150 })
  const started = Date.now()
  const chunks = await collect(tts.speakStream('x'.repeat(60)))
  t.ok(Date.now() - started > 150, 'the stream outlived the request deadline')
  t.equal(chunks.reduce((sum, c) => sum + c.length, 0), 24000 * 1.2 * 2)
})
