import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { ElevenLabsSTT, type ElevenLabsSTTOptions } from '../../lib/providers/elevenlabs/scribe-stt.js'
import type { STTResult } from '../../lib/providers/types.js'
import { startScribeMock, type ScribeMock, type ScribeMockOptions } from '../mocks/elevenlabs-scribe-mock.js'
import { sttConformance } from '../helpers/provider-conformance.js'
import { tone } from '../helpers/audio.js'

// A 16 kHz tone: the mock hears one word per 100 ms whatever the audio is.

async function * chunks (samples: Int16Array, pause?: { after: number, ms: number }): AsyncIterable<Buffer> {
  const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  for (let i = 0, n = 0; i < bytes.length; i += 640, n++) {
    yield bytes.subarray(i, i + 640)
    if (pause?.after === n) await sleep(pause.ms)
  }
}

async function setup (t: Test, mockOptions: ScribeMockOptions = {}, options: Partial<ElevenLabsSTTOptions> = {}): Promise<{ mock: ScribeMock, stt: ElevenLabsSTT }> {
  const mock = await startScribeMock(mockOptions)
  t.teardown(mock.close)
  const stt = new ElevenLabsSTT({ apiKey: mock.apiKey, baseURL: mock.url, retryBaseDelayMs: 1, ...options })
  return { mock, stt }
}

async function collect (results: AsyncIterable<STTResult>): Promise<STTResult[]> {
  const all: STTResult[] = []
  for await (const result of results) all.push(result)
  return all
}

t.test('ElevenLabsSTT passes the STT conformance suite against the mock', async t => {
  const { stt } = await setup(t)
  await sttConformance(t, stt, tone(1500), /^hello from the scribe mock$/)
})

t.test('streamed audio yields partials as interim results, then the committed transcript as the one final', async t => {
  const { mock, stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(800))))
  t.same(results.map(r => [r.text, r.isFinal]), [
    ['hello', false], ['hello from', false], ['hello from the', false], ['hello from the scribe', false], ['hello from the scribe mock', false],
    ['hello from the scribe mock', true]
  ])
  t.same(results.at(-1)?.raw, { message_type: 'committed_transcript', text: 'hello from the scribe mock' })
  const session = mock.realtime[0]
  t.equal(session?.received.filter(m => m === 'commit').length, 1, 'one commit')
  t.equal(session?.received.at(-1), 'commit', 'the commit comes after all the audio')
  t.same(await session?.closed, { by: 'client', code: 1005 }, 'the client closes the socket once the transcript is committed')
})

t.test('interimResults: false yields only the final', async t => {
  const { stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(300)), { interimResults: false }))
  t.same(results.map(r => [r.text, r.isFinal]), [['hello from the', true]])
})

t.test('the realtime socket asks for the model, pcm_16000, manual commits and the language, with the key in xi-api-key', async t => {
  const { mock, stt } = await setup(t, {}, { realtimeModel: 'scribe_v2_realtime', language: 'de' })
  await collect(stt.transcribeStream(chunks(tone(200))))
  const session = mock.realtime[0]
  t.same(Object.fromEntries(session?.query ?? []), { model_id: 'scribe_v2_realtime', commit_strategy: 'manual', audio_format: 'pcm_16000', language_code: 'de' })
  t.equal(session?.apiKeyHeader, mock.apiKey)
  const first = session?.messages[0]
  t.same(Object.keys(first ?? {}).sort(), ['audio_base_64', 'commit', 'message_type', 'sample_rate'])
  t.match(first, { message_type: 'input_audio_chunk', commit: false, sample_rate: 16000 })
  t.equal(Buffer.from(String(first?.audio_base_64), 'base64').length, 640, 'the chunk is sent as base64 PCM')
  t.equal(session?.audioBytes, 6400, 'every byte of the input arrives')
})

