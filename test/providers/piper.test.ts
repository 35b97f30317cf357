import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { decodeWav } from '../../lib/audio/wav.js'
import { PiperTTS, splitSentences, type PiperTTSOptions } from '../../lib/providers/piper/index.js'
import { startPiperMock, type PiperMock, type PiperMockOptions } from '../mocks/piper-mock.js'
import { ttsConformance } from '../helpers/provider-conformance.js'

async function setup (t: Test, mockOptions: PiperMockOptions = {}, options: Partial<PiperTTSOptions> = {}): Promise<{ mock: PiperMock, tts: PiperTTS }> {
  const mock = await startPiperMock(mockOptions)
  t.teardown(mock.close)
  const tts = new PiperTTS({ url: mock.url, retryBaseDelayMs: 1, ...options })
  return { mock, tts }
}

async function pcmOf (stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const parts: Buffer[] = []
  for await (const part of stream) parts.push(part)
  return parts
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  return port
}

t.test('PiperTTS passes the TTS conformance suite against the mock', async t => {
  const { tts } = await setup(t)
  await ttsConformance(t, tts)
})

t.test('speakStream asks for one sentence at a time with Piper\'s JSON body, and yields PCM at the WAV\'s rate', async t => {
  const { mock, tts } = await setup(t, {}, { voice: 'en_US-lessac-medium', speaker: 'p1', lengthScale: 1.2, noiseScale: 0.5, noiseWScale: 0.7 })
  const parts = await pcmOf(tts.speakStream('Hello there. How are you?'))
  t.same(mock.requests.map(r => [r.method, r.path, r.contentType]), [['POST', '/', 'application/json'], ['POST', '/', 'application/json']])
  t.same(mock.requests[0]?.body, { text: 'Hello there.', voice: 'en_US-lessac-medium', speaker: 'p1', length_scale: 1.2, noise_scale: 0.5, noise_w_scale: 0.7 })
  t.same(mock.requests[1]?.body.text, 'How are you?')
  const bytes = parts.reduce((sum, p) => sum + p.length, 0)
  t.equal(bytes, 2 * Math.round(22050 * ('Hello there.'.length + 'How are you?'.length) * 20 / 1000), 'every sample of both WAVs, without their headers')
  t.ok(parts.every(p => p.length <= 2 * 2205), 'in chunks of at most 100 ms')
  t.equal(tts.pcmSampleRate, 22050)
})

t.test('a WAV at another rate or in stereo is converted to mono at pcmSampleRate', async t => {
  const { tts } = await setup(t, { sampleRateHz: 16000, channels: 2 })
  const pcm = Buffer.concat(await pcmOf(tts.speakStream('Hello.')))
  t.equal(pcm.length / 2, Math.round(16000 * 6 * 20 / 1000 * 22050 / 16000), 'the duration is kept at 22050 Hz')
  const wav = await tts.speak('Hello.')
  t.equal(wav.format, 'wav')
  t.equal(wav.sampleRate, 16000, 'speak() gives the server\'s WAV as-is, naming its rate')
  t.equal(decodeWav(wav.audio).channels, 2)
})

t.test('speak() with format pcm decodes the WAV to pcmSampleRate', async t => {
  const { tts } = await setup(t)
  const result = await tts.speak('Hi.', { format: 'pcm' })
  t.same({ format: result.format, sampleRate: result.sampleRate, bytes: result.audio.length }, { format: 'pcm', sampleRate: 22050, bytes: 2 * Math.round(22050 * 3 * 20 / 1000) })
})

t.test('a later piper1-gpl (GET / is a web page): a 405 at / switches to /synthesize, once', async t => {
  const { mock, tts } = await setup(t, { api: 'piper1-synthesize' })
  await tts.speak('One.')
  await tts.speak('Two.')
  t.same(mock.requests.map(r => [r.path, r.status]), [['/', 405], ['/synthesize', 200], ['/synthesize', 200]])
})

t.test('the rhasspy/piper server gets the text itself as the body', async t => {
  const { mock, tts } = await setup(t, { api: 'rhasspy' }, { api: 'rhasspy', voice: 'ignored-by-this-server' })
  const result = await tts.speak('Hello there.')
  t.equal(decodeWav(result.audio).samples.length, Math.round(22050 * 12 * 20 / 1000))
  t.same(mock.requests.map(r => [r.path, r.contentType, r.body]), [['/', 'text/plain; charset=utf-8', { text: 'Hello there.' }]])
})

