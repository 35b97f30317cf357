import t, { type Test } from 'tap'
import { heardText, type SpokenSentence } from '../../lib/pipeline/heard-text.js'
import { CartesiaTTS, type CartesiaTTSOptions } from '../../lib/providers/cartesia/index.js'
import type { TTSConfig, TTSStreamEvent, WordTimestamp } from '../../lib/providers/types.js'
import { ttsConformance } from '../helpers/provider-conformance.js'
import { CartesiaMock } from '../mocks/cartesia-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'

// Cartesia's TTS WebSocket is always wss: the mock serves TLS with a certificate made for this run.
const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')

async function setup (t: Test, options: Partial<CartesiaTTSOptions> = {}): Promise<{ mock: CartesiaMock, tts: CartesiaTTS }> {
  const mock = await CartesiaMock.start({ tls: tls as NonNullable<typeof tls> })
  const tts = new CartesiaTTS({ apiKey: mock.apiKey, baseURL: mock.baseURL, retryDelayMs: 1, ...options })
  t.teardown(async () => { await tts.close(); await mock.close() })
  return { mock, tts }
}

async function collect (stream: AsyncIterable<Buffer | TTSStreamEvent>): Promise<{ audioBytes: number, words: WordTimestamp[] }> {
  let audioBytes = 0
  const words: WordTimestamp[] = []
  for await (const item of stream) {
    if (Buffer.isBuffer(item)) audioBytes += item.length
    else if (item.type === 'audio') audioBytes += item.audio.length
    else words.push(...item.words)
  }
  return { audioBytes, words }
}

t.test('CartesiaTTS passes the provider conformance suite', async t => {
  const { tts } = await setup(t)
  await ttsConformance(t, tts)
})

t.test('the sentences of one turn share one context: continue and a flush each, then the turn ends it', async t => {
  const { mock, tts } = await setup(t)
  const turn: TTSConfig = { contextId: 'turn-1' }
  const first = await collect(tts.speakStream('Hello there friend.', turn))
  const second = await collect(tts.speakStream('How are you today?', turn))
  const third = await collect(tts.speakStream('Bye now.', { ...turn, continuation: false }))
  for (const part of [first, second, third]) t.ok(part.audioBytes > 0, 'each sentence yields its own audio')
  const ids = new Set(mock.inputs.map(i => i.context_id))
  t.equal(ids.size, 1, 'one Cartesia context for the whole turn')
  t.match([...ids][0], /^turn-1:/, 'named after the turn')
  t.same(mock.inputs.map(i => [i.transcript, i.continue, i.flush ?? false]), [
    ['Hello there friend. ', true, false], ['', true, true],
    ['How are you today? ', true, false], ['', true, true],
    ['Bye now.', false, false]
  ], 'continue: true and a flush after each sentence, continue: false on the last; transcripts join with spaces')
  t.same(mock.inputs.map(i => i.voice), mock.inputs.map(() => ({ mode: 'id', id: mock.inputs[0]?.voice.id })), 'the same fields on every input')
  t.match(mock.inputs[0], { model_id: 'sonic-2', language: 'en', add_timestamps: true, output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 24000 } })
  t.equal(mock.handshakes.length, 1, 'one persistent WebSocket')
  t.match(mock.handshakes[0], { authorization: `Bearer ${mock.apiKey}`, version: /^\d{4}-\d{2}-\d{2}$/ }, 'key in the header, with the API version')
  t.notMatch(mock.handshakes[0]?.url, /api_key/, 'the key is not in the URL')

  const next = await collect(tts.speakStream('A new turn.', { contextId: 'turn-2' }))
  t.ok(next.audioBytes > 0)
  t.not(mock.inputs.at(-2)?.context_id, mock.inputs[0]?.context_id, 'the next turn gets a context of its own')
})

t.test('word timestamps are yielded in ms from each sentence\'s own audio start', async t => {
  const { tts } = await setup(t)
  const turn = { contextId: 'words' }
  const first = await collect(tts.speakStream('one two three', turn))
  const second = await collect(tts.speakStream('four five', { ...turn, continuation: false }))
  t.same(first.words.map(w => w.word), ['one', 'two', 'three'])
  t.same(second.words.map(w => w.word), ['four', 'five'])
  // The mock speaks 120 ms of tone then 30 ms of silence per word, counting from the context's start.
  t.same(first.words.map(w => [w.startMs, w.endMs]), [[0, 120], [150, 270], [300, 420]])
  t.same(second.words.map(w => [w.startMs, w.endMs]), [[0, 120], [150, 270]], 'the second sentence counts from its own start')
  t.equal(first.audioBytes, 3 * 150 * 24 * 2, 'the audio matches (24 kHz s16le)')
})

