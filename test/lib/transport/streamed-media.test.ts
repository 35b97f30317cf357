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

t.test('onFrame taps the audio sent to the far end at its rate, and no silence', async t => {
  const clock = new FakeClock(0)
  const { media: streamed, packets } = media(clock)
  const tapped: Array<{ count: number, rateHz: number, first: number }> = []
  const off = streamed.onFrame((pcm, rateHz) => { tapped.push({ count: pcm.length, rateHz, first: pcm[40] as number }) })
  streamed.start()
  clock.advance(500)
  t.same(tapped, [], 'nothing sent while idle, nothing tapped')
  streamed.write(new Int16Array(4800).fill(3000), 48_000, 'answer') // 100 ms
  clock.advance(500)
  t.equal(tapped.reduce((n, f) => n + f.count, 0), packets.reduce((n, p) => n + p.count, 0), 'as many samples tapped as sent')
  t.ok(tapped.every(f => f.rateHz === 8000 && f.count === 80), '10 ms frames at 8 kHz')
  t.ok(tapped.slice(1).every(f => Math.abs(f.first - 3000) < 50), 'carrying the answer')
  off()
  streamed.write(new Int16Array(480).fill(3000), 48_000)
  clock.advance(100)
  t.equal(tapped.length, 10, 'unsubscribed: no more taps')
  streamed.close()
})