t.test('a 500 is retried, then succeeds; past the retries it fails with TTS_ERROR naming HTTP 500', async t => {
  const { mock, tts } = await setup(t, {}, { maxRetries: 1 })
  mock.fail({ kind: 'status', status: 500 })
  const ok = await tts.speak('Hello.')
  t.ok(ok.audio.length > 44)
  t.same(mock.requests.map(r => r.status), [500, 200])
  mock.fail({ kind: 'status', status: 503 }, 2)
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS', statusCode: 502, message: 'Text-to-speech provider "piper" failed: HTTP 503' })
  t.same(mock.requests.map(r => r.status), [500, 200, 503, 503])
})

t.test('a 400 is not retried', async t => {
  const { mock, tts } = await setup(t)
  mock.fail({ kind: 'status', status: 400 })
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS', message: /HTTP 400/ })
  t.equal(mock.requests.length, 1)
})

t.test('connection refused fails with TTS_ERROR naming ECONNREFUSED, after the retries', async t => {
  const tts = new PiperTTS({ url: `http://127.0.0.1:${await closedPort()}`, maxRetries: 1, retryBaseDelayMs: 1 })
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS', message: /connection failed \(ECONNREFUSED\)/ })
  await t.rejects(pcmOf(tts.speakStream('Hello.')), { code: 'LLMRTC_ERR_TTS' })
})

t.test('an answer that is not a WAV, or a WAV cut short, fails with TTS_ERROR', async t => {
  const { mock, tts } = await setup(t, {}, { maxRetries: 0 })
  mock.fail({ kind: 'not-wav' })
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS', message: /expected a WAV answer/ })
  mock.fail({ kind: 'drop' })
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS' })
})

t.test('a server that never answers fails with TTS_TIMEOUT', async t => {
  const { mock, tts } = await setup(t, {}, { requestTimeoutMs: 100 })
  mock.fail({ kind: 'hang' })
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS_TIMEOUT', message: /"piper" did not answer within 100 ms/ })
  t.equal(await mock.requests[0]?.finished, 'aborted', 'the request was abandoned')
})

t.test('an abort during a request ends speakStream quietly, and the server sees the request go away', async t => {
  const { mock, tts } = await setup(t)
  mock.fail({ kind: 'hang' })
  const controller = new AbortController()
  const parts = pcmOf(tts.speakStream('Hello there.', { signal: controller.signal }))
  while (mock.requests.length < 1) await sleep(5)
  controller.abort()
  t.same(await parts, [])
  t.equal(await mock.requests[0]?.finished, 'aborted')
  mock.fail({ kind: 'hang' })
  const again = new AbortController()
  const reason = new Error('barge-in')
  const pending = tts.speak('Hello.', { signal: again.signal })
  while (mock.requests.length < 2) await sleep(5)
  again.abort(reason)
  await t.rejects(pending, reason)
})

t.test('an abort between sentences stops before the next sentence plays', async t => {
  const { tts } = await setup(t)
  const controller = new AbortController()
  const parts: Buffer[] = []
  for await (const part of tts.speakStream('One. Two. Three.', { signal: controller.signal })) {
    parts.push(part)
    controller.abort()
  }
  t.equal(parts.length, 1)
})

t.test('splitSentences cuts after sentence punctuation and keeps it', async t => {
  t.same(splitSentences('Hello there. How are you? Fine!  "Yes." Done'), ['Hello there.', 'How are you?', 'Fine!', '"Yes."', 'Done'])
  t.same(splitSentences('version 1.5 is out'), ['version 1.5 is out'])
  t.same(splitSentences('   '), [])
})

t.test('options: a missing url names PIPER_URL; a bad option is refused', async t => {
  t.throws(() => new PiperTTS({ url: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /PIPER_URL/ })
  t.throws(() => new PiperTTS({ url: 'localhost:5000' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /piper\.url/ })
  t.throws(() => new PiperTTS({ url: 'http://x', lengthScale: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /piper\.lengthScale/ })
  t.throws(() => new PiperTTS({ url: 'http://x', api: 'other' as 'piper1' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /piper\.api/ })
})