t.test('the timestamps cut the history at the word the user heard, as the pipeline does on barge-in', async t => {
  const { tts } = await setup(t)
  const sentences: SpokenSentence[] = []
  let writtenMs = 0
  for (const [text, continuation] of [['Good morning to you.', true], ['The weather is lovely today.', false]] as const) {
    const { audioBytes, words } = await collect(tts.speakStream(text, { contextId: 'heard', continuation }))
    const durationMs = audioBytes / 2 / 24
    sentences.push({ text, startMs: writtenMs, endMs: writtenMs + durationMs, words })
    writtenMs += durationMs
  }
  // 4 words of 150 ms, then "The weather is" (ends at 120, 270, 420 ms into the second sentence).
  t.equal(heardText(sentences, 600 + 430), 'Good morning to you. The weather is')
  t.equal(heardText(sentences, 600 + 400), 'Good morning to you. The weather')
})

t.test('an utterance left open is ended after the idle time; an empty last text ends it at once', async t => {
  const { mock, tts } = await setup(t, { contextIdleMs: 30 })
  await collect(tts.speakStream('Still thinking.', { contextId: 'idle' }))
  await mock.until(() => mock.inputs.some(i => i.transcript === '' && i.continue === false))
  t.pass('the idle context was ended with an empty transcript and continue: false')
  await collect(tts.speakStream('Again.', { contextId: 'ended' }))
  const context = mock.inputs.at(-1)?.context_id as string
  t.same(await collect(tts.speakStream('', { contextId: 'ended', continuation: false })), { audioBytes: 0, words: [] })
  await mock.until(() => mock.inputs.filter(i => i.context_id === context).length === 3)
  t.match(mock.inputs.filter(i => i.context_id === context), [{ transcript: 'Again. ' }, { flush: true }, { transcript: '', continue: false }])
})

t.test('two sessions speak at once over the one WebSocket', async t => {
  const { mock, tts } = await setup(t)
  const [a, b] = await Promise.all([
    collect(tts.speakStream('Alpha beta gamma.', { contextId: 'a', continuation: false })),
    collect(tts.speakStream('Delta epsilon.', { contextId: 'b', continuation: false }))
  ])
  t.same(a.words.map(w => w.word), ['Alpha', 'beta', 'gamma.'])
  t.same(b.words.map(w => w.word), ['Delta', 'epsilon.'])
  t.equal(mock.handshakes.length, 1)
})

t.test('aborting stops yielding at once and cancels the context at Cartesia', async t => {
  const { mock, tts } = await setup(t)
  const controller = new AbortController()
  let after = 0
  for await (const _item of tts.speakStream('one two three four five six seven eight', { contextId: 'cut', signal: controller.signal })) {
    if (controller.signal.aborted) after++
    controller.abort()
  }
  t.equal(after, 0, 'nothing after the abort')
  await mock.until(() => mock.cancels.length === 1)
  t.match(mock.cancels[0], /^cut:/, 'the mock saw {context_id, cancel: true}')
  const next = await collect(tts.speakStream('Fresh start.', { contextId: 'cut', continuation: false }))
  t.ok(next.audioBytes > 0, 'the same turn id speaks again on a fresh context')
  t.not(mock.inputs.at(-1)?.context_id, mock.cancels[0])
})

t.test('a deadline on a silent Cartesia ends the call quietly and cancels', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'silent' }
  const started = Date.now()
  t.same(await collect(tts.speakStream('Anyone there?', { signal: AbortSignal.timeout(150) })), { audioBytes: 0, words: [] })
  t.ok(Date.now() - started < 1000, 'ended at the deadline')
  await mock.until(() => mock.cancels.length === 1)
})

t.test('an error message becomes a thrown CartesiaError with its status; retryable ones are retried first', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'error', status: 400, message: 'voice not found', errorCode: 'voice_not_found' }
  await t.rejects(collect(tts.speakStream('Hello.')), { name: 'CartesiaError', code: 'CARTESIA_ERROR', status: 400, message: /400 voice_not_found: voice not found/ })
  t.equal(mock.contextIds.length, 1, 'a 400 is not retried')
  mock.behaviour = { type: 'error', status: 429, message: 'too many contexts' }
  await t.rejects(collect(tts.speakStream('Hello.')), { name: 'CartesiaError', status: 429 })
  t.equal(mock.contextIds.length, 1 + 3, 'a 429 is retried twice before giving up')
  mock.behaviour = { type: 'normal' }
  t.ok((await collect(tts.speakStream('Hello.'))).audioBytes > 0, 'the connection still works')
})