t.test('the server VAD never ends the turn: a long pause in the input gets no commit until the input ends', async t => {
  const { mock, stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(400), { after: 5, ms: 300 })))
  t.same(mock.realtime[0]?.received.filter(m => m === 'commit'), ['commit'])
  t.same(results.filter(r => r.isFinal).map(r => r.text), ['hello from the scribe'])
})

t.test('an input with no audio opens a session but sends no commit and ends with an empty final', async t => {
  const { mock, stt } = await setup(t)
  async function * empty (): AsyncIterable<Buffer> {}
  t.same(await collect(stt.transcribeStream(empty())), [{ text: '', isFinal: true }])
  t.same(mock.realtime[0]?.received, [])
})

t.test('an abort closes the socket at once and ends the stream quietly', async t => {
  const { mock, stt } = await setup(t)
  const controller = new AbortController()
  async function * endless (): AsyncIterable<Buffer> {
    yield * chunks(tone(200))
    await sleep(60_000, undefined, { signal: controller.signal }).catch(() => {})
  }
  const results: STTResult[] = []
  for await (const result of stt.transcribeStream(endless(), { signal: controller.signal })) {
    results.push(result)
    if (result.text === 'hello from') controller.abort()
  }
  t.same(results.map(r => r.text), ['hello', 'hello from'])
  t.equal((await mock.realtime[0]?.closed)?.by, 'client', 'the mock saw the client close')
  t.notOk(mock.realtime[0]?.received.includes('commit'), 'an abort does not commit')
})

t.test('an abort while the connection is still opening ends quietly and drops the connection', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('realtime', { kind: 'hang' })
  const controller = new AbortController()
  setTimeout(() => { controller.abort() }, 50)
  t.same(await collect(stt.transcribeStream(chunks(tone(100)), { signal: controller.signal })), [])
  t.same(mock.handshakes, [0])
})

t.test('a refused key fails with STT_ERROR naming HTTP 401, without retrying', async t => {
  const { mock } = await setup(t)
  const stt = new ElevenLabsSTT({ apiKey: 'wrong-key', baseURL: mock.url, retryBaseDelayMs: 1 })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(100)))), { code: 'LLMRTC_ERR_STT', statusCode: 502, message: /HTTP 401/, cause: { statusCode: 401 } })
  t.same(mock.handshakes, [401])
  await t.rejects(stt.transcribe(encodeWav(tone(100), 16000)), { code: 'LLMRTC_ERR_STT', message: /HTTP 401 invalid_api_key: Invalid API key/ })
  t.equal(mock.batch.length, 1)
  t.notMatch(JSON.stringify((await t.rejects(stt.transcribe(encodeWav(tone(100), 16000)))) ?? ''), /wrong-key/)
})

t.test('429 then success: the connection and the batch request are retried', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('realtime', { kind: 'status', status: 429 })
  const results = await collect(stt.transcribeStream(chunks(tone(300))))
  t.same(mock.handshakes, [429, 101])
  t.equal(results.at(-1)?.text, 'hello from the')
  mock.fail('batch', { kind: 'status', status: 429 })
  const batch = await stt.transcribe(encodeWav(tone(300), 16000))
  t.equal(batch.text, 'hello from the')
  t.same(mock.batch.map(r => r.status), [429, 200])
})

t.test('5xx past the retries fails with STT_ERROR naming the status', async t => {
  const { mock, stt } = await setup(t, {}, { maxRetries: 1 })
  mock.fail('realtime', { kind: 'status', status: 503 }, 2)
  await t.rejects(collect(stt.transcribeStream(chunks(tone(100)))), { code: 'LLMRTC_ERR_STT', message: /HTTP 503/ })
  t.same(mock.handshakes, [503, 503])
  mock.fail('batch', { kind: 'status', status: 500 }, 2)
  await t.rejects(stt.transcribe(encodeWav(tone(100), 16000)), { code: 'LLMRTC_ERR_STT', message: /HTTP 500 internal_error/ })
  t.same(mock.batch.map(r => r.status), [500, 500])
})

