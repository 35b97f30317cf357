import t from 'tap'
import { TranscriptBuilder } from '../../lib/recording/transcript-builder.js'

const T0 = 1_700_000_000_000

t.test('turns: the user\'s words from speech onset to end, the answer from its first audio out, with latencies', async t => {
  const b = new TranscriptBuilder({ sessionId: 's1', startedAt: T0 })
  b.speechStarted(T0 + 1000)
  b.speechEnded(T0 + 2000)
  b.turnStarted('t1')
  b.userSaid('t1', 'what time is it', T0 + 2300, [{ word: 'what', startMs: 0, endMs: 200 }])
  b.spoke('t1', 'It is noon.')
  b.spoke('t1', 'Anything else?')
  b.turnEnded({ turnId: 't1', outcome: 'completed', speechEndedAt: T0 + 2000, startedAt: T0 + 2000, endedAt: T0 + 5000, timings: { transcriptMs: 300, firstTokenMs: 500, firstAudioMs: 700, firstAudioOutMs: 720, totalMs: 3000 } }, undefined)
  const transcript = await b.build(T0 + 6000, { format: 'wav', sampleRateHz: 16_000, channels: ['user', 'assistant'], startedAt: T0 + 500, durationMs: 5500, droppedMs: 0 })
  t.match(transcript, { version: 1, sessionId: 's1', startedAt: T0, endedAt: T0 + 6000 })
  t.same(transcript.turns, [
    { speaker: 'user', turnId: 't1', text: 'what time is it', startedAt: T0 + 1000, endedAt: T0 + 2000, words: [{ word: 'what', startMs: 0, endMs: 200 }], startMs: 500, endMs: 1500 },
    { speaker: 'assistant', turnId: 't1', text: 'It is noon. Anything else?', interrupted: false, outcome: 'completed', startedAt: T0 + 2720, endedAt: T0 + 5000, latency: { transcriptMs: 300, firstTokenMs: 500, firstAudioMs: 700, firstAudioOutMs: 720, totalMs: 3000 }, startMs: 2220, endMs: 4500 }
  ])
})

t.test('an utterance counts from its speech\'s duration when its onset was reported late (a barge-in)', async t => {
  const b = new TranscriptBuilder({ sessionId: 's1', startedAt: T0 })
  b.speechStarted(T0 + 1500)
  b.speechEnded(T0 + 2000, 1200)
  b.userSaid('t1', 'stop', T0 + 2100)
  t.match((await b.build(T0 + 3000)).turns, [{ speaker: 'user', startedAt: T0 + 800, endedAt: T0 + 2000 }])
})

t.test('an interrupted answer: interrupted, what was heard, and its end at the barge-in', async t => {
  const b = new TranscriptBuilder({ sessionId: 's1', startedAt: T0 })
  b.turnStarted('t1')
  b.spoke('t1', 'Let me tell you a very long story about llamas.')
  b.bargeIn('t1', T0 + 3000)
  b.turnEnded({ turnId: 't1', outcome: 'cancelled', speechEndedAt: T0, startedAt: T0, endedAt: T0 + 3100, timings: { firstAudioOutMs: 1000, totalMs: 3100 } }, 'Let me tell you')
  const [turn] = (await b.build(T0 + 4000)).turns
  t.match(turn, { speaker: 'assistant', interrupted: true, heard: 'Let me tell you', outcome: 'cancelled', startedAt: T0 + 1000, endedAt: T0 + 3000 })
  t.notOk('startMs' in (turn ?? {}), 'no recording: no offsets')
})

t.test('an empty turn, or one cut before it spoke, adds no answer', async t => {
  const b = new TranscriptBuilder({ sessionId: 's1', startedAt: T0 })
  b.turnStarted('t1')
  b.turnEnded({ turnId: 't1', outcome: 'empty', speechEndedAt: T0, startedAt: T0, endedAt: T0 + 10, timings: {} }, undefined)
  b.turnStarted('t2')
  b.turnEnded({ turnId: 't2', outcome: 'cancelled', speechEndedAt: T0, startedAt: T0, endedAt: T0 + 10, timings: {} }, '')
  t.same((await b.build(T0 + 20)).turns, [])
})

