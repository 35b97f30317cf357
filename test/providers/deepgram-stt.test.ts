import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { DeepgramSTT, type DeepgramOptions } from '../../lib/providers/deepgram/index.js'
import type { STTResult } from '../../lib/providers/types.js'
import { startDeepgramMock, type DeepgramMock, type DeepgramMockOptions } from '../mocks/deepgram-mock.js'
import { sttConformance } from '../helpers/provider-conformance.js'
import { tone } from '../helpers/audio.js'

// A 16 kHz tone (testing kit): the mock hears one word per 100 ms whatever the audio is.

/** 20 ms chunks of s16le, as the pipeline feeds them; `pause` waits after the chunk of that index. */
async function * chunks (samples: Int16Array, pause?: { after: number, ms: number }): AsyncIterable<Buffer> {
  const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  for (let i = 0, n = 0; i < bytes.length; i += 640, n++) {
    yield bytes.subarray(i, i + 640)
    if (pause?.after === n) await sleep(pause.ms)
  }
}

async function setup (t: Test, mockOptions: DeepgramMockOptions = {}, options: Partial<DeepgramOptions> = {}): Promise<{ mock: DeepgramMock, stt: DeepgramSTT }> {
  const mock = await startDeepgramMock(mockOptions)
  t.teardown(mock.close)
  const stt = new DeepgramSTT({ apiKey: mock.apiKey, baseUrl: mock.url, retryBaseDelayMs: 1, ...options })
  return { mock, stt }
}

async function collect (results: AsyncIterable<STTResult>): Promise<STTResult[]> {
  const all: STTResult[] = []
  for await (const result of results) all.push(result)
  return all
}

t.test('DeepgramSTT passes the STT conformance suite against the mock', async t => {
  const { stt } = await setup(t)
  await sttConformance(t, stt, tone(1500), /^hello from the deepgram mock$/)
})

t.test('streamed audio yields interim results as words arrive, then finals whose join is the transcript', async t => {
  const { stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(800))))
  t.same(results.map(r => [r.text, r.isFinal]), [
    ['hello', false], ['hello from', false], ['hello from the', true],
    ['deepgram', false], ['deepgram mock', false], ['deepgram mock', true]
  ], 'interims grow word by word, a final every third word, and Finalize flushes the rest')
  t.equal(results.filter(r => r.isFinal).map(r => r.text).join(' '), 'hello from the deepgram mock')
})

t.test('the live connection asks for linear16 16 kHz mono, interim results, smart format, and endpointing off', async t => {
  const { mock, stt } = await setup(t, {}, { model: 'nova-2', language: 'de' })
  await collect(stt.transcribeStream(chunks(tone(200))))
  const session = mock.live[0]
  t.ok(session)
  t.same(Object.fromEntries(session?.query ?? []), {
    model: 'nova-2',
    language: 'de',
    encoding: 'linear16',
    sample_rate: '16000',
    channels: '1',
    interim_results: 'true',
    endpointing: 'false',
    smart_format: 'true',
    punctuate: 'true'
  })
  t.equal(session?.authorization, `Token ${mock.apiKey}`)
})

t.test('the end of input sends Finalize then CloseStream, and the stream ends when Deepgram closes', async t => {
  const { mock, stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(150))))
  const session = mock.live[0]
  t.same(session?.received.filter(m => m !== 'audio'), ['Finalize', 'CloseStream'])
  t.same(session?.received.slice(-2), ['Finalize', 'CloseStream'], 'after all the audio')
  t.same(await session?.closed, { by: 'server', code: 1000, reason: '' })
  t.same(results.at(-1), { text: 'hello', isFinal: true, confidence: 0.99, words: [{ word: 'hello', startMs: 0, endMs: 100, confidence: 0.99 }], raw: session?.sent.find(m => m.from_finalize === true) }, 'the flushed words come back final')
})

t.test('an idle input sends KeepAlive, which keeps the connection past Deepgram\'s inactivity timeout', async t => {
  const { mock, stt } = await setup(t, { inactivityTimeoutMs: 150 }, { keepAliveIntervalMs: 30 })
  const results = await collect(stt.transcribeStream(chunks(tone(200), { after: 2, ms: 400 })))
  const received = mock.live[0]?.received ?? []
  t.ok(received.filter(m => m === 'KeepAlive').length >= 3, 'KeepAlive while idle')
  t.notOk(received.slice(0, 3).includes('KeepAlive'), 'none while audio flows')
  t.notOk(received.slice(received.indexOf('CloseStream')).includes('KeepAlive'), 'none after CloseStream')
  t.equal(results.filter(r => r.isFinal).map(r => r.text).join(' '), 'hello from')
})

