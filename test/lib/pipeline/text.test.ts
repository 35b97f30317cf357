import t from 'tap'
import { heardText } from '../../../lib/pipeline/heard-text.js'
import { SentenceChunker } from '../../../lib/pipeline/sentence-chunker.js'
import { AsyncQueue } from '../../../lib/streams/async-queue.js'

function chunk (pieces: string[], minChars = 12): string[] {
  const chunker = new SentenceChunker({ minChars })
  const out: string[] = []
  for (const piece of pieces) out.push(...chunker.push(piece))
  out.push(...chunker.flush())
  return out
}

t.test('streamed text is cut into sentences as soon as each is complete', async t => {
  const chunker = new SentenceChunker()
  t.same(chunker.push('Hello there, how are'), [])
  t.same(chunker.push(' you today? I am fine'), ['Hello there, how are you today?'])
  t.same(chunker.push('. And you!'), [])
  t.same(chunker.flush(), ['I am fine. And you!'])
})

t.test('decimals, abbreviations and initials do not end a sentence', async t => {
  t.same(chunk(['It costs 3.5 dollars at Dr. Smith\'s shop, e.g. the one on J. K. Street. ', 'Next one.']), [
    'It costs 3.5 dollars at Dr. Smith\'s shop, e.g. the one on J. K. Street.',
    'Next one.'
  ])
})

t.test('short fragments join the next sentence; quotes and newlines are handled', async t => {
  t.same(chunk(['Hi! ', 'Nice to meet you. ', 'OK.']), ['Hi! Nice to meet you.', 'OK.'])
  t.same(chunk(['He said "stop!" ', 'and left the room quickly.']), ['He said "stop!"', 'and left the room quickly.'])
  t.same(chunk(['- item one\n- item two\n'], 1), ['- item one', '- item two'])
  t.same(chunk(['Wait… what happened there? Tell me.'], 5), ['Wait…', 'what happened there?', 'Tell me.'])
  t.same(chunk(['   ']), [])
})

t.test('what was heard is cut at whole sentences and then at words', async t => {
  const sentences = [
    { text: 'First sentence.', startMs: 0, endMs: 1000, words: [] },
    { text: 'Second one is longer.', startMs: 1000, endMs: 3000, words: [] }
  ]
  t.equal(heardText(sentences, 0), '')
  t.equal(heardText(sentences, 999), 'First')
  t.equal(heardText(sentences, 1000), 'First sentence.')
  t.equal(heardText(sentences, 2000), 'First sentence. Second one')
  t.equal(heardText(sentences, 5000), 'First sentence. Second one is longer.')
})

t.test('word timestamps, when given, decide the cut exactly', async t => {
  const sentences = [{
    text: 'Alpha beta gamma.',
    startMs: 500,
    endMs: 2000,
    words: [{ word: 'Alpha', startMs: 0, endMs: 300 }, { word: 'beta', startMs: 350, endMs: 600 }, { word: 'gamma.', startMs: 650, endMs: 1400 }]
  }]
  t.equal(heardText(sentences, 500 + 650), 'Alpha beta')
  t.equal(heardText(sentences, 500 + 200), '')
})

t.test('the async queue streams items, applies backpressure, closes and aborts', async t => {
  const queue = new AsyncQueue<number>(2)
  await queue.push(1)
  await queue.push(2)
  let third = false
  const pushing = queue.push(3).then(() => { third = true })
  await new Promise(setImmediate)
  t.notOk(third, 'a full queue makes push wait')
  t.notOk(queue.offer(9), 'offer refuses when full')
  const read: number[] = []
  const reading = (async () => { for await (const n of queue) read.push(n) })()
  await pushing
  t.ok(third)
  queue.close()
  await reading
  t.same(read, [1, 2, 3])
  t.notOk(queue.offer(4), 'closed queues refuse items')

  const controller = new AbortController()
  const aborted = new AsyncQueue<number>(Infinity, controller.signal)
  aborted.offer(1)
  const seen: number[] = []
  const consumer = (async () => { for await (const n of aborted) { seen.push(n); controller.abort() } })()
  aborted.offer(2)
  await consumer
  t.same(seen, [1], 'abort ends iteration and drops queued items')
  t.ok(new AsyncQueue(1, AbortSignal.abort()).closed)
})