t.test('tool calls keep arguments and results, rewritten by redactToolCall (null leaves one out)', async t => {
  const b = new TranscriptBuilder({
    sessionId: 's1',
    startedAt: T0,
    redactToolCall: (call) => call.name === 'secret' ? null : { ...call, arguments: { card: '****' } }
  })
  b.turnStarted('t1')
  b.toolStarted('t1', 'c1', 'charge', { card: '4111111111111111', amount: 5 })
  b.toolEnded('c1', 'charge', { result: { ok: true } }, { startTime: T0 + 10, endTime: T0 + 30, durationMs: 20 })
  b.toolStarted('t1', 'c2', 'secret', {})
  b.toolEnded('c2', 'secret', { error: 'no' }, { startTime: T0 + 10, endTime: T0 + 30, durationMs: 20 })
  const transcript = await b.build(T0 + 100)
  t.same(transcript.toolCalls, [{ turnId: 't1', callId: 'c1', name: 'charge', arguments: { card: '****' }, result: { ok: true }, startedAt: T0 + 10, endedAt: T0 + 30, durationMs: 20 }])
  t.notMatch(JSON.stringify(transcript), /4111/, 'the card number is nowhere in the transcript')
})

t.test('a redactor that throws leaves the call out and is reported', async t => {
  const errors: unknown[] = []
  const b = new TranscriptBuilder({ sessionId: 's1', startedAt: T0, redactToolCall: () => { throw new Error('oops') }, onRedactError: (err) => { errors.push(err) } })
  b.toolStarted('t1', 'c1', 'charge', { card: '4111111111111111' })
  b.toolEnded('c1', 'charge', { result: 1 }, { startTime: T0, endTime: T0, durationMs: 0 })
  t.same((await b.build(T0)).toolCalls, [])
  t.equal(errors.length, 1)
})

t.test('stage changes are kept with the turn that made them (none between turns)', async t => {
  const b = new TranscriptBuilder({ sessionId: 's1', startedAt: T0 })
  b.turnStarted('t1')
  b.stageChanged({ from: 'greeting', to: 'billing', reason: 'keyword: "bill"', transitionId: 'to-billing' }, T0 + 50)
  b.turnEnded({ turnId: 't1', outcome: 'empty', speechEndedAt: T0, startedAt: T0, endedAt: T0 + 60, timings: {} }, undefined)
  b.stageChanged({ from: 'billing', to: 'done', reason: 'timeout: 30000 ms', transitionId: 'idle' }, T0 + 90)
  t.same((await b.build(T0 + 100, { format: 'ogg', sampleRateHz: 16_000, channels: ['user', 'assistant'], startedAt: T0, durationMs: 100, droppedMs: 0 })).stageChanges, [
    { turnId: 't1', from: 'greeting', to: 'billing', reason: 'keyword: "bill"', transitionId: 'to-billing', at: T0 + 50, atMs: 50 },
    { from: 'billing', to: 'done', reason: 'timeout: 30000 ms', transitionId: 'idle', at: T0 + 90, atMs: 90 }
  ])
})

t.test('the STT\'s words, timed from the utterance\'s audio, are kept from the turn\'s start with their confidence', async t => {
  const b = new TranscriptBuilder({ sessionId: 's1', startedAt: T0 })
  // An onset 300 ms before the utterance whose audio (1000 ms) the STT heard: the turn starts there.
  b.speechStarted(T0 + 700)
  b.speechEnded(T0 + 2000, 1000)
  b.userSaid('t1', 'hi there', T0 + 2100, [{ word: 'hi', startMs: 120, endMs: 300, confidence: 0.9 }, { word: 'there', startMs: 320, endMs: 640 }])
  const [turn] = (await b.build(T0 + 3000, { format: 'wav', sampleRateHz: 16_000, channels: ['user', 'assistant'], startedAt: T0, durationMs: 3000, droppedMs: 0 })).turns
  t.match(turn, { speaker: 'user', startedAt: T0 + 700, startMs: 700 })
  t.same(turn?.speaker === 'user' ? turn.words : undefined, [{ word: 'hi', startMs: 420, endMs: 600, confidence: 0.9 }, { word: 'there', startMs: 620, endMs: 940 }])
})
