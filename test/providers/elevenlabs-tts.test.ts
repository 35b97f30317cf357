import t, { type Test } from 'tap'
import { heardText, type SpokenSentence } from '../../lib/pipeline/heard-text.js'
import { ElevenLabsTTS, type ElevenLabsTTSOptions } from '../../lib/providers/elevenlabs/index.js'
import type { TTSConfig, TTSStreamEvent, WordTimestamp } from '../../lib/providers/types.js'
import { ttsConformance } from '../helpers/provider-conformance.js'
import { ElevenLabsMock } from '../mocks/elevenlabs-mock.js'

async function setup (t: Test, options: Partial<ElevenLabsTTSOptions> = {}): Promise<{ mock: ElevenLabsMock, tts: ElevenLabsTTS }> {
  const mock = await ElevenLabsMock.start()
  const tts = new ElevenLabsTTS({ apiKey: mock.apiKey, baseURL: mock.baseURL, retryDelayMs: 1, ...options })
  t.teardown(async () => { await tts.close(); await mock.close() })
  return { mock, tts }
}

async function collect (stream: AsyncIterable<Buffer | TTSStreamEvent>): Promise<{ audioBytes: number, chunks: number, words: WordTimestamp[] }> {
  let audioBytes = 0
  let chunks = 0
  const words: WordTimestamp[] = []
  for await (const item of stream) {
    if (Buffer.isBuffer(item)) audioBytes += item.length
    else if (item.type === 'audio') { audioBytes += item.audio.length; chunks++ } else words.push(...item.words)
  }
  return { audioBytes, chunks, words }
}

t.test('ElevenLabsTTS passes the provider conformance suite', async t => {
  const { tts } = await setup(t)
  await ttsConformance(t, tts)
})

t.test('the sentences of one turn share one context: a flush each, and the turn closes it', async t => {
  const { mock, tts } = await setup(t, { voiceSettings: { stability: 0.5, similarityBoost: 0.8 } })
  const turn: TTSConfig = { contextId: 'turn-1' }
  const first = await collect(tts.speakStream('Hello there friend.', turn))
  const second = await collect(tts.speakStream('How are you today?', turn))
  const third = await collect(tts.speakStream('Bye now.', { ...turn, continuation: false }))
  // The mock speaks 150 ms per word at 24 kHz: whole words, cut at the end of the last letter.
  t.equal(first.words.length, 3)
  t.ok(first.audioBytes >= 2 * 24 * (150 * 2 + 120), 'the first sentence\'s audio reaches the end of its last word')
  for (const part of [second, third]) t.ok(part.audioBytes > 0, 'each sentence yields its own audio')
  const ids = new Set(mock.inputs.filter(i => i.context_id !== undefined).map(i => i.context_id))
  t.equal(ids.size, 1, 'one ElevenLabs context for the whole turn')
  const id = [...ids][0] as string
  t.match(id, /^turn-1:/, 'named after the turn')
  await mock.until(() => mock.closedContexts.length === 1)
  t.same(mock.inputs, [
    { context_id: id, text: ' ', voice_settings: { stability: 0.5, similarity_boost: 0.8 } },
    { context_id: id, text: 'Hello there friend. ', flush: true },
    { context_id: id, text: 'How are you today? ', flush: true },
    { context_id: id, text: 'Bye now. ', flush: true },
    { context_id: id, close_context: true }
  ], 'opened with the voice settings, a flushed text per sentence joined by spaces, closed at the end of the turn')
  t.equal(mock.handshakes.length, 1, 'one WebSocket')
  t.match(mock.handshakes[0], {
    key: mock.apiKey,
    path: '/v1/text-to-speech/EXAVITQu4vr4xnSDxMaL/multi-stream-input',
    query: { model_id: 'eleven_flash_v2_5', output_format: 'pcm_24000', sync_alignment: 'true' }
  }, 'the key in the xi-api-key header; model, format and alignment in the query')
  t.notOk('language_code' in (mock.handshakes[0]?.query ?? {}), 'no language unless set')

  await collect(tts.speakStream('A new turn.', { contextId: 'turn-2', continuation: false }))
  t.match(mock.texts.at(-1)?.context_id, /^turn-2:/, 'the next turn gets a context of its own')
  t.equal(mock.handshakes.length, 1, 'on the same socket')
})

