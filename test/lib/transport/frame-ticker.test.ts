import t from 'tap'
import { FrameTicker } from '../../../lib/transport/frame-ticker.js'
import { FakeClock } from '../../helpers/fake-clock.js'

t.test('one timer calls every subscriber on the same absolute 10 ms slots, stops when the last one leaves and keeps its slots', async t => {
  const clock = new FakeClock(0)
  const ticker = new FrameTicker(clock, 10)
  const calls: Array<[string, number]> = []
  const a = (now: number): void => { calls.push(['a', now]) }
  const b = (now: number): void => { calls.push(['b', now]) }
  ticker.add(a)
  clock.advance(5)
  ticker.add(b)
  ticker.add(b)
  t.equal(clock.pending, 1, 'one timer for both')
  t.equal(ticker.size, 2, 'adding twice subscribes once')
  t.equal(ticker.slotStart(clock.now()), 0, 'slots start at the first subscription')
  clock.advance(25)
  t.same(calls, [['a', 10], ['b', 10], ['a', 20], ['b', 20], ['a', 30], ['b', 30]])
  ticker.remove(a)
  ticker.remove(b)
  t.equal(clock.pending, 0, 'no subscriber, no timer')
  clock.advance(100)
  t.equal(calls.length, 6)
  clock.advance(3)
  ticker.add(a)
  t.equal(ticker.slotStart(clock.now()), 130, 'the same slots after everyone left')
  clock.advance(10)
  t.same(calls.at(-1), ['a', 140])
  ticker.remove(a)
})

t.test('late timers never add up into drift: the next slot is always phase + k × 10 ms', async t => {
  const clock = new FakeClock(0)
  const setTimeoutOnTime = clock.setTimeout
  clock.setTimeout = (fn, ms) => setTimeoutOnTime(fn, ms + 7) // every timer fires 7 ms late
  const ticker = new FrameTicker(clock, 10)
  const at: number[] = []
  ticker.add(now => { at.push(now) })
  clock.advance(1000)
  t.ok(at.length >= 99, `about one call per slot (${at.length})`)
  t.ok(at.every((now, i) => now === (i + 1) * 10 + 7), 'each call 7 ms after its own slot, not 7 ms later each time')
})

t.test('a subscriber removed during a tick (itself or one not called yet) is skipped; one added waits for the next slot', async t => {
  const clock = new FakeClock(0)
  const ticker = new FrameTicker(clock, 10)
  const calls: string[] = []
  const c = (): void => { calls.push('c') }
  const d = (): void => { calls.push('d') }
  const a = (): void => { calls.push('a'); ticker.remove(a); ticker.remove(c); ticker.add(d) }
  const b = (): void => { calls.push('b') }
  ticker.add(a)
  ticker.add(b)
  ticker.add(c)
  clock.advance(10)
  t.same(calls, ['a', 'b'], 'c was removed before its turn, d added during the tick')
  clock.advance(10)
  t.same(calls, ['a', 'b', 'b', 'd'])
  t.equal(ticker.size, 2)
})

t.test('a throwing subscriber is removed and its error reported; the others and the timer go on, nothing is thrown', async t => {
  const clock = new FakeClock(0)
  const ticker = new FrameTicker(clock, 10)
  const calls: number[] = []
  const reported: unknown[] = []
  ticker.add(() => { throw new Error('sink failed') }, (err) => { reported.push(err) })
  ticker.add(now => { calls.push(now) })
  clock.advance(10)
  t.match(reported, [/sink failed/], 'reported to its onError')
  t.same(calls, [10], 'the other subscriber had its tick')
  t.equal(ticker.size, 1, 'the throwing one is gone')
  clock.advance(10)
  t.same(calls, [10, 20], 'and the timer goes on')
  t.equal(reported.length, 1)
})

t.test('a throwing subscriber without onError becomes a process warning', async t => {
  const clock = new FakeClock(0)
  const ticker = new FrameTicker(clock, 10)
  const warnings: unknown[] = []
  const emitWarning = process.emitWarning
  process.emitWarning = ((warning: unknown) => { warnings.push(warning) }) as typeof process.emitWarning
  t.teardown(() => { process.emitWarning = emitWarning })
  ticker.add(() => { throw new Error('no handler') })
  clock.advance(10)
  t.match(warnings, [/no handler/])
  t.equal(ticker.size, 0)
})

t.test('each clock has its own shared ticker', async t => {
  const one = new FakeClock(0)
  const two = new FakeClock(0)
  t.equal(FrameTicker.of(one), FrameTicker.of(one))
  t.not(FrameTicker.of(one), FrameTicker.of(two))
})
