import t from 'tap'
import { BackchannelMatcher, countWords, normalizeWords } from '../../../lib/turn-taking/backchannels.js'
import { resolveInterruptionOptions, resolvePreemptiveOptions, resolveUserIdleOptions } from '../../../lib/turn-taking/options.js'

t.test('a transcript made only of backchannel phrases is a backchannel, whatever its punctuation and case', async t => {
  const en = new BackchannelMatcher('en-US')
  for (const text of ['mm-hmm', 'Mm hmm.', 'uh-huh', 'Yeah.', 'yeah yeah', 'Okay, I see.', 'oh I see', 'Right, got it!', 'mhm']) t.ok(en.isBackchannel(text), text)
  for (const text of ['yeah but wait', 'stop', 'I see a problem', 'okay what about Friday', '']) t.notOk(en.isBackchannel(text), JSON.stringify(text))
})

t.test('backchannels come per language, an unknown language falls back to English, and your own phrases add to them', async t => {
  t.ok(new BackchannelMatcher('fr').isBackchannel("d'accord, je vois"))
  t.ok(new BackchannelMatcher('de-AT').isBackchannel('ja genau'))
  t.notOk(new BackchannelMatcher('de').isBackchannel('I see'), 'English phrases are not German ones')
  t.ok(new BackchannelMatcher('xx').isBackchannel('uh-huh'))
  const own = new BackchannelMatcher('en', ['right on', 'you bet you do'])
  t.ok(own.isBackchannel('Right on!'))
  t.ok(own.isBackchannel('yeah, you bet you do'), 'a phrase longer than the built-in ones')
})

t.test('words are counted as the STT wrote them, without punctuation', async t => {
  t.same(normalizeWords('Wait — stop, PLEASE!'), ['wait', 'stop', 'please'])
  t.equal(countWords(' no  no '), 2)
  t.equal(countWords('...'), 0)
})

t.test('turn-taking options are validated with the name of the bad one', async t => {
  t.throws(() => resolveInterruptionOptions({ mode: 'sometimes' as 'off' }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /interruption\.mode/ })
  t.throws(() => resolveInterruptionOptions({ minWords: -1 }), { message: /interruption\.minWords/ })
  t.throws(() => resolveInterruptionOptions({ resumeAfterMs: 10 }), { message: /interruption\.resumeAfterMs/ })
  t.throws(() => resolveInterruptionOptions({ backchannels: ['ok', 3 as unknown as string] }), { message: /interruption\.backchannels/ })
  for (const onsetThreshold of [0, 1, Number.NaN, '0.3' as unknown as number]) {
    t.throws(() => resolveInterruptionOptions({ onsetThreshold }), { message: /"interruption\.onsetThreshold": expected a number between 0 and 1 \(exclusive\)/ })
  }
  t.throws(() => resolveInterruptionOptions({ loudnessOnset: 'yes' as unknown as boolean }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"interruption\.loudnessOnset": expected a boolean/ })
  t.same(resolveInterruptionOptions({ minWords: 2 }, undefined), { mode: 'pause', minSpeechMs: 250, minWords: 2, resumeAfterMs: 2000, onsetThreshold: 0.35, loudnessOnset: true, backchannels: [] })
  t.equal(resolvePreemptiveOptions(false), false)
  t.throws(() => resolvePreemptiveOptions({ afterMs: 1.5 }), { message: /preemptive\.afterMs/ })
  t.equal(resolveUserIdleOptions(undefined), false)
  t.throws(() => resolveUserIdleOptions({ afterMs: 10 }), { message: /userIdle\.afterMs/ })
  t.throws(() => resolveUserIdleOptions({ afterMs: 5000, prompts: [] }), { message: /userIdle\.prompts/ })
  t.same(resolveUserIdleOptions({ afterMs: 5000 }), { afterMs: 5000, prompts: ['Are you still there?'], maxPrompts: 2, goodbye: "It seems you've stepped away. Goodbye!" })
})
