import t from 'tap'
import { CallMedia } from '../../lib/telephony/call-media.js'
import { decodeG711, encodeG711, g711SampleCodec } from '../../lib/telephony/g711.js'
import { createTwilioAdapter } from '../../lib/telephony/twilio-adapter.js'
import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import { FakeClock } from '../helpers/fake-clock.js'

interface Sent { event: string, streamSid: string, media?: { payload: string }, mark?: { name: string } }

function callMedia (): { media: CallMedia, sent: Sent[], clock: FakeClock } {
  const sent: Sent[] = []
  const clock = new FakeClock()
  const media = new CallMedia({
    adapter: createTwilioAdapter({ authToken: 'x' }),
    streamId: 'MZ1',
    law: 'mulaw',
    sampleRateHz: 8000,
    send: (message) => { sent.push(JSON.parse(message) as Sent) },
    clock
  })
  media.start()
  return { media, sent, clock }
}

function tone (ms: number, rate: number): Int16Array {
  const out = new Int16Array(ms * rate / 1000)
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rate))
  return out
}

t.test('inbound: G.711 payloads become 10 ms 8 kHz frames, whatever the payload size', async t => {
  const { media } = callMedia()
  const frames: Array<{ samples: Int16Array, rate: number, count: number }> = []
  media.onAudio((frame: AudioFrame) => { frames.push({ samples: frame.samples.slice(), rate: frame.sampleRateHz, count: frame.samplesPerChannel }) })
  const pcm = tone(50, 8000)
  const bytes = encodeG711('mulaw', pcm)
  media.receiveAudio(bytes.subarray(0, 130))
  media.receiveAudio(bytes.subarray(130, 400))
  t.equal(frames.length, 5, '400 samples: five 10 ms frames')
  t.ok(frames.every(f => f.rate === 8000 && f.count === 80 && f.samples.length === 80), '80 samples at 8 kHz each')
  const expected = decodeG711('mulaw', bytes.subarray(0, 400))
  t.same(Array.from(frames.flatMap(f => Array.from(f.samples))), Array.from(expected), 'in order, nothing lost or repeated')
  media.close()
})

t.test('outbound: paced 20 ms μ-law media, a carrier mark after the marked chunk, played only when echoed', async t => {
  const { media, sent, clock } = callMedia()
  const played: string[] = []
  media.onPlayed((mark) => { played.push(mark) })
  clock.advance(100)
  t.equal(sent.length, 0, 'no audio queued: nothing is sent (the carrier plays silence itself)')
  media.write(tone(200, 16_000), 16_000, 'sentence-1')
  clock.advance(100)
  const early = sent.filter(m => m.event === 'media').length
  t.ok(early >= 4 && early <= 6, `paced in real time: about 5 messages after 100 ms (${early})`)
  clock.advance(200)
  const medias = sent.filter(m => m.event === 'media')
  const bytes = medias.reduce((n, m) => n + Buffer.from(m.media?.payload ?? '', 'base64').length, 0)
  t.ok(bytes >= 1550 && bytes <= 1600, `200 ms at 8 kHz sent (${bytes} bytes)`)
  const heard = decodeG711('mulaw', Buffer.concat(medias.map(m => Buffer.from(m.media?.payload ?? '', 'base64'))))
  let peak = 0
  for (let i = 400; i < 1400; i++) peak = Math.max(peak, Math.abs(heard[i] as number))
  t.ok(peak > 6000 && peak < 10_000, `the tone comes through resampling and μ-law (peak ${peak})`)
  t.ok(medias.slice(0, -1).every(m => Buffer.from(m.media?.payload ?? '', 'base64').length === 160), '20 ms messages')
  const marks = sent.filter(m => m.event === 'mark')
  t.equal(marks.length, 1, 'one carrier mark')
  t.equal(sent.at(-1)?.event, 'mark', 'after the chunk\'s audio')
  t.same(played, [], 'not played until the carrier echoes it')
  t.ok(media.playing, 'still playing while the mark is out')
  let drained = false
  void media.drain().then(() => { drained = true })
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(drained, 'drain has not resolved before the echo')
  media.receiveMark('someone-elses-mark')
  t.same(played, [], 'an unknown mark is ignored')
  media.receiveMark(marks[0]?.mark?.name ?? '')
  t.same(played, ['sentence-1'], 'reported when echoed')
  await new Promise(resolve => setImmediate(resolve))
  t.ok(drained, 'drain waits for the echo')
  t.notOk(media.playing)
  media.close()
})

t.test('clear: drops the queue, sends the carrier clear, and marks still out are never reported', async t => {
  const { media, sent, clock } = callMedia()
  const played: string[] = []
  media.onPlayed((mark) => { played.push(mark) })
  media.write(tone(40, 8000), 8000, 'a')
  media.write(tone(1000, 8000), 8000, 'b')
  clock.advance(100)
  const markA = sent.find(m => m.event === 'mark')?.mark?.name
  t.ok(markA !== undefined, 'the first chunk\'s mark was sent')
  const droppedMs = media.clear()
  t.ok(droppedMs > 800, `the rest of the queue was dropped (${droppedMs} ms)`)
  t.same(sent.at(-1), { event: 'clear', streamSid: 'MZ1' })
  // Twilio echoes the marks a clear dropped: they were not heard.
  media.receiveMark(markA ?? '')
  t.same(played, [], 'a mark echoed after clear is not reported')
  const before = sent.length
  clock.advance(200)
  t.equal(sent.length, before, 'nothing more is sent')
  media.close()
})

t.test('the per-sample G.711 codec matches the array codec, both laws', async t => {
  for (const law of ['mulaw', 'alaw'] as const) {
    const codec = g711SampleCodec(law)
    const bytes = new Uint8Array(256).map((_, i) => i)
    t.same(Array.from(bytes, codec.decode), Array.from(decodeG711(law, bytes)), `${law}: decode`)
    const pcm = new Int16Array(2048).map((_, i) => (i - 1024) * 32)
    t.same(Array.from(pcm, codec.encode), Array.from(encodeG711(law, pcm)), `${law}: encode`)
  }
})

t.test('outbound: the first 20 ms message of an answer leaves at the first slot after the write, not one slot later', async t => {
  const { media, sent, clock } = callMedia()
  clock.advance(103)
  media.write(tone(200, 24_000), 24_000)
  t.equal(sent.length, 0, 'nothing before the slot')
  clock.advance(7) // the slot at 110 ms
  const first = sent.filter(m => m.event === 'media')
  t.equal(first.length, 1, 'a media message at the first slot')
  t.equal(Buffer.from(first[0]?.media?.payload ?? '', 'base64').length, 160, 'a whole 20 ms message (carriers such as Telnyx take no less)')
  clock.advance(200)
  const medias = sent.filter(m => m.event === 'media')
  t.equal(medias.length, 10, '200 ms of answer: ten messages')
  media.close()
})
