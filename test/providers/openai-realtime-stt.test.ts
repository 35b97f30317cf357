import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { StreamingTranscription } from '../../lib/pipeline/streaming-transcription.js'
import { OpenAIRealtimeSTT, type OpenAIRealtimeSTTOptions } from '../../lib/providers/openai/realtime-transcription/index.js'
import type { STTResult } from '../../lib/providers/types.js'
import { sttConformance } from '../helpers/provider-conformance.js'
import { tone } from '../helpers/audio.js'
import { startRealtimeTranscriptionMock, type RealtimeTranscriptionMock, type RealtimeTranscriptionMockOptions } from '../mocks/openai-realtime-transcription-mock.js'

// The mock hears one word of 'hello from the openai realtime mock' per 100 ms of audio, whatever the audio is.

/** 20 ms chunks of 16 kHz s16le, as the pipeline feeds them. */
async function * chunks (samples: Int16Array): AsyncIterable<Buffer> {
  const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  for (let i = 0; i < bytes.length; i += 640) yield bytes.subarray(i, i + 640)
}

async function setup (t: Test, mockOptions: RealtimeTranscriptionMockOptions = {}, options: Partial<OpenAIRealtimeSTTOptions> = {}): Promise<{ mock: RealtimeTranscriptionMock, stt: OpenAIRealtimeSTT }> {
  const mock = await startRealtimeTranscriptionMock(mockOptions)
  t.teardown(mock.close)
  const stt = new OpenAIRealtimeSTT({ apiKey: mock.apiKey, baseURL: mock.baseURL, retryBaseDelayMs: 1, ...options })
  return { mock, stt }
}

async function collect (results: AsyncIterable<STTResult>): Promise<STTResult[]> {
  const all: STTResult[] = []
  for await (const result of results) all.push(result)
  return all
}

function rms (samples: Int16Array): number {
  let sum = 0
  for (const s of samples) sum += s * s
  return Math.sqrt(sum / samples.length)
}

t.test('OpenAIRealtimeSTT passes the STT conformance suite against the mock', async t => {
  const { stt } = await setup(t)
  await sttConformance(t, stt, tone(1500), /^hello from the openai realtime mock$/)
})

t.test('streamed audio yields the growing transcript as interim results after the commit, then one final result', async t => {
  const { mock, stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(400))))
  t.same(results.map(r => [r.text, r.isFinal]), [
    ['hello', false], ['hello from', false], ['hello from the', false], ['hello from the openai', false],
    ['hello from the openai', true]
  ])
  const completed = mock.sessions[0]?.sent.find(e => e.type === 'conversation.item.input_audio_transcription.completed')
  t.ok(completed)
  t.same(results.at(-1)?.raw, completed, 'the final carries the completed event')
})

t.test('the connection asks for a transcription session (no model in the URL, Bearer key, GA protocol) with turn detection off', async t => {
  const { mock, stt } = await setup(t, {}, { model: 'gpt-4o-transcribe', language: 'de', prompt: 'Fastify, llmrtc' })
  await collect(stt.transcribeStream(chunks(tone(200))))
  const session = mock.sessions[0]
  t.same(Object.fromEntries(session?.query ?? []), { intent: 'transcription' })
  t.equal(session?.authorization, `Bearer ${mock.apiKey}`)
  t.equal(session?.openaiBeta, undefined, 'no OpenAI-Beta header: the GA event shapes')
  t.same(session?.sessionUpdates, [{
    type: 'transcription',
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        transcription: { model: 'gpt-4o-transcribe', language: 'de', prompt: 'Fastify, llmrtc' },
        turn_detection: null
      }
    }
  }])
  t.ok(session?.sent.some(e => e.type === 'session.updated'), 'the mock accepted the update')
})

