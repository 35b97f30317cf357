import t from 'tap'
import { MessageRateLimiter, admitMessage, setMessageLimiter } from '../../lib/limits/message-rate-limiter.js'

t.test('a burst passes, then the rate; dropped messages are reported once per second', async t => {
  let now = 0
  let reports = 0
  const limiter = new MessageRateLimiter({ perSecond: 10, burst: 3, now: () => now, onLimited: () => { reports++ } })
  t.same([1, 2, 3, 4, 5].map(() => limiter.admit()), [true, true, true, false, false])
  t.equal(reports, 1)
  now += 100
  t.equal(limiter.admit(), true, 'one token per 100 ms at 10/s')
  t.equal(limiter.admit(), false)
  t.equal(reports, 1, 'still within the second')
  now += 900
  t.same([1, 2, 3, 4].map(() => limiter.admit()), [true, true, true, false], 'the bucket refills up to the burst only')
  t.equal(reports, 2)
})

t.test('a connection without a limiter admits everything', async t => {
  const connection = {}
  t.equal(admitMessage(connection), true)
  setMessageLimiter(connection, new MessageRateLimiter({ perSecond: 1, burst: 1, now: () => 0, onLimited: () => {} }))
  t.equal(admitMessage(connection), true)
  t.equal(admitMessage(connection), false)
})