t.test('a wrong key fails the handshake with 401 and is not retried', async t => {
  const { mock, tts } = await setup(t, { apiKey: 'wrong' })
  const error = await collect(tts.speakStream('Hello.')).then(() => undefined, (e: unknown) => e)
  t.match(error, { name: 'CartesiaError', code: 'CARTESIA_HANDSHAKE', status: 401, message: /401.*Invalid API key/ })
  t.notMatch((error as Error).message, /wrong/, 'the key is not in the message')
  t.equal(mock.handshakes.length, 1)
  await t.rejects(tts.speak('Hello.'), { status: 401, message: /401/ }, 'REST is refused the same way')
})

t.test('a connection dropped mid-stream throws, and the next call opens a new one', async t => {
  const { mock, tts } = await setup(t)
  mock.behaviour = { type: 'drop', afterChunks: 3 }
  let chunks = 0
  const error = await (async () => {
    for await (const item of tts.speakStream('one two three four five', { contextId: 'drop' })) if (!Buffer.isBuffer(item) && item.type === 'audio') chunks++
  })().then(() => undefined, (e: unknown) => e)
  t.match(error, { name: 'CartesiaError', code: 'ECONNRESET', message: /dropped/ })
  t.equal(chunks, 3, 'the audio before the drop was yielded, and not retried after it')
  mock.behaviour = { type: 'normal' }
  t.ok((await collect(tts.speakStream('Back again.', { contextId: 'drop', continuation: false }))).audioBytes > 0)
  t.equal(mock.handshakes.length, 2, 'reconnected')
})

t.test('a drop before any audio is retried on a new connection', async t => {
  const { mock, tts } = await setup(t)
  await collect(tts.speakStream('Warm up.'))
  mock.dropAll()
  t.ok((await collect(tts.speakStream('After the drop.'))).audioBytes > 0)
  t.equal(mock.handshakes.length, 2)
})

t.test('a handshake that never completes times out', async t => {
  const { mock, tts } = await setup(t, { connectTimeoutMs: 100, retries: 0 })
  mock.behaviour = { type: 'hang-handshake' }
  await t.rejects(collect(tts.speakStream('Hello.')), { name: 'CartesiaError', code: 'ETIMEDOUT' })
})

t.test('speak() synthesizes over REST: WAV by default, PCM or MP3 on request', async t => {
  const { mock, tts } = await setup(t, { sampleRateHz: 16000, voiceId: 'voice-1', model: 'sonic-3', language: 'de' })
  const wav = await tts.speak('Hallo Welt.')
  t.match(wav, { format: 'wav', sampleRate: 16000 })
  t.equal(wav.audio.toString('ascii', 0, 4), 'RIFF')
  const pcm = await tts.speak('Hallo Welt.', { format: 'pcm', speed: 1.2 })
  t.match(pcm, { format: 'pcm', sampleRate: 16000 })
  t.equal(pcm.audio.length, wav.audio.length - 44)
  t.match(await tts.speak('Hallo.', { format: 'mp3' }), { format: 'mp3' })
  t.match(mock.restBodies, [
    { model_id: 'sonic-3', transcript: 'Hallo Welt.', voice: { mode: 'id', id: 'voice-1' }, language: 'de', output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 16000 }, version: /^\d{4}/ },
    { generation_config: { speed: 1.2 } },
    { output_format: { container: 'mp3', sample_rate: 16000 } }
  ])
})

t.test('options are checked when the provider is built', async t => {
  t.throws(() => new CartesiaTTS({ apiKey: '' }), { code: 'LLMRTC_ERR_OPTIONS_MISSING_SECRET', message: /CARTESIA_API_KEY/ })
  t.throws(() => new CartesiaTTS({ apiKey: 'k', sampleRateHz: 12345 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /sampleRateHz.*instead got 12345/ })
  t.throws(() => new CartesiaTTS({ apiKey: 'k', baseURL: 'ftp://x' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new CartesiaTTS({ apiKey: 'k', voiceId: '' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new CartesiaTTS({ apiKey: 'k', retries: -1 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.equal(new CartesiaTTS({ apiKey: 'k', sampleRateHz: 48000 }).pcmSampleRate, 48000)
})

t.test('close() ends open contexts, closes the socket, and is idempotent', async t => {
  const { mock, tts } = await setup(t)
  await collect(tts.speakStream('Left open.', { contextId: 'open' }))
  await tts.close()
  await tts.close()
  await mock.until(() => mock.inputs.at(-1)?.continue === false)
  t.match(mock.inputs.at(-1), { transcript: '', continue: false })
  await t.rejects(collect(tts.speakStream('After close.')), { code: 'CARTESIA_CLOSED' })
})