t.test('without KeepAlive, Deepgram closing an idle connection (1011 NET-0001) fails the stream', async t => {
  const { stt } = await setup(t, { inactivityTimeoutMs: 100 }, { keepAliveIntervalMs: 60_000 })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(100), { after: 1, ms: 300 }))), { code: 'LLMRTC_ERR_STT', message: /connection closed \(1011 NET-0001\)/ })
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
  t.same(await mock.live[0]?.closed, { by: 'client', code: 1000, reason: 'aborted' })
  t.notOk(mock.live[0]?.received.includes('CloseStream'), 'an abort does not wait for a flush')
})

t.test('an abort while the connection is still opening ends quietly', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('live', { kind: 'hang' })
  const controller = new AbortController()
  setTimeout(() => { controller.abort() }, 50)
  t.same(await collect(stt.transcribeStream(chunks(tone(100)), { signal: controller.signal })), [])
  t.same(mock.handshakes, [0])
})

t.test('an empty audio chunk is never sent: Deepgram would take it for the end of the stream', async t => {
  const { mock, stt } = await setup(t)
  async function * withEmpty (): AsyncIterable<Buffer> {
    yield Buffer.alloc(640)
    yield Buffer.alloc(0)
    yield Buffer.alloc(640)
  }
  await collect(stt.transcribeStream(withEmpty()))
  t.same(mock.live[0]?.received, ['audio', 'audio', 'Finalize', 'CloseStream'])
})

t.test('a failing audio source fails the stream with its own error and closes the socket', async t => {
  const { mock, stt } = await setup(t)
  const broken = new RangeError('microphone unplugged')
  async function * failing (): AsyncIterable<Buffer> {
    yield Buffer.alloc(640)
    throw broken
  }
  await t.rejects(collect(stt.transcribeStream(failing())), broken)
  t.same(await mock.live[0]?.closed, { by: 'client', code: 1000, reason: 'aborted' })
})

t.test('a refused key fails with STT_ERROR naming HTTP 401, without retrying', async t => {
  const { mock } = await setup(t)
  const stt = new DeepgramSTT({ apiKey: 'wrong-key', baseUrl: mock.url, retryBaseDelayMs: 1 })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(100)))), { code: 'LLMRTC_ERR_STT', message: /HTTP 401/, cause: { statusCode: 401 } })
  t.same(mock.handshakes, [401])
  await t.rejects(stt.transcribe(encodeWav(tone(100), 16000)), { code: 'LLMRTC_ERR_STT', message: /HTTP 401 INVALID_AUTH: Invalid credentials\./ })
  t.equal(mock.requests.length, 1)
  t.notMatch(JSON.stringify(mock.requests), /wrong-key.*wrong-key/, 'the key went out once, in the header')
})

t.test('a 429 on the live handshake is retried, then the utterance streams', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('live', { kind: 'status', status: 429 })
  const results = await collect(stt.transcribeStream(chunks(tone(300))))
  t.same(mock.handshakes, [429, 101])
  t.equal(results.filter(r => r.isFinal && r.text !== '').map(r => r.text).join(' '), 'hello from the')
})

t.test('prerecorded transcribe posts the WAV with model, language and smart format, and returns the transcript', async t => {
  const { mock, stt } = await setup(t)
  const result = await stt.transcribe(encodeWav(tone(300), 16000))
  t.same({ text: result.text, isFinal: result.isFinal, confidence: result.confidence }, { text: 'hello from the', isFinal: true, confidence: 0.99 })
  const request = mock.requests[0]
  t.same(Object.fromEntries(request?.query ?? []), { model: 'nova-3', language: 'en', smart_format: 'true', punctuate: 'true' })
  t.equal(request?.contentType, 'audio/wav')
  t.equal(request?.authorization, `Token ${mock.apiKey}`)
})

t.test('prerecorded: each word comes with its timing in ms from the start of the file, punctuated as the transcript', async t => {
  const { stt } = await setup(t, { transcript: 'Hello, world. How are you?' })
  const result = await stt.transcribe(encodeWav(tone(500), 16000))
  t.equal(result.text, 'Hello, world. How are you?')
  t.same(result.words, [
    { word: 'Hello,', startMs: 0, endMs: 100, confidence: 0.99 },
    { word: 'world.', startMs: 100, endMs: 200, confidence: 0.99 },
    { word: 'How', startMs: 200, endMs: 300, confidence: 0.99 },
    { word: 'are', startMs: 300, endMs: 400, confidence: 0.99 },
    { word: 'you?', startMs: 400, endMs: 500, confidence: 0.99 }
  ])
})

