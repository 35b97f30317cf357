import t from 'tap'
import { StreamedMedia } from '../../../lib/transport/streamed-media.js'
import { FakeClock } from '../../helpers/fake-clock.js'

function media (clock: FakeClock): { media: StreamedMedia, packets: Array<{ at: number, count: number }>, marks: string[] } {
  const packets: Array<{ at: number, count: number }> = []
  const marks: string[] = []
  const streamed = new StreamedMedia({
    sampleRateHz: 8000,
    packetMs: 20,
    markPrefix: 'm',
    clock,
    wire: { sendAudio: (_samples, count) => { packets.push({ at: clock.now(), count }) }, sendMark: (name) => { marks.push(name) }, sendClear: () => {} }
  })
  return { media: streamed, packets, marks }
}

t.test('streamed media runs no timer while nothing plays, and an answer after a long silence leaves at once', async t => {
  const clock = new FakeClock(0)
  const { media: streamed, packets, marks } = media(clock)
  streamed.start()
  clock.advance(10)
  t.equal(clock.pending, 0, 'idle: no timer')
  clock.advance(60_000)
  streamed.write(new Int16Array(4800).fill(3000), 48_000, 'answer') // 100 ms
  await Promise.resolve()
  t.same(packets, [{ at: 60_010, count: 160 }], 'the first 20 ms packet as soon as the answer is written')
  clock.advance(200)
  t.equal(packets.reduce((n, p) => n + p.count, 0), 800, 'all 100 ms sent, at 8 kHz')
  t.same(marks, ['m1'], 'then its mark')
  t.equal(clock.pending, 0, 'and no timer again')
  streamed.close()
})