t.test('word timestamps come from the alignment, in ms from each sentence\'s own audio start', async t => {
  const { tts } = await setup(t)
  const turn = { contextId: 'words' }
  const first = await collect(tts.speakStream('one two three', turn))
  const second = await collect(tts.speakStream('four five', { ...turn, continuation: false }))
  t.same(first.words.map(w => w.word), ['one', 'two', 'three'])
  t.same(second.words.map(w => w.word), ['four', 'five'])
  // The mock: 120 ms of tone per word (its letters spread over it), then 30 ms of silence; chunks of 40 ms.
  t.same(first.words.map(w => [w.startMs, w.endMs]), [[0, 120], [150, 270], [300, 420]], 'words span chunks and keep their times')
  // The first sentence ends with its last letter (440 ms into its audio, in 40 ms chunks); the 10 ms of
  // silence after it comes next, so the second sentence's audio starts with it.
  t.equal(first.audioBytes, 2 * 24 * 440)
  t.same(second.words.map(w => [w.startMs, w.endMs]), [[10, 130], [160, 280]], 'the second sentence counts from its own audio\'s start')
})

t.test('the words heard before a cut are what the pipeline keeps, as on barge-in', async t => {
  const { tts } = await setup(t)
  const sentences: SpokenSentence[] = []
  let writtenMs = 0
  for (const [text, continuation] of [['Good morning to you.', true], ['The weather is lovely today.', false]] as const) {
    const { audioBytes, words } = await collect(tts.speakStream(text, { contextId: 'heard', continuation }))
    const durationMs = audioBytes / 2 / 24
    sentences.push({ text, startMs: writtenMs, endMs: writtenMs + durationMs, words })
    writtenMs += durationMs
  }
  const firstMs = sentences[0]?.endMs as number
  // "The weather is" ends 120, 270 and 420 ms into the second sentence.
  t.equal(heardText(sentences, firstMs + 430), 'Good morning to you. The weather is')
  t.equal(heardText(sentences, firstMs + 400), 'Good morning to you. The weather')
})

t.test('without alignment, a sentence ends after a quiet spell and still yields its audio', async t => {
  const { mock, tts } = await setup(t, { sentenceQuietMs: 400 })
  mock.behaviour = { type: 'no-alignment' }
  const part = await collect(tts.speakStream('one two', { contextId: 'quiet' }))
  t.equal(part.audioBytes, 2 * 24 * 300, 'all of the audio')
  t.same(part.words, [], 'no word timings')
})

t.test('an utterance left open is closed after the idle time; an empty last text closes it at once', async t => {
  const { mock, tts } = await setup(t, { contextIdleMs: 30 })
  await collect(tts.speakStream('Still thinking.', { contextId: 'idle' }))
  await mock.until(() => mock.closedContexts.length === 1)
  t.match(mock.closedContexts[0], /^idle:/, 'the idle context was closed')
  await collect(tts.speakStream('Again.', { contextId: 'ended' }))
  t.same(await collect(tts.speakStream('', { contextId: 'ended', continuation: false })), { audioBytes: 0, chunks: 0, words: [] })
  await mock.until(() => mock.closedContexts.length === 2)
  t.match(mock.closedContexts[1], /^ended:/)
})

t.test('two sessions speak at once over the one WebSocket; a sixth context opens a second socket', async t => {
  const { mock, tts } = await setup(t)
  const [a, b] = await Promise.all([
    collect(tts.speakStream('Alpha beta gamma.', { contextId: 'a', continuation: false })),
    collect(tts.speakStream('Delta epsilon.', { contextId: 'b', continuation: false }))
  ])
  t.same(a.words.map(w => w.word), ['Alpha', 'beta', 'gamma.'])
  t.same(b.words.map(w => w.word), ['Delta', 'epsilon.'])
  t.equal(mock.handshakes.length, 1)
  await mock.until(() => mock.closedContexts.length === 2)
  // Six turns left open hold six contexts: ElevenLabs allows five per socket.
  for (let i = 0; i < 6; i++) await collect(tts.speakStream('Hi.', { contextId: `open-${i}` }))
  t.equal(mock.handshakes.length, 2, 'the sixth went on a new socket, not refused')
})

t.test('a voice or model of its own gets a socket of its own', async t => {
  const { mock, tts } = await setup(t, { language: 'de', sampleRateHz: 16000 })
  await collect(tts.speakStream('Hallo.', { voice: 'voice-2', model: 'eleven_turbo_v2_5' }))
  t.match(mock.handshakes[0], { path: '/v1/text-to-speech/voice-2/multi-stream-input', query: { model_id: 'eleven_turbo_v2_5', output_format: 'pcm_16000', language_code: 'de' } })
  t.equal(tts.pcmSampleRate, 16000)
})