t.test('the audio is appended as 24 kHz PCM resampled from 16 kHz, then committed once at the end of the input', async t => {
  const { mock, stt } = await setup(t)
  const input = tone(500, { hz: 440, amplitude: 8000 })
  await collect(stt.transcribeStream(chunks(input)))
  const session = mock.sessions[0]
  const received = session?.received ?? []
  t.equal(received[0], 'session.update')
  t.equal(received.filter(type => type === 'input_audio_buffer.append').length, 25, 'one append per 20 ms chunk')
  t.same(received.slice(-1), ['input_audio_buffer.commit'], 'the commit comes after all the audio')
  t.equal(received.filter(type => type === 'input_audio_buffer.commit').length, 1)
  const audio = session?.audio ?? Buffer.alloc(0)
  const samples = new Int16Array(audio.buffer, audio.byteOffset, audio.length / 2)
  t.ok(Math.abs(samples.length - 12_000) <= 3, `500 ms at 24 kHz is 12000 samples (got ${samples.length})`)
  // Past the filter's start-up: the tone keeps its level and its pitch (zero crossings per second).
  const steady = samples.subarray(2400)
  t.ok(Math.abs(rms(steady) / (8000 / Math.SQRT2) - 1) < 0.02, 'same level')
  let crossings = 0
  for (let i = 1; i < steady.length; i++) if (((steady[i - 1] as number) < 0) !== ((steady[i] as number) < 0)) crossings++
  t.ok(Math.abs(crossings / (steady.length / 24000) / 2 - 440) < 5, `still 440 Hz (${crossings} crossings)`)
})

t.test('24 kHz input is appended as is', async t => {
  const { mock, stt } = await setup(t)
  const input = tone(300, { sampleRateHz: 24000 })
  const result = await stt.transcribe(encodeWav(input, 24000))
  t.equal(result.text, 'hello from the')
  t.same(mock.sessions[0]?.audio, Buffer.from(input.buffer, input.byteOffset, input.byteLength))
})

t.test('with gpt-realtime-whisper the interim results come while the user speaks, before the commit', async t => {
  const { mock, stt } = await setup(t, {}, { model: 'gpt-realtime-whisper' })
  let heard: () => void = () => {}
  const firstInterim = new Promise<void>(resolve => { heard = resolve })
  // Half the speech, then wait (at most 2 s) for an interim before the rest and the end of input.
  async function * speaking (): AsyncIterable<Buffer> {
    const bytes = tone(400)
    yield * chunks(bytes.subarray(0, 3200))
    await Promise.race([firstInterim, sleep(2000)])
    yield * chunks(bytes.subarray(3200))
  }
  const results: STTResult[] = []
  let receivedAtFirstInterim: string[] | undefined
  for await (const r of stt.transcribeStream(speaking())) {
    results.push(r)
    if (receivedAtFirstInterim === undefined) receivedAtFirstInterim = [...mock.sessions[0]?.received ?? []]
    heard()
  }
  t.same(results.map(r => [r.text, r.isFinal]), [
    ['hello', false], ['hello from', false], ['hello from the', false], ['hello from the openai', false],
    ['hello from the openai', true]
  ])
  t.notOk(receivedAtFirstInterim?.includes('input_audio_buffer.commit'), 'the first interim came before the commit')
  t.equal(receivedAtFirstInterim?.filter(type => type === 'input_audio_buffer.append').length, 10, 'while half the speech was sent')
})

t.test('the pipeline\'s streaming transcription gets the interims and the final text from it', async t => {
  const { mock, stt } = await setup(t)
  const interims: string[] = []
  const transcription = new StreamingTranscription(stt.transcribeStream.bind(stt), text => { interims.push(text) }, new AbortController().signal)
  const speech = tone(300)
  for (let i = 0; i < speech.length; i += 320) transcription.write(speech.subarray(i, i + 320))
  transcription.end()
  t.equal((await transcription.final(new AbortController().signal)).text, 'hello from the')
  t.same(interims, ['hello', 'hello from', 'hello from the'])
  t.equal(mock.sessions[0]?.received.filter(type => type === 'input_audio_buffer.append').length, 15, 'one append per 20 ms frame')
})

t.test('with interimResults false only the final result comes', async t => {
  const { stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(300)), { interimResults: false }))
  t.same(results.map(r => [r.text, r.isFinal]), [['hello from the', true]])
})

t.test('an input under 100 ms is not committed (OpenAI would refuse it): one empty final result', async t => {
  const { mock, stt } = await setup(t)
  const results = await collect(stt.transcribeStream(chunks(tone(60))))
  t.same(results, [{ text: '', isFinal: true }])
  t.notOk(mock.sessions[0]?.received.includes('input_audio_buffer.commit'))
  t.same(await mock.sessions[0]?.closed, { by: 'client', code: 1000, reason: 'done' })
})

t.test('after the final result the client closes the socket with 1000', async t => {
  const { mock, stt } = await setup(t)
  await collect(stt.transcribeStream(chunks(tone(200))))
  t.same(await mock.sessions[0]?.closed, { by: 'client', code: 1000, reason: 'done' })
})

