import t, { type Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { OpenAISTT, OpenAITTS, type OpenAISTTOptions, type OpenAITTSOptions } from '../../lib/providers/openai/index.js'
import { MOCK_TRANSCRIPT, startOpenAIMock, tone, type OpenAIMock } from '../mocks/openai-mock.js'
import { sttConformance, ttsConformance } from '../helpers/provider-conformance.js'

async function mockFor (t: Test): Promise<OpenAIMock> {
  const mock = await startOpenAIMock()
  t.teardown(() => mock.close())
  return mock
}

function stt (mock: OpenAIMock, options: Partial<OpenAISTTOptions> = {}): OpenAISTT {
  return new OpenAISTT({ apiKey: 'sk-test', baseURL: mock.baseURL, ...options })
}

function tts (mock: OpenAIMock, options: Partial<OpenAITTSOptions> = {}): OpenAITTS {
  return new OpenAITTS({ apiKey: 'sk-test', baseURL: mock.baseURL, ...options })
}

function speechLike (ms: number): Int16Array {
  const samples = new Int16Array(16 * ms)
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(5000 * Math.sin(2 * Math.PI * 220 * i / 16000))
  return samples
}

async function drain (stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

t.test('the OpenAI STT passes the STT conformance suite against the mock', async t => {
  const mock = await mockFor(t)
  await sttConformance(t, stt(mock), speechLike(1000), /weather/)
})

t.test('a transcription is a multipart upload of the WAV with model and language', async t => {
  const mock = await mockFor(t)
  const wav = encodeWav(speechLike(500), 16000)
  const result = await stt(mock, { model: 'whisper-1', language: 'en', prompt: 'llmrtc' }).transcribe(wav)
  t.same({ text: result.text, isFinal: result.isFinal }, { text: MOCK_TRANSCRIPT, isFinal: true })
  const request = mock.requestsTo('transcriptions')[0]
  t.match(request?.headers['content-type'], /^multipart\/form-data; boundary=/)
  t.match(request?.body, { model: 'whisper-1', language: 'en', prompt: 'llmrtc', response_format: 'json', file: { name: 'file', filename: 'speech.wav', contentType: 'audio/wav' } })
  t.ok((request?.body.file as { data: Buffer }).data.equals(wav), 'the file is the WAV, byte for byte')

  await stt(mock).transcribe(wav, { language: 'de' })
  t.match(mock.requestsTo('transcriptions')[1]?.body, { model: 'gpt-4o-mini-transcribe', language: 'de' }, 'defaults, and the call\'s language')
  t.notOk('prompt' in (mock.requestsTo('transcriptions')[1]?.body ?? {}))
})

t.test('wordTimestamps with whisper-1 asks for verbose_json with word timestamps and maps the words to ms', async t => {
  const mock = await mockFor(t)
  const wav = encodeWav(speechLike(800), 16000)
  mock.script('transcriptions', { type: 'transcript', text: 'Hello, world.', words: [{ word: 'Hello', start: 0.12, end: 0.48 }, { word: 'world', start: 0.5, end: 0.9005 }] })
  const result = await stt(mock, { model: 'whisper-1', wordTimestamps: true }).transcribe(wav)
  t.equal(result.text, 'Hello, world.')
  t.same(result.words, [{ word: 'Hello', startMs: 120, endMs: 480 }, { word: 'world', startMs: 500, endMs: 901 }])
  t.match(mock.requestsTo('transcriptions')[0]?.body, { model: 'whisper-1', response_format: 'verbose_json', 'timestamp_granularities[]': 'word' })
})

t.test('without wordTimestamps, or with a gpt-* model, the request stays plain json and the result has no words', async t => {
  const mock = await mockFor(t)
  const wav = encodeWav(speechLike(300), 16000)
  const plain = await stt(mock, { model: 'whisper-1' }).transcribe(wav)
  const gpt = await stt(mock, { model: 'gpt-4o-transcribe', wordTimestamps: true }).transcribe(wav)
  for (const [i, result] of [plain, gpt].entries()) {
    t.notOk('words' in result)
    const body = mock.requestsTo('transcriptions')[i]?.body ?? {}
    t.equal(body.response_format, 'json')
    t.notOk('timestamp_granularities[]' in body)
  }
  t.throws(() => stt(mock, { wordTimestamps: 'yes' as unknown as boolean }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /wordTimestamps/ })
})

t.test('a transcription failing with 401 is not retried; 429 is retried', async t => {
  const mock = await mockFor(t)
  const wav = encodeWav(speechLike(300), 16000)
  mock.script('transcriptions', { type: 'error', status: 401 }, { type: 'error', status: 429 })
  await t.rejects(stt(mock).transcribe(wav), { status: 401, code: 'invalid_api_key' })
  t.equal(mock.requestsTo('transcriptions').length, 1)
  t.equal((await stt(mock).transcribe(wav)).text, MOCK_TRANSCRIPT)
  t.equal(mock.requestsTo('transcriptions').length, 3, 'the 429 was retried once')
})

t.test('aborting a transcription closes the request; an answer without text is LLMRTC_ERR_STT', async t => {
  const mock = await mockFor(t)
  const wav = encodeWav(speechLike(300), 16000)
  mock.script('transcriptions', { type: 'hang' }, { type: 'raw', status: 200, contentType: 'application/json', body: '{"words":[]}' })
  const controller = new AbortController()
  const pending = stt(mock).transcribe(wav, { signal: controller.signal })
  const request = await mock.waitForRequest('transcriptions')
  controller.abort()
  await t.rejects(pending)
  await request.closed
  t.equal(request.clientAborted, true, 'the mock saw the request closed')
  await t.rejects(stt(mock).transcribe(wav), { code: 'LLMRTC_ERR_STT', message: /no text/ })
})

t.test('the OpenAI TTS passes the TTS conformance suite against the mock', async t => {
  const mock = await mockFor(t)
  await ttsConformance(t, tts(mock))
})

t.test('streamed speech is 24 kHz PCM in chunks of whole samples, byte for byte what the API sent', async t => {
  const mock = await mockFor(t)
  const pcm = tone(700)
  mock.script('speech', { type: 'speech', pcm })
  const provider = tts(mock)
  t.equal(provider.pcmSampleRate, 24_000)
  const chunks = await drain(provider.speakStream('Hello there.'))
  t.ok(chunks.length > 2, 'several chunks')
  t.ok(chunks.every(c => c.length % 2 === 0), 'every chunk holds whole samples (the mock splits samples)')
  t.ok(Buffer.concat(chunks).equals(pcm))
  t.same(mock.requestsTo('speech')[0]?.body, { model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello there.', response_format: 'pcm' })
})

t.test('voice, model, instructions and speed reach the request; tts-1 gets no instructions', async t => {
  const mock = await mockFor(t)
  const provider = tts(mock, { voice: 'coral', instructions: 'Cheerful and quick.', speed: 1.25 })
  await drain(provider.speakStream('Hi.'))
  t.same(mock.requestsTo('speech')[0]?.body, { model: 'gpt-4o-mini-tts', voice: 'coral', input: 'Hi.', response_format: 'pcm', instructions: 'Cheerful and quick.', speed: 1.25 })
  await drain(provider.speakStream('Hi.', { model: 'tts-1', voice: 'nova', speed: 0.5 }))
  t.same(mock.requestsTo('speech')[1]?.body, { model: 'tts-1', voice: 'nova', input: 'Hi.', response_format: 'pcm', speed: 0.5 })
  t.throws(() => tts(mock, { speed: 5 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /0\.25 to 4\.0/ })
})

t.test('speak() returns PCM at 24 kHz by default, or asks for the given format', async t => {
  const mock = await mockFor(t)
  const provider = tts(mock)
  const pcm = await provider.speak('Hello.')
  t.same({ format: pcm.format, rate: pcm.sampleRate }, { format: 'pcm', rate: 24_000 })
  t.ok(pcm.audio.length > 0)
  for (const [format, wire] of [['wav', 'wav'], ['mp3', 'mp3'], ['ogg', 'opus']] as const) {
    const result = await provider.speak('Hello.', { format })
    t.equal(result.format, format)
    t.equal(mock.requestsTo('speech').at(-1)?.body.response_format, wire, `${format} is asked as ${wire}`)
  }
})

t.test('aborting streamed speech ends it quietly and the mock sees the connection closed', async t => {
  const mock = await mockFor(t)
  mock.script('speech', { type: 'speech', pcm: tone(3000) })
  const controller = new AbortController()
  let chunks = 0
  for await (const _chunk of tts(mock).speakStream('A long sentence.', { signal: controller.signal })) {
    chunks++
    controller.abort()
  }
  t.equal(chunks, 1)
  const request = await mock.waitForRequest('speech')
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('a consumer that stops reading streamed speech closes the connection', async t => {
  const mock = await mockFor(t)
  mock.script('speech', { type: 'speech', pcm: tone(3000) })
  for await (const _chunk of tts(mock).speakStream('A long sentence.')) break
  const request = await mock.waitForRequest('speech')
  await request.closed
  t.equal(request.clientAborted, true)
})

t.test('a 200 answer that is text or JSON, not audio, fails with LLMRTC_ERR_TTS instead of being played', async t => {
  const mock = await mockFor(t)
  mock.script('speech',
    { type: 'raw', status: 200, contentType: 'application/json', body: '{"error":{"message":"quota exceeded"}}' },
    { type: 'raw', status: 200, contentType: 'text/html; charset=utf-8', body: '<html>502 Bad Gateway</html>' })
  await t.rejects(drain(tts(mock).speakStream('Hello.')), { code: 'LLMRTC_ERR_TTS', message: /expected audio, got application\/json/ })
  await t.rejects(tts(mock).speak('Hello.'), { code: 'LLMRTC_ERR_TTS', message: /expected audio, got text\/html/ })
  await Promise.all(mock.requestsTo('speech').map(async r => await r.closed))
  t.ok((await drain(tts(mock).speakStream('Hello.'))).length > 0, 'audio still plays')
})

t.test('a connection lost mid-speech fails after the partial audio; a 500 before it is retried', async t => {
  const mock = await mockFor(t)
  mock.script('speech', { type: 'speech', pcm: tone(2000), disconnectAfterChunks: 2 }, { type: 'error', status: 500 })
  const received: Buffer[] = []
  const error = await (async () => { for await (const chunk of tts(mock).speakStream('Hello.')) received.push(chunk) })().catch((e: unknown) => e)
  t.ok(error instanceof Error, 'the stream throws')
  t.ok(received.length >= 1, 'after the audio that arrived')
  t.equal(mock.requestsTo('speech').length, 1, 'not retried')
  t.ok((await drain(tts(mock).speakStream('Hello.'))).length > 0, 'the 500 is retried and the retry speaks')
  t.equal(mock.requestsTo('speech').length, 3)
})