t.test('aborting stops yielding at once and closes the context at ElevenLabs', async t => {
  const { mock, tts } = await setup(t)
  const controller = new AbortController()
  let after = 0
  for await (const _item of tts.speakStream('one two three four five six seven eight', { contextId: 'cut', signal: controller.signal })) {
    if (controller.signal.aborted) after++
    controller.abort()
  }
  t.equal(after, 0, 'nothing after the abort')
  await mock.until(() => mock.closedContexts.length === 1)
  t.match(mock.closedContexts[0], /^cut:/, 'the mock saw close_context')
  const next = await collect(tts.speakStream('Fresh start.', { contextId: 'cut', continuation: false }))
  t.ok(next.audioBytes > 0, 'the same turn id speaks again on a fresh context')
  t.not(mock.texts.at(-1)?.context_id, mock.closedContexts[0])
})

t.test('a deadline on a silent ElevenLabs ends the call quietly and closes the context', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'silent' }
  t.same(await collect(tts.speakStream('Anyone there?', { signal: AbortSignal.timeout(150) })), { audioBytes: 0, chunks: 0, words: [] })
  await mock.until(() => mock.closedContexts.length === 1)
})

t.test('an error message fails the sentence; a rate limit is retried first, on a new socket', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'error', error: 'invalid_request', message: 'voice not found' }
  await t.rejects(collect(tts.speakStream('Hello.')), { name: 'ElevenLabsError', code: 'ELEVENLABS_ERROR', message: /invalid_request: voice not found/ })
  t.equal(mock.texts.length, 1, 'not retried')
  mock.behaviour = { type: 'error', error: 'rate_limit_exceeded', message: 'slow down' }
  await t.rejects(collect(tts.speakStream('Hello.')), { name: 'ElevenLabsError', status: 429 })
  t.equal(mock.texts.length, 1 + 3, 'a 429 is retried twice before giving up')
  mock.behaviour = { type: 'normal' }
  t.ok((await collect(tts.speakStream('Hello.'))).audioBytes > 0, 'a new socket works')
})

t.test('a wrong key fails the handshake with 401: not retried, not sent over REST', async t => {
  const { mock, tts } = await setup(t, { apiKey: 'wrong-key-123' })
  const error = await collect(tts.speakStream('Hello.')).then(() => undefined, (e: unknown) => e)
  t.match(error, { name: 'ElevenLabsError', code: 'ELEVENLABS_HANDSHAKE', status: 401, message: /401: invalid_api_key: Invalid API key/ })
  t.notMatch((error as Error).message, /wrong-key/, 'the key is not in the message')
  t.equal(mock.handshakes.length, 1)
  t.equal(mock.restRequests.length, 0)
  await t.rejects(tts.speak('Hello.'), { name: 'ElevenLabsError', status: 401, code: 'ELEVENLABS_HTTP' }, 'REST is refused the same way')
})

t.test('a socket dropped mid-stream throws, and the next call opens a new one', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'drop', afterChunks: 3 }
  let chunks = 0
  const error = await (async () => {
    for await (const item of tts.speakStream('one two three four five', { contextId: 'drop' })) if (!Buffer.isBuffer(item) && item.type === 'audio') chunks++
  })().then(() => undefined, (e: unknown) => e)
  t.match(error, { name: 'ElevenLabsError', code: 'ECONNRESET', message: /dropped/ })
  t.equal(chunks, 3, 'the audio before the drop was yielded, and not retried after it')
  mock.behaviour = { type: 'normal' }
  t.ok((await collect(tts.speakStream('Back again.', { contextId: 'drop', continuation: false }))).audioBytes > 0)
  t.equal(mock.handshakes.length, 2, 'reconnected')
})

t.test('a drop between sentences is retried on a new socket', async t => {
  const { mock, tts } = await setup(t)
  await collect(tts.speakStream('Warm up.', { contextId: 'between' }))
  mock.dropAll()
  await mock.until(() => mock.openSockets === 0)
  t.ok((await collect(tts.speakStream('After the drop.', { contextId: 'between', continuation: false }))).audioBytes > 0)
  t.equal(mock.handshakes.length, 2)
})

t.test('when the WebSocket cannot be opened, the sentence is spoken over REST with the text before it', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'refuse', status: 503 }
  const first = await collect(tts.speakStream('Over REST now.', { contextId: 'fallback', speed: 1.1 }))
  t.equal(first.audioBytes, 2 * 24 * 150 * 3, 'whole samples, all of them, although the body was cut on an odd byte')
  t.same(first.words, [], 'REST gives no word timings')
  await collect(tts.speakStream('And again.', { contextId: 'fallback', continuation: false }))
  t.match(mock.restRequests, [
    { voiceId: 'EXAVITQu4vr4xnSDxMaL', key: mock.apiKey, query: { output_format: 'pcm_24000' }, body: { text: 'Over REST now.', model_id: 'eleven_flash_v2_5', voice_settings: { speed: 1.1 } } },
    { body: { text: 'And again.', previous_text: 'Over REST now.' } }
  ])
  t.notOk('previous_text' in (mock.restRequests[0]?.body ?? {}))
})