t.test('a refused key fails with STT_ERROR naming HTTP 401 and OpenAI\'s code, without retrying, the key masked', async t => {
  const { mock } = await setup(t)
  const key = 'sk-proj-wrong-key-for-realtime-9876'
  const stt = new OpenAIRealtimeSTT({ apiKey: key, baseURL: mock.baseURL, retryBaseDelayMs: 1 })
  const error = await collect(stt.transcribeStream(chunks(tone(200)))).catch((e: unknown) => e)
  t.match(error, { code: 'LLMRTC_ERR_STT', message: /HTTP 401 invalid_api_key: Incorrect API key provided/, cause: { status: 401 } })
  t.notMatch((error as Error).message, /wrong-key/, 'no part of the key but what OpenAI shows masked')
  t.same(mock.handshakes, [401])
})

t.test('a 429 on the upgrade is retried, then the utterance streams', async t => {
  const { mock, stt } = await setup(t)
  mock.fail({ kind: 'status', status: 429 })
  const results = await collect(stt.transcribeStream(chunks(tone(300))))
  t.same(mock.handshakes, [429, 101])
  t.same(results.at(-1), { text: 'hello from the', isFinal: true, raw: results.at(-1)?.raw })
  t.equal(mock.sessions.length, 1, 'the audio went to the one session that opened')
})

t.test('a 5xx on every attempt fails with STT_ERROR after the retries', async t => {
  const { mock, stt } = await setup(t)
  mock.fail({ kind: 'status', status: 503 }, 3)
  await t.rejects(collect(stt.transcribeStream(chunks(tone(200)))), { code: 'LLMRTC_ERR_STT', message: /HTTP 503 server_error: The server had an error/, cause: { status: 503 } })
  t.same(mock.handshakes, [503, 503, 503])
})

t.test('a server error event fails the stream with STT_ERROR and closes the socket', async t => {
  const { mock, stt } = await setup(t)
  mock.fail({ kind: 'error-event', error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration.' } })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(200)))), { code: 'LLMRTC_ERR_STT', message: 'Speech-to-text provider "openai-realtime-stt" failed: invalid_request_error/session_expired: Your session hit the maximum duration.' })
  t.same(await mock.sessions[0]?.closed, { by: 'client', code: 1000, reason: 'done' })
})

t.test('a model the server refuses comes back as its error event', async t => {
  const { stt } = await setup(t, {}, { model: 'my-whisper' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(200)))), { code: 'LLMRTC_ERR_STT', message: /invalid_request_error\/invalid_value: Invalid value: 'my-whisper'/ })
})

t.test('a failed transcription fails the stream after its interim result', async t => {
  const { mock, stt } = await setup(t)
  mock.fail({ kind: 'transcription-failed' })
  const results: STTResult[] = []
  await t.rejects(async () => { for await (const r of stt.transcribeStream(chunks(tone(300)))) results.push(r) }, { code: 'LLMRTC_ERR_STT', message: /transcription_error\/audio_unintelligible/ })
  t.same(results.map(r => r.text), ['hello'])
})

t.test('a connection dropped mid-stream fails the stream with STT_ERROR, and is not retried', async t => {
  const { mock, stt } = await setup(t)
  mock.fail({ kind: 'drop', afterAppends: 5 })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(1000)))), { code: 'LLMRTC_ERR_STT', message: /connection closed \(1006\)/ })
  t.same(mock.handshakes, [101])
  t.equal(mock.sessions[0]?.closedBy?.by, 'server')
})

t.test('OpenAI never answering ends the stream with STT_TIMEOUT: at the upgrade, and after the commit', async t => {
  const { mock, stt } = await setup(t, {}, { connectTimeoutMs: 100, finalizeTimeoutMs: 100 })
  mock.fail({ kind: 'hang' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(200)))), { code: 'LLMRTC_ERR_STT_TIMEOUT', message: 'Speech-to-text provider "openai-realtime-stt" did not answer within 100 ms' }, 'the upgrade')
  mock.fail({ kind: 'mute' })
  await t.rejects(collect(stt.transcribeStream(chunks(tone(200)))), { code: 'LLMRTC_ERR_STT_TIMEOUT' }, 'the transcript after the commit')
  t.ok(mock.sessions[0]?.received.includes('input_audio_buffer.commit'))
  t.same(await mock.sessions[0]?.closed, { by: 'client', code: 1000, reason: 'done' }, 'the silent socket is closed')
  t.same(mock.handshakes, [0, 101], 'a timeout is not retried')
})