t.test('prerecorded without smart format: the words as Deepgram spells them; no words, no field', async t => {
  const { mock, stt } = await setup(t, { transcript: 'Hello, world.' }, { smartFormat: false })
  t.same((await stt.transcribe(encodeWav(tone(200), 16000))).words?.map(w => w.word), ['hello', 'world'])
  mock.transcript = ''
  t.notOk('words' in await stt.transcribe(encodeWav(tone(200), 16000)))
})

t.test('live: each final carries its words, timed in ms from the stream\'s first byte (not from the result)', async t => {
  const { stt } = await setup(t, { transcript: 'Hello, world. How are you?' })
  const finals = (await collect(stt.transcribeStream(chunks(tone(500))))).filter(r => r.isFinal)
  t.same(finals.map(r => r.text), ['Hello, world. How', 'are you?'])
  t.same(finals.map(r => r.words?.map(w => [w.word, w.startMs, w.endMs])), [
    [['Hello,', 0, 100], ['world.', 100, 200], ['How', 200, 300]],
    [['are', 300, 400], ['you?', 400, 500]]
  ])
})

t.test('prerecorded: a 429 is retried and then succeeds', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('listen', { kind: 'status', status: 429 })
  t.equal((await stt.transcribe(encodeWav(tone(300), 16000))).text, 'hello from the')
  t.same(mock.requests.map(r => r.status), [429, 200])
})

t.test('prerecorded: a 500 on every attempt fails with STT_ERROR after the retries', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('listen', { kind: 'status', status: 500 }, 3)
  await t.rejects(stt.transcribe(encodeWav(tone(300), 16000)), { code: 'LLMRTC_ERR_STT', message: /HTTP 500 INTERNAL_SERVER_ERROR/, cause: { statusCode: 500 } })
  t.same(mock.requests.map(r => r.status), [500, 500, 500])
})

t.test('a connection dropped mid-stream fails the stream with STT_ERROR', async t => {
  const { mock, stt } = await setup(t)
  mock.fail('live', { kind: 'drop', afterBytes: 3200 })
  const results: STTResult[] = []
  await t.rejects(async () => { for await (const r of stt.transcribeStream(chunks(tone(1000)))) results.push(r) }, { code: 'LLMRTC_ERR_STT', message: /connection closed \(1006/ })
  t.ok(results.length <= 1)
  t.equal(mock.live[0]?.closedBy?.by, 'server')
})

t.test('Deepgram never answering ends each kind of call with STT_TIMEOUT', async t => {
  const { mock, stt } = await setup(t, {}, { connectTimeoutMs: 100, finalizeTimeoutMs: 100, requestTimeoutMs: 100 })
  mock.fail('live', { kind: 'hang' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(100)))), { code: 'LLMRTC_ERR_STT_TIMEOUT', message: 'Speech-to-text provider "deepgram" did not answer within 100 ms' }, 'the handshake')
  mock.fail('live', { kind: 'mute' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(100)))), { code: 'LLMRTC_ERR_STT_TIMEOUT' }, 'the flush after CloseStream')
  t.same(await mock.live[0]?.closed, { by: 'client', code: 1000, reason: 'aborted' }, 'the silent socket is closed')
  mock.fail('listen', { kind: 'hang' })
  await t.rejects(stt.transcribe(encodeWav(tone(100), 16000)), { code: 'LLMRTC_ERR_STT_TIMEOUT' }, 'a prerecorded request')
  t.same(mock.handshakes, [0, 101], 'a timeout is not retried')
})

t.test('options are validated when the provider is built', async t => {
  t.throws(() => new DeepgramSTT({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /DEEPGRAM_API_KEY/ })
  t.throws(() => new DeepgramSTT({ apiKey: 'k', keepAliveIntervalMs: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /deepgram\.keepAliveIntervalMs.*positive integer.*0/ })
  t.throws(() => new DeepgramSTT({ apiKey: 'k', baseUrl: 'api.deepgram.com' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /deepgram\.baseUrl/ })
  const stt = new DeepgramSTT({ apiKey: 'k' })
  t.equal(stt.name, 'deepgram')
  t.equal(stt.streamingInputSampleRate, 16000)
})