t.test('a handshake that never completes times out, and REST speaks instead', async t => {
  const { mock, tts } = await setup(t, { connectTimeoutMs: 100 })
  mock.behaviour = { type: 'hang-handshake' }
  t.ok((await collect(tts.speakStream('Hello.'))).audioBytes > 0)
  t.equal(mock.restRequests.length, 1)
})

t.test('REST: 429 then success is retried; 5xx gives up after the retries; a timeout and a cut body fail', async t => {
  const { mock, tts } = await setup(t)
  mock.restScript = [429]
  t.match(await tts.speak('Hello.', { format: 'pcm' }), { format: 'pcm', sampleRate: 24000 })
  t.equal(mock.restRequests.length, 2)
  mock.restScript = [500, 502, 503]
  await t.rejects(tts.speak('Hello.'), { name: 'ElevenLabsError', status: 503, message: /HTTP 503: error: scripted 503/ })
  mock.restScript = ['hang']
  const impatient = new ElevenLabsTTS({ apiKey: mock.apiKey, baseURL: mock.baseURL, requestTimeoutMs: 200 })
  t.teardown(async () => { await impatient.close() })
  await t.rejects(impatient.speak('Hello.'), { name: 'ElevenLabsError', code: 'ETIMEDOUT' })
  await mock.until(() => mock.restAborted === 1)
  mock.restScript = ['cut']
  await t.rejects(tts.speak('one two three four'), { name: 'ElevenLabsError', code: 'ECONNRESET' })
})

t.test('an aborted REST stream ends quietly and closes the connection', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'refuse', status: 500 }
  const controller = new AbortController()
  let after = 0
  for await (const _item of tts.speakStream('one two three four five six', { signal: controller.signal })) {
    if (controller.signal.aborted) after++
    controller.abort()
  }
  t.equal(after, 0)
  await mock.until(() => mock.restAborted === 1)
})

t.test('speak() synthesizes over REST: WAV by default, PCM or MP3 on request', async t => {
  const { mock, tts } = await setup(t, { sampleRateHz: 16000, voiceId: 'voice-1', model: 'eleven_multilingual_v2', language: 'de' })
  const wav = await tts.speak('Hallo Welt.')
  t.match(wav, { format: 'wav', sampleRate: 16000 })
  t.equal(wav.audio.toString('ascii', 0, 4), 'RIFF')
  const pcm = await tts.speak('Hallo Welt.', { format: 'pcm' })
  t.equal(pcm.audio.length, wav.audio.length - 44)
  t.match(await tts.speak('Hallo.', { format: 'mp3' }), { format: 'mp3' })
  t.match(mock.restRequests, [
    { voiceId: 'voice-1', query: { output_format: 'pcm_16000' }, body: { text: 'Hallo Welt.', model_id: 'eleven_multilingual_v2', language_code: 'de' } },
    {},
    { query: { output_format: 'mp3_44100_128' } }
  ])
})

t.test('options are checked when the provider is built', async t => {
  t.throws(() => new ElevenLabsTTS({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /ELEVENLABS_API_KEY/ })
  t.throws(() => new ElevenLabsTTS({ apiKey: 'k', sampleRateHz: 48000 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /sampleRateHz.*instead got 48000/ })
  t.throws(() => new ElevenLabsTTS({ apiKey: 'k', baseURL: 'ws://x' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new ElevenLabsTTS({ apiKey: 'k', voiceId: '' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new ElevenLabsTTS({ apiKey: 'k', maxContextsPerSocket: 0 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.equal(new ElevenLabsTTS({ apiKey: 'k', sampleRateHz: 44100 }).pcmSampleRate, 44100)
})

t.test('close() closes open contexts and the socket, and is idempotent', async t => {
  const { mock, tts } = await setup(t)
  await collect(tts.speakStream('Left open.', { contextId: 'open' }))
  await tts.close()
  await tts.close()
  await mock.until(() => mock.closeSocketMessages === 1 && mock.openSockets === 0)
  t.match(mock.closedContexts, [/^open:/])
  await t.rejects(collect(tts.speakStream('After close.')), { code: 'ELEVENLABS_CLOSED' })
})
