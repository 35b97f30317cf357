import t from 'tap'
import { RelayAnswers, type RelayAnswer } from '../../lib/realtime/relay-answers.js'
import { TranscriptBuilder } from '../../lib/recording/transcript-builder.js'
import { recordRelayAnswer } from '../../lib/recording/relay-answer.js'
import { FakeClock } from '../helpers/fake-clock.js'

function follow (): { clock: FakeClock, answers: RelayAnswers, reported: RelayAnswer[], t0: number } {
  const clock = new FakeClock()
  const reported: RelayAnswer[] = []
  return { clock, answers: new RelayAnswers(clock, (answer) => { reported.push(answer) }), reported, t0: clock.now() }
}

t.test('an answer played out is reported with its final transcript, from its first audio to its end', async t => {
  const { clock, answers, reported, t0 } = follow()
  answers.speechEnded()
  clock.advance(300)
  // The transcript may come before the audio.
  answers.transcript('r1', 'Hello', false)
  answers.started('r1')
  answers.transcript('r1', ' there.', false)
  answers.transcript('r1', 'Hello there, friend.', true)
  clock.advance(1500)
  answers.played('r1')
  t.same(reported, [{ responseId: 'r1', text: 'Hello there, friend.', interrupted: false, speechEndedAt: t0, startedAt: t0 + 300, endedAt: t0 + 1800 }])
  answers.played('r1')
  t.equal(reported.length, 1, 'reported once')
  answers.started('r2')
  answers.played('r2')
  t.equal(reported[1]?.speechEndedAt, undefined, 'the next answer (to typed text) answers no utterance')
})

t.test('a cut answer: the deltas so far, and the heard part in proportion to the audio that played', async t => {
  const { clock, answers, reported, t0 } = follow()
  answers.started('r1')
  answers.transcript('r1', 'one two three', false)
  answers.transcript('r1', ' four', false)
  clock.advance(1000)
  answers.cut(1000, 1000)
  t.same(reported, [{ responseId: 'r1', text: 'one two three four', interrupted: true, heard: 'one two', startedAt: t0, endedAt: t0 + 1000 }], 'no speechEndedAt: no utterance came before it')
  answers.cut(0, 0)
  t.equal(reported.length, 1, 'a cut with no answer playing reports nothing')
})

t.test('a response that never played (a tool call, or cut before its audio) is not an answer', async t => {
  const { answers, reported } = follow()
  answers.transcript('r1', 'Never heard.', true)
  answers.cut(0, 0)
  answers.transcript('r2', 'Nor this.', true)
  answers.played('r2')
  t.same(reported, [])
})

t.test('a relay answer joins the transcript as an assistant turn, a cut one with its heard part', async t => {
  const builder = new TranscriptBuilder({ sessionId: 's1', startedAt: 1000 })
  recordRelayAnswer(builder, { responseId: 'r1', text: 'one two three four', interrupted: true, heard: 'one two', speechEndedAt: 1100, startedAt: 1400, endedAt: 2400 })
  recordRelayAnswer(builder, { responseId: 'r2', text: 'Bye.', interrupted: false, startedAt: 3000, endedAt: 3500 })
  const transcript = await builder.build(4000)
  t.match(transcript.turns, [
    { speaker: 'assistant', turnId: 'r1', text: 'one two three four', interrupted: true, heard: 'one two', outcome: 'cancelled', startedAt: 1400, endedAt: 2400, latency: { firstAudioOutMs: 300, totalMs: 1300 } },
    { speaker: 'assistant', turnId: 'r2', text: 'Bye.', interrupted: false, outcome: 'completed', startedAt: 3000, endedAt: 3500 }
  ])
  t.same((transcript.turns[1] as { latency: unknown }).latency, {}, 'an answer to no utterance has no latencies')
})