t.test('a Scribe error message mid-stream fails with STT_ERROR naming its type', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('realtime', { kind: 'error-message', messageType: 'quota_exceeded', error: 'Quota exceeded' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(300)))), { code: 'LLMRTC_ERR_STT', message: /HTTP 429 quota_exceeded: Quota exceeded/ })
  t.equal((await mock.realtime[0]?.closed)?.by, 'client', 'the socket is closed after the failure')
})

t.test('a connection cut mid-stream fails with STT_ERROR, after the interims already heard', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('realtime', { kind: 'drop', afterBytes: 6400 })
  const results: STTResult[] = []
  await t.rejects((async () => { for await (const r of stt.transcribeStream(chunks(tone(800)))) results.push(r) })(), { code: 'LLMRTC_ERR_STT', message: /closed before the transcript was committed|WebSocket/ })
  t.same(results.map(r => r.text), ['hello'])
  t.equal(mock.handshakes.length, 1, 'not retried once audio was sent')
})

t.test('an unanswered commit fails with STT_TIMEOUT', async t => {
  const { mock, stt } = await setup(t, {}, { commitTimeoutMs: 100 })
  mock.fail('realtime', { kind: 'mute-commit' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(200)))), { code: 'LLMRTC_ERR_STT_TIMEOUT', message: /within 100 ms/ })
  t.equal((await mock.realtime[0]?.closed)?.by, 'client')
})

t.test('a handshake that never answers fails with STT_TIMEOUT, not retried', async t => {
  const { mock, stt } = await setup(t, {}, { connectTimeoutMs: 100 })
  mock.fail('realtime', { kind: 'hang' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(100)))), { code: 'LLMRTC_ERR_STT_TIMEOUT', message: /within 100 ms/ })
  t.same(mock.handshakes, [0])
})

t.test('batch: multipart model_id, file and language_code; the text and language probability come back', async t => {
  const { mock, stt } = await setup(t, {}, { model: 'scribe_v1', language: 'en' })
  const wav = encodeWav(tone(500), 16000)
  const result = await stt.transcribe(wav)
  t.match(result, { text: 'hello from the scribe mock', isFinal: true, confidence: 0.98 })
  const request = mock.batch[0]
  t.same(request?.fields, { model_id: 'scribe_v1', language_code: 'en' })
  t.equal(request?.file?.type, 'audio/wav')
  t.ok(request?.file?.bytes.equals(wav), 'the WAV is uploaded as-is')
  t.equal(request?.apiKeyHeader, mock.apiKey)
})

t.test('batch: a request that never answers fails with STT_TIMEOUT; an abort rejects with the abort reason and the mock sees the close', async t => {
  const { mock, stt } = await setup(t, {}, { requestTimeoutMs: 150 })
  mock.fail('batch', { kind: 'hang' })
  await t.rejects(stt.transcribe(encodeWav(tone(100), 16000)), { code: 'LLMRTC_ERR_STT_TIMEOUT', message: /within 150 ms/ })
  mock.fail('batch', { kind: 'hang' })
  const controller = new AbortController()
  const pending = stt.transcribe(encodeWav(tone(100), 16000), { signal: controller.signal })
  while (mock.batch.length < 2) await sleep(5)
  const reason = new Error('barge-in')
  controller.abort(reason)
  await t.rejects(pending, reason)
  t.equal(await mock.batch[1]?.finished, 'aborted')
})

t.test('options: a missing key names ELEVENLABS_API_KEY; a bad option is refused', async t => {
  t.throws(() => new ElevenLabsSTT({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /ELEVENLABS_API_KEY/ })
  t.throws(() => new ElevenLabsSTT({ apiKey: 'k', baseURL: 'ftp://x' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /elevenlabs\.stt\.baseURL/ })
  t.throws(() => new ElevenLabsSTT({ apiKey: 'k', commitTimeoutMs: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
})
