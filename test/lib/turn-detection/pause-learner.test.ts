import fc from 'fast-check'
import t from 'tap'
import { PauseLearner } from '../../../lib/turn-detection/pause-learner.js'

const MIN = 250
const MAX = 1600
/** The curve's wait for an undecided probability (0.5) with the default bounds. */
const UNDECIDED = 588

function learned (pauses: number[]): PauseLearner {
  const learner = new PauseLearner()
  for (const ms of pauses) learner.observePause(ms)
  return learner
}

t.test('a new learner is neutral until it has seen three pauses', async t => {
  const learner = new PauseLearner()
  for (const ms of [900, 900]) {
    t.equal(learner.adjust(UNDECIDED, MIN, MAX), UNDECIDED)
    learner.observePause(ms)
  }
  t.equal(learner.adjust(UNDECIDED, MIN, MAX), UNDECIDED, 'two pauses are not enough')
  t.equal(learner.estimateMs, undefined)
  learner.observePause(900)
  t.ok(learner.adjust(UNDECIDED, MIN, MAX) > UNDECIDED, 'the third pause counts')
})

t.test('gaps shorter than 150 ms are not pauses', async t => {
  const learner = learned([40, 100, 149, 80, 120])
  t.equal(learner.pauses, 0)
  t.equal(learner.adjust(UNDECIDED, MIN, MAX), UNDECIDED)
})

t.test('a slow speaker who pauses 700 ms mid-sentence gets a wait longer than those pauses', async t => {
  const learner = learned([650, 720, 700, 760, 680, 710, 690, 740])
  const wait = learner.adjust(UNDECIDED, MIN, MAX)
  t.ok(wait > 800, `waits ${wait} ms, longer than the pauses`)
  const certain = learner.adjust(MIN, MIN, MAX)
  t.ok(certain > MIN && certain < 400, `a certain end waits a little longer: ${certain} ms`)
})

t.test('a brisk speaker gets a shorter wait, never under the minimum', async t => {
  const learner = learned([220, 260, 240, 250, 230, 270])
  const wait = learner.adjust(UNDECIDED, MIN, MAX)
  t.ok(wait < UNDECIDED && wait >= MIN, `waits ${wait} ms`)
  t.equal(learner.adjust(MIN, MIN, MAX), MIN, 'a certain end still waits the minimum')
  t.ok(learner.adjust(MAX, MIN, MAX) < MAX, 'even after a clearly unfinished turn')
})

t.test('one very long silence moves the estimate by half at most', async t => {
  const learner = learned([400, 420, 380, 410, 390, 400])
  const before = learner.estimateMs as number
  learner.observePause(30_000)
  const after = learner.estimateMs as number
  t.ok(after > before && after <= before * 1.5, `${before} → ${after}`)
  t.ok(learner.adjust(UNDECIDED, MIN, MAX) < 1000, 'the wait stays moderate')
})

t.test('a turn with no pause relaxes a long learned estimate toward the reference', async t => {
  const learner = learned([900, 950, 900, 920])
  const before = learner.estimateMs as number
  for (let i = 0; i < 10; i++) learner.observeTurnEnd(600)
  const after = learner.estimateMs as number
  t.ok(after < before && after > 500, `${before} → ${after}`)
})

t.test('a turn end with a pause keeps what was learned in that turn', async t => {
  const a = learned([900, 950, 900, 920])
  const b = learned([900, 950, 900, 920])
  b.observeTurnEnd(800)
  t.equal(b.estimateMs, a.estimateMs)
})

t.test('whatever it observes, the wait stays within [min, max] and keeps the order of the waits', async t => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.double({ min: -100, max: 100_000, noNaN: false }), fc.constant(Infinity)), { maxLength: 60 }),
    fc.array(fc.boolean(), { maxLength: 60 }),
    fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 5000 }),
    fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
    (pauses, turnEnds, min, span, a, b) => {
      const learner = new PauseLearner()
      pauses.forEach((ms, i) => {
        learner.observePause(ms)
        if (turnEnds[i] === true) learner.observeTurnEnd(ms)
      })
      const max = min + span
      const low = Math.min(a, b)
      const high = Math.max(a, b)
      const waitLow = learner.adjust(min + low * span, min, max)
      const waitHigh = learner.adjust(min + high * span, min, max)
      return waitLow >= min && waitHigh <= max && waitLow <= waitHigh
    }
  ))
  t.pass('bounded and monotone')
})
