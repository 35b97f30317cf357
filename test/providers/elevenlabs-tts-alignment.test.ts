import t from 'tap'
import { WordAligner, parseAlignment, spokenLength } from '../../lib/providers/elevenlabs/alignment.js'

t.test('characters become words with their times, a word held across chunks until its space', async t => {
  const aligner = new WordAligner()
  // "Hi there " over two chunks: "Hi th" (chunk at 0 ms), "ere " (chunk at 100 ms).
  t.same(aligner.add({ chars: ['H', 'i', ' ', 't', 'h'], charStartTimesMs: [0, 20, 40, 60, 80], charDurationsMs: [20, 20, 20, 20, 20] }, 0), [{ word: 'Hi', startMs: 0, endMs: 40 }])
  t.equal(aligner.spokenChars, 4)
  t.same(aligner.add({ chars: ['e', 'r', 'e', ' '], charStartTimesMs: [0, 20, 40, 60], charDurationsMs: [20, 20, 20, 30] }, 100), [{ word: 'there', startMs: 60, endMs: 160 }])
  t.equal(aligner.spokenChars, spokenLength('Hi there '))
  t.equal(aligner.lastCharEndMs, 160, 'the end of the last letter, not of the space')
  t.same(aligner.flush(), [], 'nothing held')
})

t.test('a word with no space after it is given at the end of the sentence', async t => {
  const aligner = new WordAligner()
  t.same(aligner.add({ chars: ['o', 'k', '.'], charStartTimesMs: [5, 15, 25], charDurationsMs: [10, 10, 10] }, 40), [])
  t.same(aligner.flush(), [{ word: 'ok.', startMs: 45, endMs: 75 }])
})

t.test('alignments are read in ElevenLabs\' spelling (charsDurationsMs) and the other one; anything else is ignored', async t => {
  t.same(parseAlignment({ chars: ['a'], charStartTimesMs: [1], charsDurationsMs: [2] }), { chars: ['a'], charStartTimesMs: [1], charDurationsMs: [2] })
  t.same(parseAlignment({ chars: ['a'], charsStartTimesMs: [1], charDurationsMs: [2] }), { chars: ['a'], charStartTimesMs: [1], charDurationsMs: [2] })
  t.equal(parseAlignment(null), undefined)
  t.equal(parseAlignment({ chars: 'a' }), undefined)
})
