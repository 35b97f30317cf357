import t from 'tap'
import { HookRegistry } from '../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../lib/logger.js'
import type { CreateSpeechDetector } from '../../lib/realtime/local-turn-detection.js'
import type { RealtimeProviderSession } from '../../lib/realtime/types.js'
import { SileroVad } from '../../lib/vad/silero-vad.js'
import { SpeechDetector } from '../../lib/vad/speech-detector.js'
import { concat, frames10ms, silence, synthesizeSpeech } from '../helpers/speech.js'
import type { OpenAIRealtimeMock } from '../mocks/openai-realtime-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'
import { mockFor, openOn, relayOn, type RelayHarness } from './relay-harness.js'

const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')
const cert = tls as NonNullable<typeof tls>

const vad = await SileroVad.acquire()
t.teardown(() => vad.close())
const createDetector: CreateSpeechDetector = (options) => new SpeechDetector(vad, options)

const QUESTION = await synthesizeSpeech('Hello there, could you tell me what the weather is like today?', 48_000)
const QUESTION_MS = QUESTION.length / 48
const INTERRUPTION = await synthesizeSpeech('Wait, stop, I meant tomorrow in Paris.', 48_000)

/** Real speech then `silenceMs` of silence, as the transport's 10 ms frames at 48 kHz. */
function say (h: RelayHarness, speech: Int16Array, silenceMs = 1000): void {
  for (const frame of frames10ms(concat(silence(300, 48_000), speech, silence(silenceMs, 48_000)), 48_000)) h.relay.pushAudio(frame)
}

async function openLocal (mock: OpenAIRealtimeMock): Promise<RealtimeProviderSession> {
  const session = await openOn(mock, { turnDetection: { type: 'llmrtc' } })
  t.teardown(() => { session.close() })
  return session
}

t.test('llmrtc turn detection turns the provider\'s off, and commits the utterance and asks for the answer at its end', async t => {
  const mock = await mockFor(t, cert)
  mock.script({ transcript: 'It is sunny today.', audioMs: 600 })
  const hooks = new HookRegistry(silentLogger)
  const fired: string[] = []
  const durations: number[] = []
  hooks.addHook('onSpeechStart', () => { fired.push('speech-start') })
  hooks.addHook('onSpeechEnd', (_s, _at, durationMs) => { fired.push('speech-end'); durations.push(durationMs) })
  hooks.addHook('onSTTEnd', (_ctx, result) => { fired.push(`stt ${result.text}`) })
  hooks.addHook('onLLMEnd', (_ctx, result) => { fired.push(`llm ${result.fullText}`) })
  const h = relayOn(t, await openLocal(mock), { createDetector, hooks })
  const update = await mock.waitFor('session.update') as { session: { audio: { input: { turn_detection: unknown } } } }
  t.equal(update.session.audio.input.turn_detection, null, 'turn_detection: null')
  say(h, QUESTION)
  await mock.waitFor('response.create')
  const order = mock.received.map(e => e.type)
  t.same(order, ['session.update', 'input_audio_buffer.commit', 'response.create'], 'one commit, then the response')
  t.ok(mock.appendedMs >= QUESTION_MS && mock.appendedMs <= QUESTION_MS + 300 + 1000,
    `the utterance reached the provider (${Math.round(mock.appendedMs)} ms for ${Math.round(QUESTION_MS)} ms of speech), not the silence before it`)
  await h.next('usage')
  t.same(h.messages.map(m => m.type).filter(type => type === 'speech-start' || type === 'speech-end' || type === 'transcript' || type === 'tts-start'),
    ['speech-start', 'speech-end', 'transcript', 'tts-start'])
  t.equal(h.output.writtenMs, 600, 'the answer was queued on the output')
  await new Promise(resolve => setImmediate(resolve))
  t.same(fired.filter(f => !f.startsWith('stt') && !f.startsWith('llm')), ['speech-start', 'speech-end'])
  t.ok(fired.some(f => /^stt I heard \d\.\d seconds of speech$/.test(f)), 'onSTTEnd got the user\'s transcript')
  t.ok(fired.includes('llm It is sunny today.'), 'onLLMEnd got the answer\'s transcript')
  t.ok(durations[0]! > QUESTION_MS - 100, `onSpeechEnd carries the utterance's length (${durations[0]} ms)`)
})

t.test('silence and a short noise reach nobody: no commit, no response', async t => {
  const mock = await mockFor(t, cert)
  const h = relayOn(t, await openLocal(mock), { createDetector })
  // 2 s of silence with a 150 ms blip of speech in it (shorter than minSpeechMs: speech-cancelled).
  for (const frame of frames10ms(concat(silence(1000, 48_000), QUESTION.subarray(0, 150 * 48), silence(1000, 48_000)), 48_000)) h.relay.pushAudio(frame)
  await mock.waitFor('session.update')
  // A real utterance afterwards shows the VAD was listening all along.
  mock.script({ transcript: 'Yes?', audioMs: 100 })
  say(h, QUESTION)
  await mock.waitFor('response.create')
  t.equal(mock.received.filter(e => e.type === 'input_audio_buffer.commit').length, 1, 'only the speech was committed')
  t.ok(mock.appendedMs < QUESTION_MS + 1300, `the 2 s of silence were not appended (${Math.round(mock.appendedMs)} ms)`)
  t.equal(h.messages.filter(m => m.type === 'speech-start').length, 1, 'the blip was no speech')
})

t.test('speech while the model speaks: response.cancel, the item truncated at the played position, tts-cancelled', async t => {
  const mock = await mockFor(t, cert, { chunkDelayMs: 20 })
  mock.script({ transcript: 'Here is a very long answer about the weather.', audioMs: 20_000 }, { transcript: 'Tomorrow in Paris, rain.', audioMs: 300 })
  const hooks = new HookRegistry(silentLogger)
  const errors: string[] = []
  hooks.addHook('onError', (err, ctx) => { errors.push(`${ctx.component}: ${err.message}`) })
  const h = relayOn(t, await openLocal(mock), { createDetector, hooks })
  say(h, QUESTION)
  await h.next('tts-start')
  // The model has spoken for a while; 700 ms of it were heard.
  while (h.output.writtenMs < 1000) await new Promise(resolve => setTimeout(resolve, 10))
  h.output.play(700)
  say(h, INTERRUPTION)
  await h.next('tts-cancelled')
  t.equal(h.messages.filter(m => m.type === 'speech-start').length, 2)
  await mock.waitFor('response.cancel')
  const truncate = await mock.waitFor('conversation.item.truncate') as { audio_end_ms: number, content_index: number }
  t.equal(truncate.audio_end_ms, 700, 'the item keeps what was heard')
  t.equal(truncate.content_index, 0)
  t.ok(h.output.clears >= 1, 'the queued audio was dropped')
  await mock.waitFor('response.create', 1)
  const types = mock.received.map(e => e.type)
  t.same(types.filter(type => type !== 'conversation.item.truncate'),
    ['session.update', 'input_audio_buffer.commit', 'response.create', 'response.cancel', 'input_audio_buffer.commit', 'response.create'],
    'cancelled at the onset, and the interruption is the next turn')
  await h.next('tts-start', 1)
  t.same(errors, [], 'the provider reported no error (no response.create while one was active)')
})