t.test('an abort while audio flows closes the socket at once (1000 "aborted") and ends the stream quietly, uncommitted', async t => {
  const { mock, stt } = await setup(t)
  const controller = new AbortController()
  async function * speaking (): AsyncIterable<Buffer> {
    let n = 0
    for await (const chunk of chunks(tone(2000))) {
      yield chunk
      if (++n === 5) controller.abort()
      await sleep(5)
    }
  }
  t.same(await collect(stt.transcribeStream(speaking(), { signal: controller.signal })), [])
  t.same(await mock.sessions[0]?.closed, { by: 'client', code: 1000, reason: 'aborted' })
  t.notOk(mock.sessions[0]?.received.includes('input_audio_buffer.commit'), 'nothing is committed')
})

t.test('an abort during the transcript stops it at once', async t => {
  const { mock, stt } = await setup(t, { deltaIntervalMs: 30 })
  const controller = new AbortController()
  const results: STTResult[] = []
  for await (const result of stt.transcribeStream(chunks(tone(600)), { signal: controller.signal })) {
    results.push(result)
    if (result.text === 'hello from') controller.abort()
  }
  t.same(results.map(r => r.text), ['hello', 'hello from'])
  t.same(await mock.sessions[0]?.closed, { by: 'client', code: 1000, reason: 'aborted' })
})

t.test('an abort while the connection is still opening ends quietly', async t => {
  const { mock, stt } = await setup(t)
  mock.fail({ kind: 'hang' })
  const controller = new AbortController()
  setTimeout(() => { controller.abort() }, 50)
  t.same(await collect(stt.transcribeStream(chunks(tone(100)), { signal: controller.signal })), [])
  t.same(mock.handshakes, [0])
  await t.rejects(stt.transcribe(encodeWav(tone(100), 16000), { signal: controller.signal }), { name: 'AbortError' }, 'transcribe() rejects')
})

t.test('a failing audio source fails the stream with its own error and closes the socket', async t => {
  const { mock, stt } = await setup(t)
  const broken = new RangeError('microphone unplugged')
  async function * failing (): AsyncIterable<Buffer> {
    yield Buffer.alloc(640)
    throw broken
  }
  await t.rejects(collect(stt.transcribeStream(failing())), broken)
  t.same(await mock.sessions[0]?.closed, { by: 'client', code: 1000, reason: 'done' })
})

t.test('chunks split mid-sample are joined on whole samples', async t => {
  const { mock, stt } = await setup(t)
  const input = tone(300, { sampleRateHz: 24000 })
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  async function * odd (): AsyncIterable<Buffer> {
    for (let i = 0; i < bytes.length; i += 1001) yield bytes.subarray(i, i + 1001)
  }
  await collect(stt.transcribeStream(odd(), { sampleRateHz: 24000 }))
  t.same(mock.sessions[0]?.audio, bytes)
})

t.test('options are validated when the provider is built', async t => {
  t.throws(() => new OpenAIRealtimeSTT({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /OPENAI_API_KEY/ })
  t.throws(() => new OpenAIRealtimeSTT({ apiKey: 'k', model: 'gpt-4o' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /openai-realtime\.model": expected one of gpt-4o-mini-transcribe.*whisper-1.*instead got "gpt-4o"/ })
  t.throws(() => new OpenAIRealtimeSTT({ apiKey: 'k', model: 'gpt-realtime-whisper', prompt: 'names' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /openai-realtime\.prompt/ })
  t.throws(() => new OpenAIRealtimeSTT({ apiKey: 'k', baseURL: 'api.openai.com/v1' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /openai-realtime\.baseURL/ })
  t.throws(() => new OpenAIRealtimeSTT({ apiKey: 'k', finalizeTimeoutMs: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /finalizeTimeoutMs.*positive integer/ })
  t.equal(new OpenAIRealtimeSTT({ apiKey: 'k', baseURL: 'http://127.0.0.1:8000/v1', model: 'my-whisper' }).model, 'my-whisper', 'a compatible server names its own models')
  for (const model of ['gpt-4o-transcribe', 'gpt-4o-mini-transcribe', 'whisper-1']) t.equal(new OpenAIRealtimeSTT({ apiKey: 'k', model }).model, model)
  const stt = new OpenAIRealtimeSTT({ apiKey: 'k' })
  t.equal(stt.name, 'openai-realtime-stt')
  t.equal(stt.model, 'gpt-4o-mini-transcribe')
  t.equal(stt.streamingInputSampleRate, 16000)
})
